import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type AdminAuditEntry, createDuplexAdmin, type OverviewFrame } from '@duplex/admin';
import { createDuplexClient } from '@duplex/client';
import {
  type Authenticate,
  createDuplexServer,
  createMemoryBroker,
  createMemoryPresence,
  initDuplex,
} from '@duplex/server';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { type AdminTestUser, createAdminTestRouter } from './adminPageFixtures';

type User = AdminTestUser;

/** `user:<id>` signs in a user, `admin:<id>` an operator. */
const authenticate: Authenticate<User> = ({ connectionParams }) => {
  const match = connectionParams?.token?.match(/^(user|admin):(\w+)$/);
  return match ? { user: { id: match[2]!, admin: match[1] === 'admin' } } : null;
};

const reportIntervalMs = 100;

async function startAdminServer(opts: { pageDir?: string } = {}) {
  const d = initDuplex<User>();
  const broker = createMemoryBroker();
  const audits: AdminAuditEntry[] = [];
  const errors: unknown[] = [];
  /** Operators whose rights the app has taken away since they signed in. */
  const revoked = new Set<string>();
  const presence = createMemoryPresence();
  const admin = createDuplexAdmin({
    authorize: (user: User) => user.admin && !revoked.has(user.id),
    broker,
    presence,
    reportIntervalMs,
    audit: (entry) => audits.push(entry),
    onError: (report) => errors.push(report.error),
  });
  const router = createAdminTestRouter(d, admin, presence);
  const server = createDuplexServer({
    router,
    authenticate,
    broker,
    onError: (report) => errors.push(report.error),
    routes: admin.routes({
      path: '/admin',
      tokenPrefix: 'admin:',
      dir: opts.pageDir ?? join(tmpdir(), 'duplex-admin-no-page'),
    }),
  });
  const stop = admin.attach(server);
  const { port } = await server.listen(0);
  const url = `ws://127.0.0.1:${port}/trpc`;
  const clients: { $close(): Promise<void> }[] = [];
  const connect = (token: string) => {
    const client = createDuplexClient<typeof router>({
      url,
      token,
      reconnect: { delayMs: () => 10 },
    });
    clients.push(client);
    return client;
  };
  return {
    server,
    admin,
    audits,
    errors,
    revoked,
    connect,
    httpUrl: `http://127.0.0.1:${port}`,
    stop,
    async [Symbol.asyncDispose]() {
      await Promise.all(clients.map((c) => c.$close()));
      await server.close({ drainTimeoutMs: 0 });
      await broker.close();
    },
  };
}

type AdminServer = Awaited<ReturnType<typeof startAdminServer>>;
type Client = ReturnType<AdminServer['connect']>;

/** Subscribes to the admin overview and keeps every frame. */
function watchOverview(client: Client) {
  const frames: OverviewFrame[] = [];
  const errors: unknown[] = [];
  const sub = client.admin.overview.subscribe(undefined, {
    onData: (frame) => frames.push(frame),
    onError: (error) => errors.push(error),
  });
  return { frames, errors, unsubscribe: () => sub.unsubscribe() };
}

/** A subscription to `numbers`, with what it received. */
async function listen(client: Client) {
  const received: number[] = [];
  client.numbers.subscribe(
    {},
    {
      onData: ({ data }) => {
        if (typeof data === 'object' && data !== null && 'n' in data) received.push(data.n);
      },
    },
  );
  // The cursor item tells the subscription is live; a call behind it on the same socket too.
  await client.echo.query({ text: 'ready' });
  return received;
}

