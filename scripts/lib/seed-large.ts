// Loads a large synthetic history (10,000 runs with 1,000,000 metric points by default) in
// bulk, for dashboard benchmarks and for trying the dashboard at scale.
import pg from "pg";
import { groupKeyOf } from "../../src/server/services/runs";
import { DEFAULT_HYPERPARAMS, type Hyperparams, NORMALIZATIONS } from "../../src/shared/hyperparams";
import { EPOCH_METRIC_KEYS as K } from "../../src/shared/metrics";

export interface SeedOptions {
  runs: number;
  /** Epochs per run; each epoch stores loss, accuracy, val_loss and val_accuracy: points = runs × epochs × 4. */
  epochs: number;
  experimentName: string;
}

const CHUNK_RUNS = 1_000;

/** A deterministic pseudo-random number in [0, 1) for (run, salt). */
const noise = (i: number, salt: number) => {
  const x = Math.sin(i * 12.9898 + salt * 78.233) * 43758.5453;
  return x - Math.floor(x);
};

export async function seedLarge(databaseUrl: string, options: SeedOptions) {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  const started = performance.now();
  try {
    const experiment = await client.query<{ id: number }>(
      `INSERT INTO "Experiment"(name, description, "updatedAt") VALUES ($1, $2, now()) RETURNING id`,
      [options.experimentName, `seed-large: ${options.runs} runs × ${options.epochs} epochs`],
    );
    const experimentId = experiment.rows[0]?.id as number;
    let points = 0;
    for (let from = 0; from < options.runs; from += CHUNK_RUNS) {
      const count = Math.min(CHUNK_RUNS, options.runs - from);
      const configs: Hyperparams[] = Array.from({ length: count }, (_, k) => {
        const i = from + k;
        return {
          ...DEFAULT_HYPERPARAMS,
          normalization: NORMALIZATIONS[i % 3] as Hyperparams["normalization"],
          learningRate: [5e-4, 1e-3, 2e-4][Math.floor(i / 3) % 3] as number,
          batchSize: [64, 128][Math.floor(i / 9) % 2] as number,
          seed: Math.floor(i / 18),
          epochs: options.epochs,
        };
      });
      const finals = configs.map((_, k) => 0.6 + 0.3 * noise(from + k, 1));
      const runs = await client.query<{ id: number }>(
        `INSERT INTO "Run" ("experimentId", name, status, "groupKey", config, normalization, "learningRate",
           "batchSize", epochs, seed, dropout, l2, augmentation, "lrPlateauPatience", "lrPlateauFactor",
           "lrPlateauMin", "earlyStoppingPatience", "epochsDone", "bestEpoch", "bestValAccuracy",
           "bestValLoss", "lastValAccuracy", "lastValLoss", "testAccuracy", "testLoss", "startedAt",
           "finishedAt", "updatedAt")
         SELECT $1, n, 'succeeded', g, c, nz, lr, bs, $2, s, '{0.2,0.3,0.4,0.5}', 1e-4, true, 10, 0.5, 1e-5, 40,
           $2, $2, acc, 1 - acc, acc, 1 - acc, acc - 0.01, 1.01 - acc,
           now() - interval '1 hour', now(), now()
         FROM unnest($3::text[], $4::text[], $5::jsonb[], $6::text[], $7::float8[], $8::int[], $9::int[], $10::float8[])
           AS t(n, g, c, nz, lr, bs, s, acc)
         RETURNING id`,
        [
          experimentId,
          options.epochs,
          configs.map((c, k) => `${c.normalization} · lr ${c.learningRate} · seed ${c.seed} · #${from + k}`),
          configs.map(groupKeyOf),
          configs.map((c) => JSON.stringify(c)),
          configs.map((c) => c.normalization),
          configs.map((c) => c.learningRate),
          configs.map((c) => c.batchSize),
          configs.map((c) => c.seed),
          finals,
        ],
      );
      const ids = runs.rows.map((r) => r.id);
      const run: number[] = [];
      const key: string[] = [];
      const step: number[] = [];
      const value: number[] = [];
      ids.forEach((id, k) => {
        const final = finals[k] as number;
        for (let e = 1; e <= options.epochs; e++) {
          const progress = 1 - Math.exp((-4 * e) / options.epochs);
          const accuracy = 0.1 + (final - 0.1) * progress + 0.01 * (noise(id, e) - 0.5);
          for (const [metric, v] of [
            [K.loss, 2.3 * (1 - progress) + 0.3],
            [K.accuracy, accuracy + 0.02],
            [K.valLoss, 2.3 * (1 - progress) + 0.35],
            [K.valAccuracy, accuracy],
          ] as const) {
            run.push(id);
            key.push(metric);
            step.push(e);
            value.push(v);
          }
        }
      });
      await client.query(
        `INSERT INTO "MetricPoint" ("runId", key, step, value)
         SELECT * FROM unnest($1::int[], $2::text[], $3::int[], $4::float8[])`,
        [run, key, step, value],
      );
      points += run.length;
    }
    await client.query(`ANALYZE "Run"; ANALYZE "MetricPoint"`);
    return { experimentId, runs: options.runs, points, seconds: (performance.now() - started) / 1000 };
  } finally {
    await client.end();
  }
}
