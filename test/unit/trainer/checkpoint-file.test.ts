// A packed checkpoint comes from the server, where any write token may have uploaded it: its
// binary's name must not lead outside the checkpoint folder.
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { checkpointBinaryPath, packCheckpoint, unpackCheckpoint } from "@/trainer/checkpoint-file";

const root = mkdtempSync(path.join(tmpdir(), "labbook-checkpoint-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function packed(binary: unknown, bytes = Buffer.from([1, 2, 3, 4])): Buffer {
  const meta = Buffer.from(JSON.stringify({ version: 2, epoch: 1, binary }));
  const length = Buffer.alloc(4);
  length.writeUInt32LE(meta.length);
  return Buffer.concat([length, meta, bytes]);
}

describe("packed checkpoints from the server", () => {
  it("round-trips a checkpoint in the trainer's own naming", async () => {
    const dir = path.join(root, "ok");
    await unpackCheckpoint(packed("checkpoint-12.bin"), dir);
    expect(readdirSync(dir).sort()).toEqual(["checkpoint-12.bin", "checkpoint.json"]);
    expect(await packCheckpoint(dir)).toEqual(packed("checkpoint-12.bin"));
  });

  it.each([
    ["../../../../../bin/labbook"],
    ["../escape.bin"],
    ["/etc/passwd"],
    ["checkpoint-1.bin/../../x"],
    ["sub/checkpoint-1.bin"],
    ["checkpoint-.bin"],
    [42],
    [null],
  ])("refuses the binary name %j and writes nothing", async (binary) => {
    const dir = path.join(root, `bad-${Math.random().toString(36).slice(2)}`);
    await expect(unpackCheckpoint(packed(binary), dir)).rejects.toThrow(/expected checkpoint-<epoch>\.bin/);
    expect(existsSync(dir)).toBe(false);
    expect(existsSync(path.join(root, "escape.bin"))).toBe(false);
  });

  it("refuses truncated and malformed packs", async () => {
    await expect(unpackCheckpoint(Buffer.from([1, 0]), path.join(root, "t1"))).rejects.toThrow(/truncated/);
    const length = Buffer.alloc(4);
    length.writeUInt32LE(1000);
    await expect(
      unpackCheckpoint(Buffer.concat([length, Buffer.from("{}")]), path.join(root, "t2")),
    ).rejects.toThrow(/truncated/);
    const bad = Buffer.from("not json");
    const badLength = Buffer.alloc(4);
    badLength.writeUInt32LE(bad.length);
    await expect(unpackCheckpoint(Buffer.concat([badLength, bad]), path.join(root, "t3"))).rejects.toThrow(
      /not JSON/,
    );
  });

  it("resolves a local checkpoint's binary inside its folder only", () => {
    expect(checkpointBinaryPath("/x/ckpt", "checkpoint-3.bin")).toBe("/x/ckpt/checkpoint-3.bin");
    expect(() => checkpointBinaryPath("/x/ckpt", "../checkpoint-3.bin")).toThrow();
  });
});
