// `npm run user -- create NAME [--role viewer|editor|admin]`, `passwd NAME`, `role NAME ROLE`,
// `disable NAME`, `enable NAME`, `unlock NAME`, `list`. Passwords are typed at a prompt (not echoed), or read
// from the first line of stdin when it is not a terminal (for scripts).
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import type { Role } from "../src/generated/prisma/client";
import { unlockName } from "../src/server/auth/sign-in-throttle";
import { createUser, setUserDisabled, updateUser } from "../src/server/auth/users";
import { createDb } from "../src/server/db/client";
import { openDatabase } from "../src/server/db/open";
import { passwordSchema, ROLES, userNameSchema } from "../src/shared/auth";

const usage = `usage: npm run user -- create NAME [--role ${ROLES.join("|")}] | passwd NAME | role NAME ROLE | disable NAME | enable NAME | unlock NAME | list`;
const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: { role: { type: "string", default: "viewer" } },
});
const [command, rawName, rawRole] = positionals;

class UsageError extends Error {}
function die(message: string): never {
  throw new UsageError(message);
}
const asRole = (role: string | undefined): Role =>
  (ROLES as readonly string[]).includes(role ?? "")
    ? (role as Role)
    : die(`role must be one of ${ROLES.join(", ")}\n${usage}`);

/** The password from a hidden prompt (asked twice), or from stdin's first line. */
async function readPassword(): Promise<string> {
  const ask = (question: string) =>
    new Promise<string>((resolve) => {
      const rl = createInterface({
        input: process.stdin,
        output: process.stdout,
        terminal: process.stdin.isTTY,
      });
      if (process.stdin.isTTY) {
        process.stdout.write(question);
        // Hide what is typed: readline echoes through _writeToOutput.
        (rl as unknown as { _writeToOutput: (s: string) => void })._writeToOutput = () => {};
      }
      rl.once("line", (line) => {
        rl.close();
        if (process.stdin.isTTY) process.stdout.write("\n");
        resolve(line);
      });
    });
  const password = await ask("Password: ");
  if (process.stdin.isTTY && (await ask("Again: ")) !== password) die("the passwords differ");
  const checked = passwordSchema.safeParse(password);
  return checked.success ? checked.data : die(`password ${checked.error.issues[0]?.message}`);
}

if (!command || (command !== "list" && !rawName)) {
  console.error(usage);
  process.exit(2);
}
const parsedName = userNameSchema.safeParse(command === "list" ? "list" : rawName);
if (!parsedName.success) {
  console.error(`user name ${parsedName.error.issues[0]?.message}`);
  process.exit(2);
}
const name = parsedName.data;

const database = await openDatabase();
const db = createDb(database.url);
try {
  if (command === "create") {
    const role = asRole(values.role);
    if (await db.user.findUnique({ where: { name } })) die(`user ${name} already exists`);
    const user = await createUser(db, { name, role, password: await readPassword() });
    console.log(`Created user ${user.name} (${user.role}). They sign in at /signin.`);
  } else if (command === "passwd") {
    await updateUser(db, name, { password: await readPassword() });
    console.log(`Changed ${name}'s password and signed out their sessions.`);
  } else if (command === "role") {
    const user = await updateUser(db, name, { role: asRole(rawRole) });
    console.log(`${user.name} is now ${user.role}.`);
  } else if (command === "disable" || command === "enable") {
    await setUserDisabled(db, name, command === "disable");
    console.log(command === "disable" ? `Disabled ${name} and ended their sessions.` : `Enabled ${name}.`);
  } else if (command === "unlock") {
    // Any name, existing or not: guesses at a name that does not exist yet are waits too.
    const cleared = await unlockName(db, name);
    console.log(cleared ? `Cleared ${name}'s sign-in waits (${cleared}).` : `${name} had no sign-in waits.`);
  } else if (command === "list") {
    const users = await db.user.findMany({
      orderBy: { name: "asc" },
      include: { _count: { select: { sessions: true } } },
    });
    for (const u of users)
      console.log(`${u.name}\t${u.role}\t${u.disabledAt ? "disabled" : `${u._count.sessions} session(s)`}`);
    if (!users.length) console.log("No users yet: npm run user -- create NAME --role admin");
  } else die(usage);
} catch (error) {
  if (error instanceof UsageError || (error as { code?: string }).code === "P2025") {
    console.error(error instanceof UsageError ? error.message : `no user named ${name}`);
    process.exitCode = 2;
  } else throw error;
} finally {
  await db.$disconnect();
  await database.close();
}
