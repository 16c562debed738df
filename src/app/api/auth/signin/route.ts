// POST {"name","password"} (JSON only: the request guard refuses other types): sets the
// session cookies, or says why not.
import { isHttps, signIn } from "@/server/auth/sign-in";
import { getDb } from "@/server/db/client";
import { remoteAddressOf, UNKNOWN_CLIENT } from "@/server/http/remote-address";
import { BodyTooLargeError, fail, readBodyCapped } from "@/server/http/route-helpers";

export const dynamic = "force-dynamic";

export async function POST(req: Request) {
  let body: unknown;
  try {
    body = JSON.parse((await readBodyCapped(req, 4096)).toString("utf8"));
  } catch (error) {
    if (error instanceof BodyTooLargeError) return fail(413, "a sign-in is at most 4 KiB");
    return fail(400, "the body is not valid JSON");
  }
  const result = await signIn(getDb(), body, {
    address: remoteAddressOf(req.headers) ?? UNKNOWN_CLIENT,
    headers: req.headers,
    secure: isHttps(req),
  });
  if (result.status !== 200) {
    const response = fail(result.status, result.message);
    if (result.retryAfterS) response.headers.set("retry-after", String(result.retryAfterS));
    return response;
  }
  const headers = new Headers({ "cache-control": "no-store" });
  for (const cookie of result.cookies) headers.append("set-cookie", cookie);
  return Response.json({ user: result.user }, { headers });
}
