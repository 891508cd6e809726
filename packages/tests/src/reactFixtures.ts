import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Broker, createMemoryBroker, streamChannel } from '@duplex/server';
import { build } from 'esbuild';
import { z } from 'zod';
import { duplex, startTestServer } from './fixtures';

/** One entry of the feed the React test app shows. */
export interface FeedItem {
  id: string;
  /** The client-chosen idempotency key of the `add` that stored it, if any. */
  key: string | null;
  text: string;
}

/** What the server stores and counts, outliving restarts (like a database would). */
export interface FeedState {
  items: FeedItem[];
  /** How many times `list` ran: a gap refetches once, a plain reconnect never. */
  listCalls: number;
  /** How many times `add` ran, repeats included. */
  addCalls: number;
  /** How many times `onFeed` was asked for: one per hook, however StrictMode mounts it. */
  feedSubscribes: number;
  /** Held open by a test to keep `pending` subscriptions from starting. */
  gate: Promise<void>;
  /** Held open by a test to keep `list` from answering (with what it read when called). */
  listGate: Promise<void>;
  /** Held open by a test to keep `add` calls in flight. */
  addGate: Promise<void>;
}

export function createFeedState(): FeedState {
  return {
    items: [],
    listCalls: 0,
    addCalls: 0,
    feedSubscribes: 0,
    gate: Promise.resolve(),
    listGate: Promise.resolve(),
    addGate: Promise.resolve(),
  };
}

/** The React test app's router over one {@link FeedState}. */
export function createFeedRouter(state: FeedState) {
  return duplex.router({
    list: duplex.procedure.query(async () => {
      state.listCalls++;
      const items = [...state.items];
      await state.listGate;
      return items;
    }),
    /** Stores `text` once per `key`: a repeat answers with the first result. */
    add: duplex.procedure
      .input(z.object({ key: z.string(), text: z.string() }))
      .mutation(async ({ ctx, input }) => {
        state.addCalls++;
        await state.addGate;
        const stored = state.items.find((item) => item.key === input.key);
        if (stored) return stored;
        const item: FeedItem = {
          id: `i${state.items.length + 1}`,
          key: input.key,
          text: input.text,
        };
        state.items.push(item);
        await ctx.broker.publish('feed', item);
        return item;
      }),
    onFeed: duplex.procedure
      .input(z.object({ lastEventId: z.string().nullish() }))
      .subscription(({ ctx, input, signal }) => {
        state.feedSubscribes++;
        return streamChannel<FeedItem>(ctx.broker, 'feed', {
          lastEventId: input.lastEventId,
          signal,
        });
      }),
    /** A stream that starts only once `state.gate` resolves. */
    pending: duplex.procedure
      .input(z.object({ lastEventId: z.string().nullish() }))
      .subscription(async ({ ctx, input, signal }) => {
        await state.gate;
        return streamChannel<FeedItem>(ctx.broker, 'pending', {
          lastEventId: input.lastEventId,
          signal,
        });
      }),
  });
}

/** A promise and the function that resolves it, for gates a test holds. */
export function deferred() {
  let resolve: () => void = () => undefined;
  const promise = new Promise<void>((done) => {
    resolve = done;
  });
  return { promise, resolve: () => resolve() };
}

export type FeedRouter = ReturnType<typeof createFeedRouter>;

/**
 * Bundles a React page from `fixtures/` (by default `reactApp.tsx`: React 19, StrictMode) into
 * a directory with its page.
 */
export async function buildReactApp(fixture = 'reactApp.tsx'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'duplex-react-app-'));
  await build({
    entryPoints: [fileURLToPath(new URL(`./fixtures/${fixture}`, import.meta.url))],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    conditions: ['@duplex/source'],
    define: { 'process.env.NODE_ENV': '"development"' },
    jsx: 'automatic',
    outfile: join(dir, 'app.js'),
    logLevel: 'warning',
  });
  await writeFile(
    join(dir, 'index.html'),
    '<!doctype html><meta charset="utf-8"><title>react</title><link rel="icon" href="data:,"><div id="root"></div><script type="module" src="/app.js"></script>',
  );
  return dir;
}

/** A test server for the React app: the feed router, the app's files, a broker outliving restarts. */
export async function startFeedServer(staticDir: string, opts: { broker?: Broker } = {}) {
  const state = createFeedState();
  const broker = opts.broker ?? createMemoryBroker();
  const server = await startTestServer<FeedRouter>({
    router: createFeedRouter(state),
    staticDir,
    broker,
  });
  /** Stores an item as `add` would, with no client involved (works while the server is down). */
  const publish = async (text: string) => {
    const item: FeedItem = { id: `i${state.items.length + 1}`, key: null, text };
    state.items.push(item);
    await broker.publish('feed', item);
  };
  return Object.assign(server, { state, publish });
}
