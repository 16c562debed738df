// Renders dataset fetch progress on stderr.
import type { FetchProgress } from "./data/fetch";
import { progressBar, StatusLine } from "./progress";

export function fetchProgressPrinter(status = new StatusLine()) {
  return (progress: FetchProgress) => {
    switch (progress.phase) {
      case "download": {
        const mb = (progress.bytes / 1e6).toFixed(1);
        const { total } = progress;
        status.update(
          total
            ? `downloading ${progressBar(progress.bytes / total)} ${mb}/${(total / 1e6).toFixed(1)} MB`
            : `downloading ${mb} MB`,
        );
        break;
      }
      case "convert":
        status.done(`converting ${progress.file} (${progress.index + 1}/${progress.count})`);
        break;
      case "verify":
        status.done("verifying sha256 of the six files");
        break;
      case "source-failed":
        status.done(`${progress.source} unavailable (${progress.reason}); trying the next source`);
        break;
    }
  };
}
