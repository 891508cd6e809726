import { createDuplexClient } from '@duplex/client';
import { createMemoryBroker, initDuplex } from '@duplex/server';
import { describe, expectTypeOf, it } from 'vitest';
import type { CommandResult, WhoamiResult } from './adminRouter';
import type { ConnectionsFrame, OverviewFrame } from './adminTypes';
import { createDuplexAdmin } from './createDuplexAdmin';

interface User {
  id: string;
  admin: boolean;
}

const d = initDuplex<User>();
const admin = createDuplexAdmin({
  authorize: (user: User) => user.admin,
  broker: createMemoryBroker(),
});
const appRouter = d.router({
  hello: d.procedure.query(() => 'hi'),
  admin: admin.router(d),
});
const client = createDuplexClient<typeof appRouter>({ url: 'ws://127.0.0.1:1/trpc' });

describe('admin procedures through the client', () => {
  it('types whoami and the commands', () => {
    expectTypeOf(client.admin.whoami.query()).resolves.toEqualTypeOf<{
      userId: string;
      nodeId: string | null;
    }>();
    expectTypeOf(client.admin.disconnect.mutate({ connectionId: 'c1' })).resolves.toEqualTypeOf<{
      sent: true;
      localClosed: number;
    }>();
    expectTypeOf(client.admin.disconnectUser.mutate({ userId: 'u1' })).resolves.toEqualTypeOf<{
      sent: true;
      localClosed: number;
    }>();
    // The exported output types are what the client infers: the page can build on them.
    expectTypeOf(client.admin.whoami.query()).resolves.toEqualTypeOf<WhoamiResult>();
    expectTypeOf(
      client.admin.disconnect.mutate({ connectionId: 'c1' }),
    ).resolves.toEqualTypeOf<CommandResult>();
    expectTypeOf(
      client.admin.disconnectUser.mutate({ userId: 'u1' }),
    ).resolves.toEqualTypeOf<CommandResult>();
    // @ts-expect-error a connection is named by `connectionId`
    void client.admin.disconnect.mutate({ id: 'c1' });
    // @ts-expect-error ids are strings
    void client.admin.disconnectUser.mutate({ userId: 42 });
  });

  it('types the subscriptions as frames', () => {
    client.admin.overview.subscribe(undefined, {
      onData(frame) {
        expectTypeOf(frame).toEqualTypeOf<OverviewFrame>();
      },
    });
    client.admin.connections.subscribe(
      { userId: 'u1', limit: 50 },
      {
        onData(frame) {
          expectTypeOf(frame).toEqualTypeOf<ConnectionsFrame>();
        },
      },
    );
    // The input may be left out: every connection, 200 at most.
    client.admin.connections.subscribe(undefined, { onData() {} });
    // @ts-expect-error limit is a number
    client.admin.connections.subscribe({ limit: '10' }, { onData() {} });
    // @ts-expect-error userId is a string
    client.admin.connections.subscribe({ userId: 7 }, { onData() {} });
  });

  it('needs users with a string id', () => {
    createDuplexAdmin({
      // @ts-expect-error the admin router names operators by a string `id`
      authorize: (user: { name: string }) => user.name === 'x',
      broker: createMemoryBroker(),
    });
  });
});
