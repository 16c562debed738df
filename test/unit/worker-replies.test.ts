// A worker checks the server's replies against the protocol's shared schemas before it uses
// them: a hostile server (or anyone on a plain-http path) must not steer its file paths.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { setReportSchema } from "@/shared/evaluation-report";
import { claimedRunSchema, heartbeatReplySchema } from "@/shared/workers";
import { ApiError, LabbookClient } from "@/trainer/worker/client";

let reply: unknown;
let server: Server;
let client: LabbookClient;

beforeAll(async () => {
  server = createServer((_req, res) => {
    res
      .writeHead(200, { "content-type": "application/json" })
      .end(JSON.stringify({ result: { data: reply } }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  client = new LabbookClient(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

describe("the worker protocol's replies (found by reading the code)", () => {
  it("refuses a claimed run whose id or attempt could leave the state folder", async () => {
    for (const bad of [
      { id: "../../../tmp/owned", attempt: 1, config: {} },
      { id: 1, attempt: "1/../../x", config: {} },
      { id: -1, attempt: 1, config: {} },
      { id: 2 ** 31, attempt: 1, config: {} },
      { id: 1.5, attempt: 1, config: {} },
      "not a run",
    ]) {
      reply = bad;
      const error = await client.mutation("worker.claim", { workerId: 1 }, claimedRunSchema).catch((e) => e);
      expect(error, JSON.stringify(bad)).toBeInstanceOf(ApiError);
      expect((error as ApiError).message).toMatch(/the server's answer to worker.claim is malformed/);
    }
  });

  it("passes well-formed replies through, an empty queue included", async () => {
    reply = { id: 7, attempt: 2, config: { epochs: 1 } };
    expect(await client.mutation("worker.claim", { workerId: 1 }, claimedRunSchema)).toEqual(reply);
    reply = null;
    expect(await client.mutation("worker.claim", { workerId: 1 }, claimedRunSchema)).toBeNull();
    reply = { cancelRequested: "yes" };
    await expect(client.mutation("worker.heartbeat", {}, heartbeatReplySchema)).rejects.toThrow(/malformed/);
  });

  it("checks what labbook evaluate reads, too", async () => {
    reply = { setName: "photos", model: "m", version: "1; rm -rf /", accuracy: 0.5 };
    await expect(
      client.query("evaluationSet.result", { setId: 1, versionId: 1 }, setReportSchema),
    ).rejects.toThrow(/the server's answer to evaluationSet.result is malformed/);
  });
});
