import { fileURLToPath } from 'node:url';
import {
  type Broker,
  createDuplexServer,
  createMemoryBroker,
  type DuplexServer,
} from '@duplex/server';
import { build } from 'esbuild';
import { createDemoRouter, devAuthenticate } from './router';

const publicDir = fileURLToPath(new URL('../public', import.meta.url));

/** Bundles the page script for the browser, from source (no build step for users). */
export async function buildPage(): Promise<void> {
  await build({
    entryPoints: [fileURLToPath(new URL('./web/page.ts', import.meta.url))],
    outfile: `${publicDir}/build/page.js`,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    conditions: ['@duplex/source'],
    sourcemap: true,
    logLevel: 'warning',
  });
}

/**
 * The demo server: the page, the board and a clock that ticks every `tickMs`. A `broker` passed
 * in outlives the server (as Redis would); by default it has its own.
 */
export function createDemoServer(
  opts: { tickMs?: number; broker?: Broker; tls?: { key: string; cert: string } } = {},
): DuplexServer {
  const broker = opts.broker ?? createMemoryBroker();
  let server: DuplexServer | null = null;
  server = createDuplexServer({
    router: createDemoRouter({ connections: () => server?.connections ?? 0 }),
    authenticate: devAuthenticate,
    broker,
    staticDir: publicDir,
    ...(opts.tls ? { tls: opts.tls } : {}),
  });
  const timer = setInterval(() => {
    // Live only: a tick is stale a second later, so none is logged or replayed.
    const tick = { at: new Date(), connections: server?.connections ?? 0 };
    void broker.publish('ticks', tick, { ephemeral: true });
  }, opts.tickMs ?? 1_000);
  timer.unref();
  server.httpServer.once('close', () => clearInterval(timer));
  return server;
}
