/** Options of {@link HttpLiveness}. */
export interface HttpLivenessOptions {
  /** What is probed: the server's HTTP endpoint. */
  url: string;
  /** Time between probes. */
  intervalMs: number;
  /** A probe with no answer after this long failed. */
  timeoutMs: number;
  /** Called when the server starts or stops answering (not on every probe). */
  onChange(alive: boolean): void;
  /** The `fetch` to probe with. @default globalThis.fetch */
  fetch?: typeof globalThis.fetch;
}

/**
 * Whether the server answers while the client is on the HTTP fallback, where no socket and no
 * keepalive tell a dead server from a quiet one: an event stream over a dead connection just
 * stays silent. A `GET` on the endpoint every `intervalMs`, answered within `timeoutMs` with
 * anything but a 5xx (what a proxy says when the server behind it is down), means alive.
 */
export class HttpLiveness {
  /** The last probe's verdict; `null` before the first has answered. */
  alive: boolean | null = null;
  /** The next probe, while running. */
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** Aborts the probe under way. */
  #inFlight: AbortController | null = null;
  #running = false;

  constructor(private readonly opts: HttpLivenessOptions) {}

  /**
   * Probes every `intervalMs` until {@link HttpLiveness.stop}: the first one now, or, when the
   * server has just answered (`knownAlive`), after the first interval.
   */
  start(knownAlive = false): void {
    if (this.#running) return;
    this.#running = true;
    if (!knownAlive) {
      void this.#probe();
      return;
    }
    this.alive = true;
    this.#timer = setTimeout(() => void this.#probe(), this.opts.intervalMs);
  }

  /** Stops probing and forgets the verdict: the next start probes afresh. */
  stop(): void {
    this.#running = false;
    this.alive = null;
    clearTimeout(this.#timer);
    this.#inFlight?.abort();
    this.#inFlight = null;
  }

  async #probe(): Promise<void> {
    const abort = new AbortController();
    this.#inFlight = abort;
    const timeout = setTimeout(() => abort.abort(), this.opts.timeoutMs);
    const fetchFn = this.opts.fetch ?? globalThis.fetch;
    const alive = await fetchFn(this.opts.url, { method: 'GET', signal: abort.signal }).then(
      async (res) => {
        // Only the answer matters: release the connection.
        await res.body?.cancel().catch(() => undefined);
        return res.status < 500;
      },
      () => false,
    );
    clearTimeout(timeout);
    // Stopped (or restarted) meanwhile: this probe's verdict is stale.
    if (this.#inFlight !== abort || !this.#running) return;
    this.#inFlight = null;
    if (alive !== this.alive) {
      this.alive = alive;
      this.opts.onChange(alive);
    }
    this.#timer = setTimeout(() => void this.#probe(), this.opts.intervalMs);
  }
}
