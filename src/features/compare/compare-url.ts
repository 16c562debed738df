// The compare page's address, `/compare?runs=1,2,3`: the one place that writes and reads it.

/** Run ids from `?runs=1,2,3`: positive integers, each once, at most 100. */
export function parseRunIds(raw: string | null): number[] {
  return [...new Set((raw ?? "").split(",").map(Number))]
    .filter((id) => Number.isInteger(id) && id > 0)
    .slice(0, 100);
}

export function compareHref(ids: number[]): string {
  return ids.length ? `/compare?runs=${ids.join(",")}` : "/compare";
}
