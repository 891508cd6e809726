import {
  createDuplexClient,
  createDuplexConnection,
  type DuplexClient,
  type DuplexStatus,
  duplexLinks,
  idempotent,
} from '@duplex/client';
import type { StreamGap } from '@duplex/protocol';
import { QueryClient, useMutation, useQuery } from '@tanstack/react-query';
import { createTRPCClient } from '@trpc/client';
import { initTRPC, tracked } from '@trpc/server';
import superjson from 'superjson';
import { describe, expectTypeOf, it } from 'vitest';
import { z } from 'zod';
import { createDuplexReact } from './createDuplexReact';
import { useConnectionStatus } from './useConnectionStatus';
import { useLiveQuery } from './useLiveQuery';
import { type LiveSubscriptionStatus, useLiveSubscription } from './useLiveSubscription';
import { useOptimisticMutation } from './useOptimisticMutation';

interface Message {
  id: string;
  clientMsgId: string;
  text: string;
  at: Date;
}
type RoomEvent = { type: 'message'; message: Message } | { type: 'typing'; userId: string };

const t = initTRPC.create({ transformer: superjson });
const router = t.router({
  history: t.procedure.input(z.object({ roomId: z.string() })).query((): Message[] => []),
  send: t.procedure
    .input(z.object({ roomId: z.string(), clientMsgId: z.string(), text: z.string() }))
    .mutation(({ input }): Message => ({ id: '1', at: new Date(), ...input })),
  onEvent: t.procedure
    .input(z.object({ roomId: z.string(), lastEventId: z.string().nullish() }))
    .subscription(async function* (): AsyncGenerator<RoomEvent | StreamGap> {}),
  /** As `streamChannel` yields: every item tracked, a gap too. */
  onTracked: t.procedure
    .input(z.object({ roomId: z.string(), lastEventId: z.string().nullish() }))
    .subscription(async function* () {
      const items: (RoomEvent | StreamGap)[] = [];
      for (const item of items) yield tracked('1', item);
    }),
});
type Router = typeof router;

const { DuplexProvider, useTRPC, useTRPCClient } = createDuplexReact<Router>();
const queryClient = new QueryClient();

describe('useTRPC', () => {
  it('infers query, mutation and subscription options from the router', () => {
    const trpc = useTRPC();
    const history = useQuery(trpc.history.queryOptions({ roomId: 'r' }));
    expectTypeOf(history.data).toEqualTypeOf<Message[] | undefined>();
    expectTypeOf(history.data?.[0]?.at).toEqualTypeOf<Date | undefined>();
    const send = useMutation(trpc.send.mutationOptions());
    expectTypeOf(send.mutate).parameter(0).toEqualTypeOf<{
      roomId: string;
      clientMsgId: string;
      text: string;
    }>();
    expectTypeOf(send.data).toEqualTypeOf<Message | undefined>();
    trpc.onEvent.subscriptionOptions({ roomId: 'r', lastEventId: null });
    // @ts-expect-error roomId is required
    trpc.onEvent.subscriptionOptions({ lastEventId: 'x' });
    // @ts-expect-error roomId is a string
    trpc.history.queryOptions({ roomId: 1 });
    // @ts-expect-error no such procedure
    trpc.nope.queryOptions();
    // @ts-expect-error a query has no mutationOptions
    trpc.history.mutationOptions();
  });

  it('gives the typed client for calls outside React Query', () => {
    const client = useTRPCClient();
    expectTypeOf(client.history.query).returns.resolves.toEqualTypeOf<Message[]>();
    // @ts-expect-error text is required
    void client.send.mutate({ roomId: 'r', clientMsgId: 'c' });
  });
});

describe('useConnectionStatus', () => {
  it('returns the status union', () => {
    const status = useConnectionStatus();
    expectTypeOf(status).toEqualTypeOf<DuplexStatus>();
    expectTypeOf(status.state).toEqualTypeOf<
      'connecting' | 'open' | 'reconnecting' | 'offline' | 'unauthorized' | 'closed'
    >();
    // @ts-expect-error not a state
    if (status.state === 'connected') return;
  });
});

describe('useLiveSubscription', () => {
  it('types data without gaps and the status union', () => {
    const trpc = useTRPC();
    const live = useLiveSubscription(trpc.onEvent.subscriptionOptions({ roomId: 'r' }), {
      onData: (event) => expectTypeOf(event).toEqualTypeOf<RoomEvent>(),
      onGap: (gap) => expectTypeOf(gap).toEqualTypeOf<StreamGap>(),
      onStarted: (info) => expectTypeOf(info).toEqualTypeOf<{ resumed: boolean }>(),
    });
    expectTypeOf(live.data).toEqualTypeOf<RoomEvent | undefined>();
    expectTypeOf(live.status).toEqualTypeOf<LiveSubscriptionStatus>();
    expectTypeOf(live.status).toEqualTypeOf<
      'idle' | 'connecting' | 'live' | 'reconnecting' | 'gap' | 'error'
    >();
    expectTypeOf(live.gap).toEqualTypeOf<StreamGap | null>();
    useLiveSubscription(trpc.onEvent.subscriptionOptions({ roomId: 'r' }), {
      // @ts-expect-error events are RoomEvents, not strings
      onData: (event: string) => event,
    });
  });
});

