// Worker threads do not inherit tsx's loader hooks on Node 20: register them in the thread,
// then load the TypeScript entry it was given.
import { workerData } from "node:worker_threads";
import { register } from "tsx/esm/api";

register();
await import(workerData.entry);
