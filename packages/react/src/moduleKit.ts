/** A hook's error as components show it: an `Error`, or `null` when there is none. */
export const asError = (error: unknown): Error | null =>
  error === null || error === undefined
    ? null
    : error instanceof Error
      ? error
      : new Error(String(error));
