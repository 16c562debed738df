// Team sign-in against the real server: users made by the CLI, scrypt hashes, HttpOnly
// SameSite cookies, the CSRF header on writes, roles, throttled guessing, sign-out, and
// who did what. "Remote" requests come through the test server's trusted X-Forwarded-For.
import { spawnSync } from "node:child_process";
import { randomBytes, scryptSync } from "node:crypto";
import path from "node:path";
import { afterAll, describe, expect, inject, it } from "vitest";
import type { Role } from "@/generated/prisma/client";
import { hashToken } from "@/server/auth/tokens";
import { createUser, setUserDisabled } from "@/server/auth/users";
import { createDb } from "@/server/db/client";
import { CSRF_HEADER } from "@/shared/auth";
import { callProcedure } from "../helpers/trpc-http";

const baseUrl = inject("baseUrl");
const databaseUrl = inject("databaseUrl");
const db = createDb(databaseUrl);
afterAll(() => db.$disconnect());
const unique = (name: string) => `${name}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
const remote = () => ({ "x-forwarded-for": `198.51.100.${1 + Math.floor(Math.random() * 250)}` });
const PASSWORD = "correct horse battery";

async function signIn(name: string, password: string, headers: Record<string, string> = remote()) {
  const response = await fetch(new URL("/api/auth/signin", baseUrl), {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify({ name, password }),
  });
  const cookies = response.headers.getSetCookie();
  const value = (cookie: string) =>
    cookies
      .find((c) => c.startsWith(`${cookie}=`))
      ?.split(";")[0]
      ?.split("=")[1];
  return {
    response,
    cookies,
    session: value("labbook_session"),
    csrf: value("labbook_csrf"),
    device: value("labbook_device"),
  };
}

async function userWith(role: Role) {
  const name = unique(role);
  await createUser(db, { name, role, password: PASSWORD });
  const signedIn = await signIn(name, PASSWORD);
  expect(signedIn.response.status).toBe(200);
  const cookie = `labbook_session=${signedIn.session}; labbook_csrf=${signedIn.csrf}`;
  return { name, cookie, csrf: signedIn.csrf as string, headers: { ...remote(), cookie } };
}

const createExperiment = (headers: Record<string, string>) =>
  callProcedure(
    baseUrl,
    "experiment.create",
    { name: unique("signed"), runs: [{ config: { epochs: 1 } }] },
    { headers },
  );

describe("sign-in", () => {
  it("sets an HttpOnly SameSite session cookie and a CSRF cookie; only hashes are stored", async () => {
    const name = unique("alice");
    await createUser(db, { name, role: "editor", password: PASSWORD });
    const stored = await db.user.findUniqueOrThrow({ where: { name } });
    expect(stored.passwordHash).toMatch(/^scrypt\$131072\$8\$1\$[\w-]{22}\$[\w-]{43}$/);
    expect(stored.passwordHash).not.toContain(PASSWORD);

    const wrong = await signIn(name, "not the password");
    expect(wrong.response.status).toBe(401);
    expect(wrong.cookies).toEqual([]);
    const unknown = await signIn(unique("nobody"), PASSWORD);
    expect([unknown.response.status, (await unknown.response.json()).error.message]).toEqual([
      401,
      "wrong user name or password",
    ]);

    const ok = await signIn(name.toUpperCase(), PASSWORD);
    expect(ok.response.status).toBe(200);
    expect(await ok.response.json()).toEqual({ user: { name, role: "editor" } });
    const session = ok.cookies.find((c) => c.startsWith("labbook_session="));
    expect(session).toMatch(/; Path=\/; Expires=.*; HttpOnly; SameSite=Lax$/);
    expect(ok.cookies.find((c) => c.startsWith("labbook_csrf="))).not.toMatch(/HttpOnly/);
    const row = await db.session.findUniqueOrThrow({ where: { tokenHash: hashToken(ok.session as string) } });
    expect(row.userId).toBe(stored.id);
    expect(await db.session.count({ where: { tokenHash: ok.session as string } })).toBe(0);

    const me = await callProcedure(
      baseUrl,
      "auth.me",
      {},
      {
        kind: "query",
        headers: { ...remote(), cookie: `labbook_session=${ok.session}` },
      },
    );
    expect(me.body.result?.data).toMatchObject({ kind: "session", actor: `user:${name}`, scope: "write" });
  });

  it("refuses bad bodies with a 4xx and stores no session", async () => {
    const before = await db.session.count();
    for (const [type, body, status] of [
      ["text/plain", "{}", 415],
      ["application/json", "{", 400],
      ["application/json", JSON.stringify({ name: "x", password: "p".repeat(300) }), 400],
      ["application/json", JSON.stringify({ name: ["a"], password: 1 }), 400],
      ["application/json", JSON.stringify({ name: "a", password: "x".repeat(5000) }), 413],
    ] as const) {
      const response = await fetch(new URL("/api/auth/signin", baseUrl), {
        method: "POST",
        headers: { "content-type": type, ...remote() },
        body,
      });
      expect(response.status, `${type} ${body.slice(0, 40)}`).toBe(status);
    }
    expect(await db.session.count()).toBe(before);
  });
});

describe("guessing is slowed, and nobody can lock the real user out", () => {
  const from = (address: string, extra: Record<string, string> = {}) => ({
    "x-forwarded-for": address,
    ...extra,
  });
  /** Where an attacker who kept guessing would have the bucket: waiting for minutes. */
  const keepWaiting = (name: string, address: string) =>
    db.$executeRaw`UPDATE "SignInThrottle" SET "nextAttemptAt" = now() + interval '10 minutes'
      WHERE name = ${name} AND address = ${address}`.then((n) => expect(n).toBe(1));
  /** `count` wrong passwords, `parallel` at a time; the statuses they got. */
  async function guess(name: string, count: number, parallel: number, headers: () => Record<string, string>) {
    const statuses: number[] = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: parallel }, async () => {
        while (next < count) {
          const i = next++;
          statuses.push((await signIn(name, `wrong guess ${i}`, headers())).response.status);
        }
      }),
    );
    return {
      checked: statuses.filter((s) => s === 401).length,
      refused: statuses.filter((s) => s === 429).length,
    };
  }

  it("300 parallel guesses from one address get at most 10 checked; the user still signs in (found by attack)", async () => {
    const name = unique("alice");
    await createUser(db, { name, role: "admin", password: PASSWORD });
    expect((await signIn(name, PASSWORD, from("198.51.100.10"))).response.status).toBe(200);

    const attack = await guess(name, 300, 100, () => from("203.0.113.66"));
    expect(attack.checked).toBeGreaterThanOrEqual(5);
    expect(attack.checked).toBeLessThanOrEqual(10);
    expect(attack.refused).toBe(300 - attack.checked);
    // The attacker waits, and longer after each further failure.
    const waits: number[] = [];
    for (let i = 0; i < 2; i++) {
      await db.$executeRaw`UPDATE "SignInThrottle" SET "nextAttemptAt" = now() WHERE name = ${name} AND address = '203.0.113.66'`;
      expect((await signIn(name, "one more", from("203.0.113.66"))).response.status).toBe(401);
      const blocked = await signIn(name, PASSWORD, from("203.0.113.66"));
      expect(blocked.response.status).toBe(429);
      waits.push(Number(blocked.response.headers.get("retry-after")));
    }
    expect(waits[1]).toBeGreaterThan(waits[0] as number);

    // Alice, from where she signed in before and from a new address: at once.
    expect((await signIn(name, PASSWORD, from("198.51.100.10"))).response.status).toBe(200);
    expect((await signIn(name, PASSWORD, from("198.51.100.11"))).response.status).toBe(200);
  }, 120_000);

  it("an attacker on the user's own address cannot keep out a browser that signed in before", async () => {
    const name = unique("shared");
    await createUser(db, { name, role: "editor", password: PASSWORD });
    const first = await signIn(name, PASSWORD, from("198.51.100.20"));
    expect(first.device).toMatch(/^[\w-]{32}$/);
    expect(first.cookies.find((c) => c.startsWith("labbook_device="))).toMatch(
      /Path=\/api\/auth\/signin; HttpOnly; SameSite=Strict/,
    );

    // Behind a proxy that names no client, everyone shares one address.
    const attack = await guess(name, 60, 30, () => from("198.51.100.20"));
    expect(attack.checked).toBeLessThanOrEqual(10);
    // An attacker who keeps at it keeps that address waiting.
    await keepWaiting(name, "198.51.100.20");
    expect((await signIn(name, PASSWORD, from("198.51.100.20"))).response.status).toBe(429);
    const withDevice = await signIn(
      name,
      PASSWORD,
      from("198.51.100.20", { cookie: `labbook_device=${first.device}` }),
    );
    expect(withDevice.response.status).toBe(200);
    expect(withDevice.device).toBe(first.device);
    // A made-up device cookie is no key of its own.
    const forged = await signIn(
      name,
      PASSWORD,
      from("198.51.100.20", { cookie: `labbook_device=${"x".repeat(32)}` }),
    );
    expect(forged.response.status).toBe(429);
  }, 120_000);

  it("guesses spread over many addresses stop at the name's budget, except for known addresses", async () => {
    const name = unique("spread");
    await createUser(db, { name, role: "viewer", password: PASSWORD });
    expect((await signIn(name, PASSWORD, from("198.51.100.30"))).response.status).toBe(200);
    let n = 0;
    const attack = await guess(name, 40, 10, () => from(`203.0.113.${100 + n++}`));
    expect(attack.checked).toBeGreaterThanOrEqual(20);
    expect(attack.checked).toBeLessThanOrEqual(24);
    await keepWaiting(name, "*");
    expect((await signIn(name, PASSWORD, from("192.0.2.200"))).response.status).toBe(429);
    expect((await signIn(name, PASSWORD, from("198.51.100.30"))).response.status).toBe(200);
  }, 120_000);

  it("remembers a program's address, but gives it no device token: it keeps no cookie", async () => {
    const name = unique("program");
    await createUser(db, { name, role: "editor", password: PASSWORD });
    const basic = `Basic ${Buffer.from(`${name}:${PASSWORD}`).toString("base64")}`;
    const response = await fetch(new URL("/api/2.0/mlflow/experiments/search?max_results=1", baseUrl), {
      headers: { authorization: basic, ...from("198.51.100.40") },
    });
    expect(response.status).toBe(200);
    const user = await db.user.findUniqueOrThrow({ where: { name }, include: { knownSignIns: true } });
    expect(user.knownSignIns.map((k) => k.client)).toEqual(["198.51.100.40"]);
  });

  it("npm run user -- unlock NAME clears the waits", async () => {
    const name = unique("locked");
    await createUser(db, { name, role: "viewer", password: PASSWORD });
    await guess(name, 20, 10, () => from("203.0.113.90"));
    await keepWaiting(name, "203.0.113.90");
    expect((await signIn(name, PASSWORD, from("203.0.113.90"))).response.status).toBe(429);
    const unlocked = spawnSync(path.resolve("node_modules/.bin/tsx"), ["scripts/user.ts", "unlock", name], {
      encoding: "utf8",
      env: { ...process.env, DATABASE_URL: databaseUrl },
      timeout: 60_000,
    });
    expect(unlocked.stdout).toMatch(new RegExp(`Cleared ${name}'s sign-in waits`));
    expect((await signIn(name, PASSWORD, from("203.0.113.90"))).response.status).toBe(200);
  }, 120_000);

  it("stores new hashes at N = 2^17 and upgrades an older, cheaper hash at the next sign-in", async () => {
    const name = unique("legacy");
    const salt = randomBytes(16);
    const key = scryptSync(PASSWORD, salt, 32, { N: 2 ** 14, r: 8, p: 1 });
    await db.user.create({
      data: {
        name,
        role: "viewer",
        passwordHash: `scrypt$16384$8$1$${salt.toString("base64url")}$${key.toString("base64url")}`,
      },
    });
    expect((await signIn(name, PASSWORD)).response.status).toBe(200);
    const upgraded = await db.user.findUniqueOrThrow({ where: { name } });
    expect(upgraded.passwordHash).toMatch(/^scrypt\$131072\$8\$1\$/);
    expect((await signIn(name, PASSWORD)).response.status).toBe(200);
  }, 60_000);
});

