import { createDuplexClient, type DuplexClient } from '@duplex/client';
import type { MountedAdminRouter } from './adminRouterShape';

/** Where the page finds the admin procedures. */
export interface PageConfig {
  /** The admin router's key in the app's router. */
  path: string;
  /** The WebSocket endpoint. */
  url: string;
  /** Put before the typed token (an app's operator tokens may share a prefix such as `admin:`). */
  tokenPrefix: string;
}

/** The admin procedures, typed. */
export type AdminApi = DuplexClient<MountedAdminRouter>['admin'];

/** The page's client: the connection and the admin procedures on it. */
export interface AdminClient {
  client: DuplexClient<MountedAdminRouter>;
  api: AdminApi;
}

const meta = (name: string) =>
  document.querySelector<HTMLMetaElement>(`meta[name="${name}"]`)?.content.trim() ?? '';

/**
 * Reads the page's configuration: `<meta name="duplex-admin-path">` (or `?path=`),
 * `<meta name="duplex-admin-url">` (default: this page's origin + `/trpc`) and
 * `<meta name="duplex-admin-token-prefix">`. The URL is never taken from the query string, so a
 * link cannot make the page send a token elsewhere.
 */
export function readConfig(): PageConfig {
  const query = new URLSearchParams(location.search).get('path')?.trim();
  const path = query || meta('duplex-admin-path') || 'admin';
  const origin = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}`;
  const url = meta('duplex-admin-url') || `${origin}/trpc`;
  return { path, url, tokenPrefix: meta('duplex-admin-token-prefix') };
}

/** Connects with the operator's token; the proxy resolves `api` by the configured key. */
export function createAdminClient(config: PageConfig, token: string): AdminClient {
  const client = createDuplexClient<MountedAdminRouter>({
    url: config.url,
    token: `${config.tokenPrefix}${token}`,
    // A dashboard wants its figures back soon after a restart; stays well under the defaults' cap.
    reconnect: { baseDelayMs: 250, maxDelayMs: 5_000 },
  });
  const byKey = client as unknown as Record<string, AdminApi>;
  return { client, api: byKey[config.path]! };
}
