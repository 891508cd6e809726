import { once } from 'node:events';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { TRPCError } from '@trpc/server';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { WebSocket } from 'ws';
import { createDuplexServer } from './createDuplexServer';
import { initDuplex } from './initDuplex';
import type { DuplexTracingOptions } from './tracing';

const duplex = initDuplex<{ id: string }>();
const router = duplex.router({
  chat: duplex.router({
    history: duplex.procedure.query(() => ['hi']),
    send: duplex.procedure.mutation(() => {
      throw new Error('database password in here');
    }),
    secret: duplex.procedure.query(() => {
      throw new TRPCError({ code: 'FORBIDDEN' });
    }),
    onMessage: duplex.procedure.subscription(async function* () {
      yield 'first';
    }),
  }),
});

const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
afterEach(() => exporter.reset());

async function startServer(tracing: DuplexTracingOptions | undefined, handler?: 'stock') {
  const server = createDuplexServer({
    router,
    handler,
    authenticate: () => ({ user: { id: 'u7' } }),
    onError: () => {},
    tracing,
    processMetrics: false,
  });
  const { port, url } = await server.listen(0, '127.0.0.1');
  const socket = new WebSocket(`ws://127.0.0.1:${port}/trpc`);
  const received: { id?: unknown; result?: { type?: string }; error?: unknown }[] = [];
  socket.on('message', (data) => received.push(JSON.parse(String(data))));
  await once(socket, 'open');
  return {
    url,
    received,
    call(id: number, method: string, path: string) {
      socket.send(JSON.stringify({ id, method, params: { path, input: { json: null } } }));
    },
    async [Symbol.asyncDispose]() {
      socket.terminate();
      await server.close({ drainTimeoutMs: 0 });
    },
  };
}

const byName = (spans: ReadableSpan[], name: string) => spans.filter((s) => s.name === name);

describe('tracing', () => {
  it('makes a span per call and subscription start, named by path, with its outcome', async () => {
    await using server = await startServer({ tracer: provider.getTracer('test') });
    server.call(1, 'query', 'chat.history');
    server.call(2, 'mutation', 'chat.send');
    server.call(3, 'query', 'chat.secret');
    server.call(4, 'subscription', 'chat.onMessage');
    await vi.waitFor(() => expect(exporter.getFinishedSpans()).toHaveLength(4));
    const spans = exporter.getFinishedSpans();
    const [history] = byName(spans, 'chat.history');
    expect(history?.attributes).toEqual({
      'rpc.system': 'trpc',
      'rpc.method': 'chat.history',
      'duplex.type': 'query',
      'duplex.transport': 'websocket',
    });
    expect(history?.kind).toBe(1);
    expect(history?.status.code).toBe(0);
    const [send] = byName(spans, 'chat.send');
    expect(send?.status).toEqual({ code: 2, message: 'INTERNAL_SERVER_ERROR' });
    expect(send?.attributes['error.type']).toBe('INTERNAL_SERVER_ERROR');
    expect(send?.events.map((e) => e.name)).toEqual(['exception']);
    const [secret] = byName(spans, 'chat.secret');
    expect(secret?.status).toEqual({ code: 2, message: 'FORBIDDEN' });
    // A refusal is no exception: nothing of it is recorded.
    expect(secret?.events).toEqual([]);
    const [onMessage] = byName(spans, 'chat.onMessage');
    expect(onMessage?.attributes['duplex.type']).toBe('subscription');
    expect(onMessage?.status.code).toBe(0);
  });

  it('records the user id only when allowed', async () => {
    await using server = await startServer({
      tracer: provider.getTracer('test'),
      recordUserId: true,
    });
    server.call(1, 'query', 'chat.history');
    await vi.waitFor(() => expect(exporter.getFinishedSpans()).toHaveLength(1));
    expect(exporter.getFinishedSpans()[0]?.attributes['enduser.id']).toBe('u7');
  });

  it('traces plain HTTP calls with their outcome', async () => {
    await using server = await startServer({ tracer: provider.getTracer('test') });
    const ok = await fetch(`${server.url}/trpc/chat.history`);
    expect(ok.status).toBe(200);
    const refused = await fetch(`${server.url}/trpc/chat.secret`);
    expect(refused.status).toBe(403);
    await vi.waitFor(() => expect(exporter.getFinishedSpans()).toHaveLength(2));
    const spans = exporter.getFinishedSpans();
    expect(byName(spans, 'chat.history')[0]?.attributes).toMatchObject({
      'duplex.transport': 'http',
      'duplex.type': 'query',
    });
    expect(byName(spans, 'chat.secret')[0]?.status).toEqual({ code: 2, message: 'FORBIDDEN' });
  });

  it("traces the stock handler's calls through the base procedure's middleware", async () => {
    await using server = await startServer({ tracer: provider.getTracer('test') }, 'stock');
    server.call(1, 'query', 'chat.history');
    server.call(2, 'query', 'chat.secret');
    await vi.waitFor(() => expect(exporter.getFinishedSpans()).toHaveLength(2));
    const spans = exporter.getFinishedSpans();
    expect(byName(spans, 'chat.history')[0]?.attributes).toMatchObject({
      'duplex.transport': 'websocket',
      'duplex.type': 'query',
    });
    expect(byName(spans, 'chat.history')[0]?.status.code).toBe(0);
    expect(byName(spans, 'chat.secret')[0]?.status).toEqual({ code: 2, message: 'FORBIDDEN' });
  });
});