describe("roles, CSRF and who did what", () => {
  it("a viewer reads but cannot write", async () => {
    const viewer = await userWith("viewer");
    expect(
      (await callProcedure(baseUrl, "experiment.list", {}, { kind: "query", headers: viewer.headers }))
        .status,
    ).toBe(200);
    const refused = await createExperiment({ ...viewer.headers, [CSRF_HEADER]: viewer.csrf });
    expect(refused.status).toBe(403);
    expect(refused.body.error?.message).toBe(`${viewer.name} is a viewer; this needs editor`);
  });

  it("an editor writes only with the session's CSRF header", async () => {
    const editor = await userWith("editor");
    const count = await db.experiment.count();
    for (const csrf of [undefined, "forged-token-of-the-same-length-xxxxxxx", `${editor.csrf}x`]) {
      const refused = await createExperiment({ ...editor.headers, ...(csrf ? { [CSRF_HEADER]: csrf } : {}) });
      expect(refused.status).toBe(403);
      expect(refused.body.error?.message).toMatch(/x-labbook-csrf header is missing or stale/);
    }
    expect(await db.experiment.count()).toBe(count);
    const ok = await createExperiment({ ...editor.headers, [CSRF_HEADER]: editor.csrf });
    expect(ok.status).toBe(200);
    // A browser session may not act as a worker (local workers have no token either).
    const worker = await callProcedure(
      baseUrl,
      "worker.register",
      { name: unique("w") },
      {
        headers: { ...editor.headers, [CSRF_HEADER]: editor.csrf },
      },
    );
    expect(worker.status).toBe(403);
  });

  it("purging needs an admin, even from this machine; deletions and purges record who did them", async () => {
    const created = await callProcedure<{ id: number; runIds: number[] }>(baseUrl, "experiment.create", {
      name: unique("bin"),
      runs: [{ config: { epochs: 1 } }],
    });
    const { id: experimentId, runIds } = created.body.result?.data ?? { id: 0, runIds: [] };
    const editor = await userWith("editor");
    const write = (
      user: { headers: Record<string, string>; csrf: string },
      procedure: string,
      input: unknown,
    ) => callProcedure(baseUrl, procedure, input, { headers: { ...user.headers, [CSRF_HEADER]: user.csrf } });
    expect((await write(editor, "run.delete", { ids: runIds })).status).toBe(200);
    const deleted = await db.run.findUniqueOrThrow({ where: { id: runIds[0] } });
    expect(deleted.deletedBy).toBe(`user:${editor.name}`);

    const local = await callProcedure(baseUrl, "run.purge", { experimentId });
    expect(local.status).toBe(401);
    expect(local.body.error?.message).toMatch(/needs admin rights even on this machine/);
    expect((await write(editor, "run.purge", { experimentId })).status).toBe(403);
    expect(await db.run.count({ where: { experimentId } })).toBe(1);

    const admin = await userWith("admin");
    expect((await write(admin, "run.purge", { experimentId })).body.result?.data).toMatchObject({ runs: 1 });
    const events = await db.auditEvent.findMany({
      where: { actor: { in: [`user:${editor.name}`, `user:${admin.name}`] } },
      orderBy: { id: "asc" },
    });
    expect(events.map((e) => [e.actor, e.action])).toEqual([
      [`user:${editor.name}`, "run.delete"],
      [`user:${admin.name}`, "run.purge"],
    ]);
    // The audit trail is append-only, like the promotion log.
    await expect(db.auditEvent.deleteMany({ where: { id: events[0]?.id } })).rejects.toThrow(/append-only/);
  });

  it("sign-out ends the session; disabling a user ends theirs", async () => {
    const editor = await userWith("editor");
    const out = await fetch(new URL("/api/auth/signout", baseUrl), {
      method: "POST",
      headers: { ...editor.headers, "content-type": "application/json" },
    });
    expect(out.headers.getSetCookie().find((c) => c.startsWith("labbook_session="))).toMatch(
      /^labbook_session=; .*Expires=Thu, 01 Jan 1970/,
    );
    const after = await createExperiment({ ...editor.headers, [CSRF_HEADER]: editor.csrf });
    expect(after.status).toBe(401);

    const other = await userWith("editor");
    await setUserDisabled(db, other.name, true);
    expect((await createExperiment({ ...other.headers, [CSRF_HEADER]: other.csrf })).status).toBe(401);
    expect((await signIn(other.name, PASSWORD)).response.status).toBe(401);
  });
});

describe("npm run user", () => {
  const run = (args: string[], input: string) =>
    spawnSync(path.resolve("node_modules/.bin/tsx"), ["scripts/user.ts", ...args], {
      input,
      encoding: "utf8",
      env: { ...process.env, DATABASE_URL: databaseUrl },
      timeout: 60_000,
    });

  it("creates a user with a password read from stdin, changes the role, and refuses short passwords", async () => {
    const name = unique("cli");
    const short = run(["create", name, "--role", "editor"], "short\n");
    expect(short.status).toBe(2);
    expect(short.stderr).toMatch(/password must be at least 10 characters/);
    expect(await db.user.count({ where: { name } })).toBe(0);

    const created = run(["create", name, "--role", "editor"], `${PASSWORD}\n`);
    expect(created.stdout + created.stderr).toContain(`Created user ${name} (editor)`);
    expect((await signIn(name, PASSWORD)).response.status).toBe(200);
    expect(run(["role", name, "admin"], "").stdout).toContain(`${name} is now admin`);
    expect((await db.user.findUniqueOrThrow({ where: { name } })).role).toBe("admin");
    expect(run(["role", unique("ghost"), "admin"], "").stderr).toMatch(/no user named/);
  }, 180_000);
});
