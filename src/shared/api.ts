// Limits of the tRPC API that the dashboard's client must respect too.

/** One HTTP request runs at most this many procedures (batched calls). */
export const MAX_BATCH_SIZE = 50;
