// A run whose model (the seed network, untrained) is uploaded as a worker would, and the run
// marked succeeded: enough to register, promote and predict with it.
import type { Db } from "@/server/db/client";
import { modelMetadata, serializeModel } from "@/trainer/model/io";
import { buildModel } from "@/trainer/model/vgg";
import type { LabbookClient } from "@/trainer/worker/client";
import { asTheirWorker } from "./held-run";

export async function succeededRunWithModel(
  api: LabbookClient,
  db: Db,
  runId: number,
  seed = 1,
  testAccuracy = 0.5,
) {
  const model = buildModel({ dropout: [0.2, 0.3, 0.4, 0.5], l2: 1e-4, seed });
  const normalizer = {
    kind: "zscore" as const,
    scale: [1 / 64, 1 / 64, 1 / 64] as [number, number, number],
    offset: [-2, -2, -2] as [number, number, number],
    mean: [128],
    std: [64],
  };
  const { modelJson, weights } = await serializeModel(model, modelMetadata(normalizer));
  await asTheirWorker(db, [runId], async () => {
    await api.upload(runId, "weights.bin", "model", weights);
    await api.upload(runId, "model.json", "model", modelJson, "application/json");
  });
  await db.run.update({
    where: { id: runId },
    data: { status: "succeeded", testAccuracy, finishedAt: new Date() },
  });
  return { runId, model, normalizer };
}
