import { TRPCError } from "@trpc/server";
import { createTRPCRouter, publicProcedure } from "@/server/api/trpc";
import { AuthError, identify } from "@/server/auth/authorize";
import { requireLogin } from "@/server/config";

/** Who the dashboard is talking as, so it can hide what this visitor may not do. */
export const authRouter = createTRPCRouter({
  me: publicProcedure.query(async ({ ctx }) => {
    try {
      const identity = await identify(ctx.db, ctx.credentials);
      return {
        kind: identity.kind,
        actor: identity.actor,
        scope: identity.scope,
        user: identity.user && { name: identity.user.name, role: identity.user.role },
        requireLogin: requireLogin(),
      };
    } catch (error) {
      if (error instanceof AuthError) throw new TRPCError({ code: "UNAUTHORIZED", message: error.message });
      throw error;
    }
  }),
});
