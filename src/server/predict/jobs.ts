// What the prediction thread does with each job; also run in-process when the app runs
// without Labbook's HTTP server (and so without the thread).
import { classify, classifyPixels, loadVersion } from "./classify";
import { decodeImage, ImageInputError } from "./decode";
import { prepareImage } from "./prepare";
import type { JobResult, PreparedOrError, ThreadJob } from "./protocol";

/** A job without its id, kind by kind (Omit over a union would merge the kinds). */
export type JobBody = ThreadJob extends infer Job ? (Job extends unknown ? Omit<Job, "id"> : never) : never;

export async function runJob(job: JobBody): Promise<JobResult> {
  switch (job.kind) {
    case "predict": {
      if (job.model) await loadVersion(job.versionId, job.model);
      const image = await decodeImage(
        Buffer.from(job.bytes.buffer, job.bytes.byteOffset, job.bytes.byteLength),
      );
      return {
        kind: "predict",
        width: image.width,
        height: image.height,
        ...(await classify(job.versionId, image)),
      };
    }
    case "prepare": {
      // libvips decodes on its own threads: the batch's images at once.
      const images = await Promise.all(
        job.images.map(async (bytes): Promise<PreparedOrError> => {
          try {
            return {
              ok: true,
              ...(await prepareImage(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength))),
            };
          } catch (error) {
            const status = ImageInputError.is(error) ? error.status : null;
            return { ok: false, status, message: (error as Error).message };
          }
        }),
      );
      return { kind: "prepare", images };
    }
    case "classify": {
      if (job.model) await loadVersion(job.versionId, job.model);
      return { kind: "classify", ...(await classifyPixels(job.versionId, job.pixels, job.count)) };
    }
  }
}
