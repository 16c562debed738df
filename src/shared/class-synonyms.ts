// Maps the user's folder or CSV label names to a model's class names: case, spaces and
// underscores, English plurals, and a small synonym table the user can edit.
import { z } from "zod";

/** What people call CIFAR-10's classes; the user's table replaces this one. */
export const DEFAULT_SYNONYMS: Record<string, string> = {
  plane: "airplane",
  aeroplane: "airplane",
  aircraft: "airplane",
  jet: "airplane",
  car: "automobile",
  auto: "automobile",
  sedan: "automobile",
  kitten: "cat",
  puppy: "dog",
  toad: "frog",
  pony: "horse",
  boat: "ship",
  lorry: "truck",
};

const key = (name: string) =>
  name
    .normalize("NFKC")
    .trim()
    .toLowerCase()
    .replace(/[\s_-]+/g, " ");

/** "a = b" lines (or "a: b", "a,b"); blank lines and # comments are ignored. */
export const synonymTableSchema = z
  .record(z.string().trim().min(1).max(64), z.string().trim().min(1).max(64))
  .refine((table) => Object.keys(table).length <= 200, "at most 200 synonyms");

export function parseSynonyms(text: string): Record<string, string> {
  const table: Record<string, string> = {};
  for (const [n, raw] of text.split(/\r?\n/).entries()) {
    const line = raw.replace(/#.*/, "").trim();
    if (!line) continue;
    const match = /^(.+?)\s*(?:=|:|,|->|→)\s*(.+)$/.exec(line);
    if (!match) throw new Error(`synonym line ${n + 1} ("${line.slice(0, 40)}") is not "name = class"`);
    table[(match[1] as string).trim()] = (match[2] as string).trim();
  }
  return synonymTableSchema.parse(table);
}

export const formatSynonyms = (table: Record<string, string>) =>
  Object.entries(table)
    .map(([from, to]) => `${from} = ${to}`)
    .join("\n");

/** The class `label` names, or null: exact (any case), a synonym, or a plural of either. */
export function resolveClass(
  label: string,
  classNames: readonly string[],
  synonyms: Record<string, string>,
): string | null {
  const classes = new Map(classNames.map((name) => [key(name), name]));
  const table = new Map(Object.entries(synonyms).map(([from, to]) => [key(from), key(to)]));
  const lookup = (candidate: string) => classes.get(table.get(candidate) ?? candidate) ?? null;
  const name = key(label);
  const singulars = [name, name.replace(/ies$/, "y"), name.replace(/es$/, ""), name.replace(/s$/, "")];
  for (const candidate of singulars) {
    const found = lookup(candidate);
    if (found) return found;
  }
  return null;
}
