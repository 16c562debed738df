// Dashboard users: created and changed from the CLI (scripts/user.ts), checked at sign-in.
import type { Role } from "@/generated/prisma/client";
import type { Db } from "@/server/db/client";
import { decoyHash, hashPassword, needsRehash, verifyPassword } from "./passwords";

export async function createUser(db: Db, input: { name: string; password: string; role: Role }) {
  return db.user.create({
    data: { name: input.name, role: input.role, passwordHash: await hashPassword(input.password) },
    select: { id: true, name: true, role: true },
  });
}

/** Changes a user's password or role; a new password also ends the user's sessions. */
export async function updateUser(db: Db, name: string, change: { password?: string; role?: Role }) {
  const passwordHash = change.password ? await hashPassword(change.password) : undefined;
  return db.$transaction(async (tx) => {
    const user = await tx.user.update({ where: { name }, data: { role: change.role, passwordHash } });
    if (passwordHash) await tx.session.deleteMany({ where: { userId: user.id } });
    return user;
  });
}

/** Disabling ends every session at once; the user's name stays in the audit trail. */
export async function setUserDisabled(db: Db, name: string, disabled: boolean) {
  return db.$transaction(async (tx) => {
    const user = await tx.user.update({
      where: { name },
      data: { disabledAt: disabled ? new Date() : null },
    });
    if (disabled) await tx.session.deleteMany({ where: { userId: user.id } });
    return user;
  });
}

/** The user these credentials belong to, or null; as slow for an unknown name as for a wrong password. */
export async function checkPassword(db: Db, name: string, password: string) {
  const user = await db.user.findUnique({ where: { name } });
  const ok = await verifyPassword(password, user?.passwordHash ?? (await decoyHash()));
  if (!ok || !user || user.disabledAt) return null;
  if (needsRehash(user.passwordHash))
    // Only if the hash is still the one checked: a password changed meanwhile stays changed.
    await db.user.updateMany({
      where: { id: user.id, passwordHash: user.passwordHash },
      data: { passwordHash: await hashPassword(password) },
    });
  return user;
}
