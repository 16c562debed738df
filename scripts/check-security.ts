// `npx tsx scripts/check-security.ts --url http://127.0.0.1:3000 --user NAME --password PW
// [--forwarder http://127.0.0.1:8080] [--model NAME]`: the attacks of issue #25 against a running Labbook, as
// an attacker on this machine would make them. It prints what each got; the user must exist.
import { execFile } from "node:child_process";
import { parseArgs, promisify } from "node:util";
import { zipSync } from "fflate";

const { values } = parseArgs({
  options: {
    url: { type: "string", default: "http://127.0.0.1:3000" },
    user: { type: "string" },
    password: { type: "string" },
    forwarder: { type: "string" },
    model: { type: "string" },
  },
});
const base = values.url as string;
const run = promisify(execFile);
const json = { "content-type": "application/json" };

async function signIn(name: string, password: string) {
  const response = await fetch(new URL("/api/auth/signin", base), {
    method: "POST",
    headers: json,
    body: JSON.stringify({ name, password }),
  });
  return `${response.status}${response.headers.get("retry-after") ? ` (retry after ${response.headers.get("retry-after")} s)` : ""}`;
}

/**
 * auth.me's latency, sampled every 100 ms by curl while `during` runs: from another process,
 * so this script's own work (it sends the bodies) does not count against the server.
 */
async function latencyDuring(during: Promise<unknown>) {
  const samples: number[] = [];
  let done = false;
  void during.finally(() => {
    done = true;
  });
  while (!done) {
    const { stdout } = await run("curl", [
      "-s",
      "-o",
      "/dev/null",
      "-w",
      "%{time_total}",
      new URL("/api/trpc/auth.me", base).href,
    ]);
    samples.push(Number(stdout) * 1000);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  samples.sort((a, b) => a - b);
  const at = (q: number) => samples[Math.min(samples.length - 1, Math.floor(q * samples.length))]?.toFixed(1);
  return `auth.me answered ${samples.length} times meanwhile: p50 ${at(0.5)} ms, max ${at(1)} ms`;
}

// 1. 300 wrong passwords, 100 in parallel; then the real password.
if (values.user && values.password) {
  const statuses: string[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: 100 }, async () => {
      while (next < 300) statuses.push(await signIn(values.user as string, `wrong ${next++}`));
    }),
  );
  const count = (s: number) => statuses.filter((x) => x.startsWith(String(s))).length;
  console.log(`300 parallel guesses: ${count(401)} checked (401), ${count(429)} refused (429)`);
  const right = await signIn(values.user, values.password);
  console.log(`the real password right after, from the same address: ${right}`);
  const wait = Number(/retry after (\d+)/.exec(right)?.[1] ?? 0);
  if (wait) {
    await new Promise((resolve) => setTimeout(resolve, wait * 1000));
    console.log(`and after that wait: ${await signIn(values.user, values.password)}`);
  }
}

// 2. A forwarder in front (socat TCP-LISTEN:8080,fork TCP:127.0.0.1:3000): a write without a token.
if (values.forwarder) {
  const response = await fetch(new URL("/api/trpc/experiment.create", values.forwarder), {
    method: "POST",
    headers: json,
    body: JSON.stringify({ name: `through-forwarder-${Date.now()}`, runs: [] }),
  });
  console.log(`experiment.create through the forwarder, no token: ${response.status}`);
}

// 3. Eight parallel 256 MiB PUTs to a run that does not exist, while auth.me is timed.
const puts = Promise.all(
  Array.from({ length: 8 }, () =>
    fetch(new URL("/api/runs/2147483647/artifacts/checkpoint", base), {
      method: "PUT",
      headers: { "x-artifact-kind": "checkpoint", "x-content-sha256": "0".repeat(64) },
      body: new Uint8Array(256 * 1024 * 1024),
    }).then((r) => r.status),
  ),
);
console.log(`${await latencyDuring(puts)}; the PUTs got ${(await puts).join(", ")}`);

// 4. A labels.csv of 14 million rows, for a registered model.
const rows = Buffer.from(`file,label\n${"a.png,cat\n".repeat(14_000_000)}`);
const zip = zipSync({ "labels.csv": rows, "a.png": new Uint8Array(10) }, { level: 9 });
console.log(`labels.csv: ${(rows.length / 1e6).toFixed(0)} MB in a ${(zip.length / 1e6).toFixed(1)} MB zip`);
const upload = fetch(new URL(`/api/evaluation-sets?name=huge&model=${values.model ?? "none"}`, base), {
  method: "POST",
  headers: { "content-type": "application/zip" },
  body: zip,
}).then(async (r) => `${r.status} ${(await r.text()).slice(0, 160)}`);
console.log(`${await latencyDuring(upload)}; the upload got ${await upload}`);