describe('tracked streams', () => {
  it('leave the gap out of the envelope', () => {
    const trpc = useTRPC();
    const live = useLiveSubscription(trpc.onTracked.subscriptionOptions({ roomId: 'r' }), {
      onData: (event) => expectTypeOf(event).toEqualTypeOf<{ id: string; data: RoomEvent }>(),
    });
    expectTypeOf(live.data).toEqualTypeOf<{ id: string; data: RoomEvent } | undefined>();
    const feed = useLiveQuery({
      query: trpc.history.queryOptions({ roomId: 'r' }),
      subscription: trpc.onTracked.subscriptionOptions({ roomId: 'r' }),
      apply: (messages, event) => {
        expectTypeOf(event.data).toEqualTypeOf<RoomEvent>();
        return event.data.type === 'message' ? [...messages, event.data.message] : messages;
      },
    });
    expectTypeOf(feed.live.data).toEqualTypeOf<{ id: string; data: RoomEvent } | undefined>();
    useLiveQuery({
      query: trpc.history.queryOptions({ roomId: 'r' }),
      subscription: trpc.onTracked.subscriptionOptions({ roomId: 'r' }),
      // @ts-expect-error the event is the envelope; its message is under data
      apply: (messages, event) => [...messages, event.message],
    });
  });
});

describe('useLiveQuery', () => {
  it('types the data, the apply parameters and the stream', () => {
    const trpc = useTRPC();
    const feed = useLiveQuery({
      query: trpc.history.queryOptions({ roomId: 'r' }),
      subscription: trpc.onEvent.subscriptionOptions({ roomId: 'r' }),
      apply: (messages, event) => {
        expectTypeOf(messages).toEqualTypeOf<Message[]>();
        expectTypeOf(event).toEqualTypeOf<RoomEvent>();
        return event.type === 'message' ? [...messages, event.message] : messages;
      },
    });
    expectTypeOf(feed.data).toEqualTypeOf<Message[] | undefined>();
    expectTypeOf(feed.live.data).toEqualTypeOf<RoomEvent | undefined>();
    expectTypeOf(feed.live.status).toEqualTypeOf<LiveSubscriptionStatus>();

    useLiveQuery({
      query: trpc.history.queryOptions({ roomId: 'r' }),
      subscription: trpc.onEvent.subscriptionOptions({ roomId: 'r' }),
      // @ts-expect-error apply returns the query's data, not the event
      apply: (_messages, event) => event,
    });
    useLiveQuery({
      query: trpc.history.queryOptions({ roomId: 'r' }),
      subscription: trpc.onEvent.subscriptionOptions({ roomId: 'r' }),
      // @ts-expect-error the events are the stream's, not another type
      apply: (messages, _event: { type: 'other' }) => messages,
    });
  });

  it('keeps a select projection', () => {
    const trpc = useTRPC();
    const count = useLiveQuery({
      query: trpc.history.queryOptions({ roomId: 'r' }, { select: (m) => m.length }),
      subscription: trpc.onEvent.subscriptionOptions({ roomId: 'r' }),
      apply: (messages) => messages,
    });
    expectTypeOf(count.data).toEqualTypeOf<number | undefined>();
  });
});

describe('useOptimisticMutation', () => {
  it('types variables, result and cache', () => {
    const trpc = useTRPC();
    const send = useOptimisticMutation(trpc.send.mutationOptions({ trpc: idempotent }), {
      queryKey: trpc.history.queryKey({ roomId: 'r' }),
      apply: (messages: Message[], input) => {
        expectTypeOf(input).toEqualTypeOf<{ roomId: string; clientMsgId: string; text: string }>();
        return [...messages, { ...input, id: 'pending', at: new Date() }];
      },
      confirm: (messages, input, message) => {
        expectTypeOf(message).toEqualTypeOf<Message>();
        return messages.map((m) => (m.clientMsgId === input.clientMsgId ? message : m));
      },
      revert: (messages, input) => messages.filter((m) => m.clientMsgId !== input.clientMsgId),
    });
    expectTypeOf(send.data).toEqualTypeOf<Message | undefined>();
    send.mutate({ roomId: 'r', clientMsgId: 'c', text: 'hi' });
    // @ts-expect-error text is required
    send.mutate({ roomId: 'r', clientMsgId: 'c' });
    useOptimisticMutation(trpc.send.mutationOptions(), {
      queryKey: trpc.history.queryKey({ roomId: 'r' }),
      // @ts-expect-error apply must return the cache type
      apply: (messages: Message[]) => messages.length,
    });
  });
});

describe('DuplexProvider', () => {
  it('takes a factory, a DuplexClient or a composed client of the same router', () => {
    const url = 'ws://127.0.0.1:1/trpc';
    <DuplexProvider client={() => createDuplexClient<Router>({ url })} queryClient={queryClient}>
      {null}
    </DuplexProvider>;
    const client: DuplexClient<Router> = createDuplexClient<Router>({ url });
    <DuplexProvider client={client} queryClient={queryClient}>
      {null}
    </DuplexProvider>;
    const connection = createDuplexConnection({ url });
    const composed = {
      client: createTRPCClient<Router>({ links: duplexLinks({ connection }) }),
      connection,
    };
    <DuplexProvider client={composed} queryClient={queryClient}>
      {null}
    </DuplexProvider>;
    <DuplexProvider client={() => composed} queryClient={queryClient}>
      {null}
    </DuplexProvider>;

    const other = initTRPC.create({ transformer: superjson });
    const otherRouter = other.router({ ping: other.procedure.query(() => 'pong' as const) });
    const otherClient = () => createDuplexClient<typeof otherRouter>({ url });
    // @ts-expect-error a client of another router
    <DuplexProvider client={otherClient} queryClient={queryClient}>
      {null}
    </DuplexProvider>;
    // @ts-expect-error queryClient is required
    <DuplexProvider client={client}>{null}</DuplexProvider>;
  });
});
