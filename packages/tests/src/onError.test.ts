import { createDuplexClient } from '@duplex/client';
import type { DuplexErrorReport } from '@duplex/server';
import { TRPCError } from '@trpc/server';
import { describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { type AppRouter, duplex, startTestServer, testClient } from './fixtures';

type Report = DuplexErrorReport<{ user: { id: string } }>;

describe('onError gets the context of what failed', () => {
  for (const handler of ['duplex', 'stock'] as const) {
    it(`${handler}: a procedure's internal error arrives with path, type, ctx, input and transport`, async () => {
      const reports: Report[] = [];
      await using server = await startTestServer({
        handler,
        onError: (report) => reports.push(report),
      });
      await using client = testClient(server.wsUrl);
      await expect(client.boom.mutate()).rejects.toThrow('Internal server error');
      await vi.waitFor(() => expect(reports).toHaveLength(1));
      const report = reports[0]!;
      expect(report).toMatchObject({
        source: 'call',
        transport: 'websocket',
        path: 'boom',
        type: 'mutation',
        ctx: { user: { id: 'alice' } },
        task: undefined,
      });
      expect(report.error).toBeInstanceOf(TRPCError);
      expect(String((report.error as TRPCError).cause)).toContain('hunter2');
    });

    it(`${handler}: a subscription that fails while running arrives as the subscription's`, async () => {
      const router = duplex.router({
        breaks: duplex.procedure
          .input(z.object({ feed: z.string() }))
          .subscription(async function* () {
            yield 1;
            throw new Error('feed broke');
          }),
      });
      const reports: Report[] = [];
      await using server = await startTestServer({
        handler,
        router,
        onError: (report) => reports.push(report),
      });
      await using client = createDuplexClient<typeof router>({
        url: server.wsUrl,
        token: 'user:carol',
        reconnect: { delayMs: () => 10 },
      });
      const clientErrors: unknown[] = [];
      client.breaks.subscribe({ feed: 'f1' }, { onError: (error) => clientErrors.push(error) });
      await vi.waitFor(() => expect(clientErrors).toHaveLength(1));
      await vi.waitFor(() => expect(reports).toHaveLength(1));
      expect(reports[0]).toMatchObject({
        source: 'subscription',
        transport: 'websocket',
        path: 'breaks',
        type: 'subscription',
        ctx: { user: { id: 'carol' } },
        input: { feed: 'f1' },
      });
    });

    it(`${handler}: a failing authenticate arrives as the connection's`, async () => {
      const reports: Report[] = [];
      await using server = await startTestServer({
        handler,
        authenticate: async () => {
          throw new Error('auth service down');
        },
        onError: (report) => reports.push(report),
      });
      await using client = testClient(server.wsUrl);
      await expect(client.whoami.query()).rejects.toThrow();
      await vi.waitFor(() => expect(reports.length).toBeGreaterThan(0));
      expect(reports[0]).toMatchObject({
        source: 'connection',
        transport: 'websocket',
        ctx: undefined,
        error: new Error('auth service down'),
      });
    });

    it(`${handler}: an authenticate that throws synchronously is refused and reported`, async () => {
      const reports: Report[] = [];
      await using server = await startTestServer({
        handler,
        authenticate: () => {
          throw new Error('token parser crashed');
        },
        onError: (report) => reports.push(report),
      });
      await using client = testClient(server.wsUrl);
      await expect(client.whoami.query()).rejects.toThrow();
      await vi.waitFor(() => expect(reports.length).toBeGreaterThan(0));
      expect(reports[0]).toMatchObject({ error: new Error('token parser crashed') });
    });
  }

  it('http: a route whose handler throws synchronously answers 500 and is reported', async () => {
    const reports: Report[] = [];
    await using server = await startTestServer({
      routes: [
        {
          prefix: '/sync-throw',
          handle: () => {
            throw new Error('route bug');
          },
        },
      ],
      onError: (report) => reports.push(report),
    });
    const res = await fetch(`${server.httpUrl}/sync-throw`);
    expect(res.status).toBe(500);
    expect(reports).toMatchObject([
      { source: 'route', transport: 'http', path: '/sync-throw', error: new Error('route bug') },
    ]);
    const health = await fetch(`${server.httpUrl}/healthz`);
    expect(health.status).toBe(200);
  });

  it('http: a plain HTTP call reports with its input and transport', async () => {
    const reports: Report[] = [];
    await using server = await startTestServer<AppRouter>({
      onError: (report) => reports.push(report),
    });
    const res = await fetch(`${server.httpUrl}/trpc/boom`, {
      method: 'POST',
      headers: { Authorization: 'Bearer user:bob', 'Content-Type': 'application/json' },
      body: '{}',
    });
    expect(res.status).toBe(500);
    await vi.waitFor(() => expect(reports).toHaveLength(1));
    expect(reports[0]).toMatchObject({
      source: 'call',
      transport: 'http',
      path: 'boom',
      type: 'mutation',
      ctx: { user: { id: 'bob' } },
    });
  });

  it('leaves expected errors (FORBIDDEN, bad input) out', async () => {
    const reports: Report[] = [];
    await using server = await startTestServer({ onError: (report) => reports.push(report) });
    await using client = testClient(server.wsUrl);
    await expect(client.forbidden.query()).rejects.toThrow('Not yours');
    await expect(client.echo.query({ text: 1 as never })).rejects.toThrow();
    await expect(client.whoami.query()).resolves.toMatchObject({ id: 'alice' });
    expect(reports).toEqual([]);
  });
});