describe('admin router', () => {
  it('refuses every procedure to a user who is not an operator', async () => {
    await using app = await startAdminServer();
    const user = app.connect('user:mallory');
    const codeOf = (promise: Promise<unknown>) =>
      promise.then(
        () => 'ok',
        (error: { data?: { code?: string }; message?: string }) =>
          `${error.data?.code}: ${error.message}`,
      );
    const forbidden = 'FORBIDDEN: Not an operator';
    expect(await codeOf(user.admin.whoami.query())).toBe(forbidden);
    expect(await codeOf(user.admin.disconnect.mutate({ connectionId: 'x' }))).toBe(forbidden);
    expect(await codeOf(user.admin.disconnectUser.mutate({ userId: 'x' }))).toBe(forbidden);
    for (const subscribe of [
      (onError: (e: unknown) => void) =>
        user.admin.overview.subscribe(undefined, { onData: () => {}, onError }),
      (onError: (e: unknown) => void) =>
        user.admin.connections.subscribe({}, { onData: () => {}, onError }),
    ]) {
      const error = await new Promise<{ data?: { code?: string } }>((resolve) =>
        subscribe((e) => resolve(e as { data?: { code?: string } })),
      );
      expect(error.data?.code).toBe('FORBIDDEN');
    }
    expect(app.audits).toEqual([]);
    // An operator is let through.
    const operator = app.connect('admin:root');
    expect(await operator.admin.whoami.query()).toEqual({
      userId: 'root',
      nodeId: app.server.inspector.nodeId,
    });
  });

  it("streams overview figures that match the server's own", async () => {
    await using app = await startAdminServer();
    const users = ['ann', 'ben', 'cy'].map((id) => app.connect(`user:${id}`));
    for (const user of users) {
      await listen(user);
      for (let i = 0; i < 5; i++) await user.echo.query({ text: `${i}` });
    }
    const operator = app.connect('admin:root');
    const overview = watchOverview(operator);
    // Quiet from here: the figures settle, and a report after that must equal them.
    await vi.waitFor(() => {
      const latest = overview.frames.at(-1)?.nodes[0];
      const now = app.server.inspector.stats();
      expect(latest?.calls).toBe(now.calls);
      expect(latest?.connections).toEqual(now.connections);
    }, 5_000);
    const node = overview.frames.at(-1)!.nodes[0]!;
    const stats = app.server.inspector.stats();
    expect(overview.frames.at(-1)!.nodes).toHaveLength(1);
    expect(node.nodeId).toBe(app.server.inspector.nodeId);
    expect(node.connections).toEqual({ websocket: 4, http: 0 });
    expect(node.connections.websocket).toBe(app.server.connections);
    expect(node.usersOnline).toBe(4);
    // Three `numbers` and the operator's `overview`.
    expect(node.subscriptions).toBe(4);
    expect(node.subscriptions).toBe(stats.subscriptions);
    expect(node.subscriptions).toBe(app.server.metrics.subscriptions);
    // 3 × (1 ready + 5 echoes).
    expect(node.calls).toBeGreaterThanOrEqual(18);
    expect(node.calls).toBe(stats.calls);
    expect(node.procedures.find((p) => p.path === 'echo')?.calls).toBe(18);
    const frame = overview.frames[0]!;
    expect(frame.reportIntervalMs).toBe(reportIntervalMs);
    expect(overview.frames.slice(1).every((f) => f.history.length === 0)).toBe(true);
    // Frames come at most once a second however often nodes report.
    const gaps = overview.frames.slice(1).map((f, i) => f.at - overview.frames[i]!.at);
    expect(gaps.every((gap) => gap >= 990)).toBe(true);
    expect(overview.errors).toEqual([]);
    expect(app.errors).toEqual([]);
  });

  it('streams who is present on each listed channel, from the presence the app passed', async () => {
    await using app = await startAdminServer();
    const ada = app.connect('user:ada');
    const ben = app.connect('user:ben');
    for (const user of [ada, ben]) {
      user.room.subscribe({ roomId: 'lobby' }, { onData: () => {} });
      await user.connectionId.query();
    }
    const overview = watchOverview(app.connect('admin:root'));
    const lobby = () =>
      overview.frames
        .at(-1)
        ?.presence.flatMap((node) => node.channels)
        .find((c) => c.channel === 'room:lobby');
    await vi.waitFor(() => expect(lobby()?.count).toBe(2), 5_000);
    expect(overview.frames.at(-1)!.presence[0]!.nodeId).toBe(app.server.inspector.nodeId);
    expect(lobby()?.members).toEqual([
      { id: 'ada', name: 'User ada' },
      { id: 'ben', name: 'User ben' },
    ]);
    // The dashboard's own channels are not asked about.
    const read = overview.frames.at(-1)!.presence[0]!.channels.map((c) => c.channel);
    expect(read.filter((c) => c.startsWith('duplex.admin.'))).toEqual([]);
    // Ben leaves: the next frames say so.
    await ben.$close();
    await vi.waitFor(
      () => expect(lobby()?.members).toEqual([{ id: 'ada', name: 'User ada' }]),
      5_000,
    );
    expect(overview.errors).toEqual([]);
    expect(app.errors).toEqual([]);
  });

  it('ends running subscriptions with FORBIDDEN once authorize refuses the operator', async () => {
    await using app = await startAdminServer();
    const root = app.connect('admin:root');
    const ops = app.connect('admin:ops');
    const overview = watchOverview(root);
    const connectionFrames: unknown[] = [];
    const connectionErrors: unknown[] = [];
    root.admin.connections.subscribe(
      {},
      {
        onData: (frame) => connectionFrames.push(frame),
        onError: (error) => connectionErrors.push(error),
      },
    );
    const kept = watchOverview(ops);
    // Past the first frames: what is revoked here is a subscription already streaming.
    await vi.waitFor(() => {
      expect(overview.frames.length).toBeGreaterThanOrEqual(2);
      expect(connectionFrames.length).toBeGreaterThanOrEqual(2);
      expect(kept.frames.length).toBeGreaterThanOrEqual(1);
    }, 5_000);
    expect(app.server.metrics.subscriptions).toBe(3);

    app.revoked.add('root');
    const codeOf = (error: unknown) => (error as { data?: { code?: string } }).data?.code;
    await vi.waitFor(() => {
      expect(overview.errors.map(codeOf)).toEqual(['FORBIDDEN']);
      expect(connectionErrors.map(codeOf)).toEqual(['FORBIDDEN']);
    }, 5_000);
    const framesAtRevocation = [overview.frames.length, connectionFrames.length];
    // Both ended on the server; the other operator's stream goes on.
    await vi.waitFor(() => expect(app.server.metrics.subscriptions).toBe(1));
    const keptAtRevocation = kept.frames.length;
    await vi.waitFor(() => expect(kept.frames.length).toBeGreaterThan(keptAtRevocation + 1), 5_000);
    expect(kept.errors).toEqual([]);
    expect([overview.frames.length, connectionFrames.length]).toEqual(framesAtRevocation);
    await expect(root.admin.whoami.query()).rejects.toMatchObject({
      data: { code: 'FORBIDDEN' },
    });
    expect(app.errors).toEqual([]);
  });

  it('lists the connections across the node, by user on request', async () => {
    await using app = await startAdminServer();
    const ann = app.connect('user:ann');
    const ben = app.connect('user:ben');
    const ids = [await ann.connectionId.query(), await ben.connectionId.query()];
    const operator = app.connect('admin:root');
    const operatorId = await operator.connectionId.query();
    const all = await new Promise<{ total: number; ids: string[] }>((resolve) => {
      const sub = operator.admin.connections.subscribe(undefined, {
        onData: (frame) => {
          if (frame.connections.length < 3) return;
          sub.unsubscribe();
          resolve({ total: frame.total, ids: frame.connections.map((c) => c.id) });
        },
      });
    });
    expect(all.total).toBe(3);
    expect(all.ids.sort()).toEqual([...ids, operatorId].sort());
    const bens = await new Promise<readonly { id: string; userId: string | null }[]>((resolve) => {
      const sub = operator.admin.connections.subscribe(
        { userId: 'ben' },
        {
          onData: (frame) => {
            if (frame.connections.length === 0) return;
            sub.unsubscribe();
            resolve(frame.connections);
          },
        },
      );
    });
    expect(bens.map((c) => [c.id, c.userId])).toEqual([[ids[1], 'ben']]);
    const refused = await new Promise((resolve) =>
      operator.admin.connections.subscribe(
        { limit: 1001 },
        {
          onData: () => resolve('ok'),
          onError: (error) => resolve((error as { data?: { code?: string } }).data?.code),
        },
      ),
    );
    expect(refused).toBe('BAD_REQUEST');
  });

  it('disconnects one connection, whose client reconnects and resumes its subscription', async () => {
    await using app = await startAdminServer();
    const ann = app.connect('user:ann');
    const ben = app.connect('user:ben');
    const annReceived = await listen(ann);
    const benReceived = await listen(ben);
    const annId = await ann.connectionId.query();
    const benId = await ben.connectionId.query();
    await ann.publish.mutate({ n: 1 });
    await vi.waitFor(() => expect(annReceived).toEqual([1]));
    const states: string[] = [];
    ann.$status.subscribe((status) => states.push(status.state));

    const operator = app.connect('admin:root');
    expect(await operator.admin.disconnect.mutate({ connectionId: annId })).toEqual({
      sent: true,
      localClosed: 1,
    });
    await vi.waitFor(() => expect(states).toContain('reconnecting'));
    await vi.waitFor(async () => expect(await ann.connectionId.query()).not.toBe(annId));
    expect(await ben.connectionId.query()).toBe(benId);
    await ben.publish.mutate({ n: 2 });
    await vi.waitFor(() => expect(annReceived).toEqual([1, 2]));
    expect(benReceived).toEqual([1, 2]);
    expect(app.audits).toMatchObject([
      {
        command: { type: 'disconnect', connectionId: annId, by: 'root' },
        nodeId: app.server.inspector.nodeId,
        closed: 1,
        phase: 'issued',
      },
    ]);
    // An unknown id closes nothing.
    expect(await operator.admin.disconnect.mutate({ connectionId: 'nobody-1' })).toEqual({
      sent: true,
      localClosed: 0,
    });
    expect(await ben.connectionId.query()).toBe(benId);
  });

  it("disconnects every connection of a user and no one else's", async () => {
    await using app = await startAdminServer();
    const tabs = [app.connect('user:cy'), app.connect('user:cy')];
    const ann = app.connect('user:ann');
    const before = await Promise.all(tabs.map((t) => t.connectionId.query()));
    const annId = await ann.connectionId.query();
    const operator = app.connect('admin:root');
    expect(await operator.admin.disconnectUser.mutate({ userId: 'cy' })).toEqual({
      sent: true,
      localClosed: 2,
    });
    await vi.waitFor(async () => {
      const after = await Promise.all(tabs.map((t) => t.connectionId.query()));
      expect(after.filter((id) => before.includes(id))).toEqual([]);
    });
    expect(await ann.connectionId.query()).toBe(annId);
    expect(app.audits.at(-1)).toMatchObject({ closed: 2, command: { userId: 'cy' } });
  });

  it('stops reporting when the server closes', async () => {
    const app = await startAdminServer();
    await app[Symbol.asyncDispose]();
    // Attaching again works only once the previous server let go.
    const d = createDuplexServer({ router: initDuplex<User>().router({}), authenticate });
    const stop = app.admin.attach(d);
    expect(app.admin.nodeId).toBe(d.inspector.nodeId);
    stop();
    expect(app.admin.nodeId).toBe(null);
    await d.close({ drainTimeoutMs: 0 });
  });
});

