// The dashboard's half of the double-submit CSRF check: the token the server put in a cookie
// goes back in a header on every write (a page on another site can neither read nor send it).
import { CSRF_COOKIE, CSRF_HEADER } from "@/shared/auth";

export function csrfHeaders(): Record<string, string> {
  const match = document.cookie.match(new RegExp(`(?:^|;\\s*)${CSRF_COOKIE}=([^;]+)`));
  return match?.[1] ? { [CSRF_HEADER]: decodeURIComponent(match[1]) } : {};
}
