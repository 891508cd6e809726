/** Monotonic milliseconds shared by every process on the machine (CLOCK_MONOTONIC). */
export const nowMs = (): number => Number(process.hrtime.bigint()) / 1e6;

/** The `p` quantile (0..1) of `values`, which this sorts in place. */
export function percentile(values: Float64Array | number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  values.sort((a, b) => a - b);
  return values[Math.min(values.length - 1, Math.floor(p * values.length))] ?? Number.NaN;
}

/** A fixed-capacity sample of numbers: keeps every value up to `capacity`, then a uniform sample. */
export function createSampler(capacity: number) {
  const values = new Float64Array(capacity);
  let seen = 0;
  return {
    add(value: number) {
      if (seen < capacity) values[seen] = value;
      else {
        const slot = Math.floor(Math.random() * (seen + 1));
        if (slot < capacity) values[slot] = value;
      }
      seen++;
    },
    values: () => Array.from(values.subarray(0, Math.min(seen, capacity))),
    reset() {
      seen = 0;
    },
  };
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