describe('admin page route', () => {
  const dir = mkdtempSync(join(tmpdir(), 'duplex-admin-page-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('answers 503 with a hint while the page is not built', async () => {
    await using app = await startAdminServer({ pageDir: join(dir, 'missing') });
    const res = await fetch(`${app.httpUrl}/admin/`);
    expect(res.status).toBe(503);
    expect(await res.text()).toContain('npm run build:page -w @duplex/admin');
  });

  it('serves the page with its settings, its assets, and nothing outside it', async () => {
    mkdirSync(join(dir, 'page/assets'), { recursive: true });
    writeFileSync(
      join(dir, 'page/index.html'),
      '<meta name="duplex-admin-path" content="admin" />\n<meta name="duplex-admin-token-prefix" content="" />',
    );
    writeFileSync(join(dir, 'page/assets/app-1.js'), 'console.log(1)');
    writeFileSync(join(dir, 'secret.txt'), 'secret');
    await using app = await startAdminServer({ pageDir: join(dir, 'page') });
    const redirect = await fetch(`${app.httpUrl}/admin`, { redirect: 'manual' });
    expect(redirect.status).toBe(308);
    expect(redirect.headers.get('location')).toBe('/admin/');
    const index = await fetch(`${app.httpUrl}/admin/`);
    expect(index.status).toBe(200);
    expect(index.headers.get('content-type')).toContain('text/html');
    expect(index.headers.get('cache-control')).toBe('no-cache');
    expect(index.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect(await index.text()).toContain(
      '<meta name="duplex-admin-token-prefix" content="admin:" />',
    );
    const asset = await fetch(`${app.httpUrl}/admin/assets/app-1.js`);
    expect(asset.headers.get('content-type')).toContain('text/javascript');
    expect(asset.headers.get('cache-control')).toContain('immutable');
    expect(await asset.text()).toBe('console.log(1)');
    // A view of the page is the page; a missing file is not.
    expect((await fetch(`${app.httpUrl}/admin/connections`)).status).toBe(200);
    expect((await fetch(`${app.httpUrl}/admin/assets/nope.js`)).status).toBe(404);
    expect((await fetch(`${app.httpUrl}/admin/..%2fsecret.txt`)).status).toBe(404);
    expect((await fetch(`${app.httpUrl}/admin/`, { method: 'POST' })).status).toBe(405);
  });
});
