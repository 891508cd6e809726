/** What a URL function is told before each connection attempt. */
export interface DuplexUrlContext {
  /** 0 for the first connection, then 1, 2, … for each reconnect. */
  connection: number;
  /** The URL of the previous attempt, or `null` before the first. */
  previousUrl: string | null;
}

/**
 * Where a client connects: one endpoint; several, tried in turn (the client stays on one while it
 * works and moves to the next each time it reconnects, so a dead node is left behind); or a
 * function called before every attempt.
 */
export type DuplexUrl =
  | string
  | readonly string[]
  | ((context: DuplexUrlContext) => string | Promise<string>);

/** Returns the URL for each connection attempt, checked and turned into `ws(s)`. */
export function createUrlPicker(url: DuplexUrl): () => Promise<string> {
  let connection = 0;
  let previousUrl: string | null = null;
  if (typeof url === 'function') {
    return async () => {
      previousUrl = toWebSocketUrl(await url({ connection: connection++, previousUrl }));
      return previousUrl;
    };
  }
  const urls = (typeof url === 'string' ? [url] : [...url]).map(toWebSocketUrl);
  if (urls.length === 0) throw new TypeError('Duplex client: `url` lists no endpoint');
  return async () => urls[connection++ % urls.length] as string;
}

/** Checks an endpoint: a bad URL would otherwise fail every reconnect. */
export function toWebSocketUrl(raw: string): string {
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    throw new TypeError(
      `Duplex client: invalid url ${JSON.stringify(raw)}; expected e.g. ws://localhost:3000/trpc`,
    );
  }
  const scheme = { 'ws:': 'ws:', 'wss:': 'wss:', 'http:': 'ws:', 'https:': 'wss:' }[
    parsed.protocol
  ];
  if (!scheme) {
    throw new TypeError(
      `Duplex client: url must use ws, wss, http or https, not ${parsed.protocol}`,
    );
  }
  parsed.protocol = scheme;
  return parsed.toString();
}

/** The HTTP endpoint beside a WebSocket URL: `ws://h/trpc` → `http://h/trpc`; none for a function. */
export function defaultHttpUrl(url: DuplexUrl): string | undefined {
  const first = typeof url === 'string' ? url : Array.isArray(url) ? url[0] : undefined;
  if (typeof first !== 'string') return undefined;
  return first.replace(/^ws(s?):/i, 'http$1:');
}
