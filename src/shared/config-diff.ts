// Flattened hyperparameter configs and their differences: the compare view's parameter table
// and the labels of seed groups ("normalization=sfs").

/** { lrPlateau: { factor: 0.5 } } → { "lrPlateau.factor": "0.5" }; arrays are one value. */
export function flattenConfig(config: unknown, prefix = ""): Record<string, string> {
  if (config === null || typeof config !== "object" || Array.isArray(config))
    return { [prefix]: Array.isArray(config) ? config.join(", ") : String(config) };
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(config as Record<string, unknown>)) {
    if (value === undefined) continue;
    Object.assign(out, flattenConfig(value, prefix ? `${prefix}.${key}` : key));
  }
  return out;
}

export interface ParamRow {
  param: string;
  /** One per config, in the order given; "—" where a config lacks the parameter. */
  values: string[];
  differs: boolean;
}

export function paramRows(configs: unknown[]): ParamRow[] {
  const flat = configs.map((c) => flattenConfig(c));
  const params = [...new Set(flat.flatMap((f) => Object.keys(f)))].sort();
  return params.map((param) => {
    const values = flat.map((f) => f[param] ?? "—");
    return { param, values, differs: new Set(values).size > 1 };
  });
}

/**
 * A label per config naming only the parameters that tell them apart ("normalization=sfs"),
 * among those every config has: a run logged from the user's own code shares few keys with a
 * run Labbook trained, and a list of everything one of them lacks tells nobody anything.
 */
export function distinguishingLabels(configs: unknown[], ignore: string[] = ["seed"]): string[] {
  const rows = paramRows(configs).filter(
    (row) => row.differs && !ignore.includes(row.param) && !row.values.includes("—"),
  );
  return configs.map((_, i) =>
    rows.length ? rows.map((row) => `${row.param}=${row.values[i]}`).join(", ") : "same config",
  );
}
