// Small pieces every plain (non-tRPC) route uses, so their errors look like the API's.

export const fail = (status: number, message: string) => Response.json({ error: { message } }, { status });

/** A positive integer path segment, or null. */
export function positiveId(raw: string): number | null {
  const id = Number(raw);
  return Number.isInteger(id) && id > 0 ? id : null;
}
