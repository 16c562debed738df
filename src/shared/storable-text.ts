// Text PostgreSQL can store: no NUL and no lone UTF-16 surrogate (both fail as "invalid byte
// sequence", a 500, unless refused up front).
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export function isStorableText(text: string): boolean {
  return !text.includes("\u0000") && !LONE_SURROGATE.test(text);
}
