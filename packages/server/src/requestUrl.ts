import type { IncomingMessage } from 'node:http';

/**
 * The URL of a request, or `null` for a target `URL` refuses (`//`, `//[`): a throw in a
 * request or upgrade listener would take the process down. The one place a request's URL is
 * parsed (upgrades, WebSocket handlers, HTTP routes).
 */
export function requestUrlOf(req: IncomingMessage): URL | null {
  try {
    return new URL(req.url ?? '/', 'http://localhost');
  } catch {
    return null;
  }
}
