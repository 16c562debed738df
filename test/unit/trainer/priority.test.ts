import { spawnSync } from "node:child_process";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { DEFAULT_TRAINING_NICE, trainingNice } from "@/trainer/priority";

describe("the training thread's priority", () => {
  it("a thread that trains lowers its own priority, and the process's main thread keeps its own", () => {
    const fixture = path.resolve(import.meta.dirname, "../../fixtures/thread-priority.ts");
    const main = os.getPriority(0);
    const run = spawnSync(process.execPath, ["--import", "tsx", fixture], {
      encoding: "utf8",
      env: { ...process.env, NICE: String(Math.min(19, main + 7)) },
    });
    expect(run.status, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual({ thread: Math.min(19, main + 7), main });
  });

  it("takes LABBOOK_TRAINING_NICE from 0 to 19, 10 by default, and refuses anything else", () => {
    expect(trainingNice({})).toBe(DEFAULT_TRAINING_NICE);
    expect(DEFAULT_TRAINING_NICE).toBe(10);
    expect(trainingNice({ LABBOOK_TRAINING_NICE: "0" })).toBe(0);
    expect(trainingNice({ LABBOOK_TRAINING_NICE: "19" })).toBe(19);
    for (const bad of ["-1", "20", "1.5", "high"])
      expect(() => trainingNice({ LABBOOK_TRAINING_NICE: bad })).toThrow(/LABBOOK_TRAINING_NICE/);
  });
});
