// How validation problems are worded everywhere (API errors, forms, the trainer CLI).

/** "config.dropout[1] must be < 1": the field's path, then the rule it broke. */
export function describeIssue(issue: { path: readonly PropertyKey[]; message: string }): string {
  const path = issue.path
    .map((part, i) => (typeof part === "number" ? `[${part}]` : `${i > 0 ? "." : ""}${String(part)}`))
    .join("");
  return path ? `${path} ${issue.message}` : issue.message;
}
