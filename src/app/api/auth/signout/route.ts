// POST: ends this browser's session and clears its cookies.
import { isHttps, signOut } from "@/server/auth/sign-in";
import { getDb } from "@/server/db/client";

export const dynamic = "force-dynamic";

export async function POST(req: Request) {
  const headers = new Headers({ "cache-control": "no-store" });
  for (const cookie of await signOut(getDb(), req.headers, isHttps(req)))
    headers.append("set-cookie", cookie);
  return Response.json({ signedOut: true }, { headers });
}
