import { backgroundError, type DuplexErrorHandler } from '@duplex/server';

/**
 * Reports a repeating background failure once until the work succeeds again: a Redis outage
 * would otherwise send the same error to `onError` every report interval.
 */
export class FailureGate {
  /** Whether the last run failed (and was reported). */
  private failing = false;

  constructor(
    private readonly task: string,
    private readonly onError: DuplexErrorHandler<never>,
  ) {}

  /** The work failed: reported unless it failed last time too. */
  fail(error: unknown): void {
    if (this.failing) return;
    this.failing = true;
    this.onError(backgroundError<never>(this.task, error));
  }

  /** The work succeeded: the next failure is reported. */
  succeed(): void {
    this.failing = false;
  }
}

/** Resolves after `ms`, or at once when `signal` aborts (never rejects). Unref'd. */
export function delay(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    timer.unref?.();
    signal?.addEventListener('abort', done, { once: true });
  });
}
