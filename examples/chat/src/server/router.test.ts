import { roomChannel } from '@duplex/chat';
import { createDuplexClient, DuplexClientError, idempotent, isGap } from '@duplex/client';
import type { NotificationEvent } from '@duplex/notifications';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createChatApp } from './app';
import type { AppRouter } from './router';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function start() {
  const app = await createChatApp({ dataDir: null, adminToken: 'secret-token', staticDir: null });
  cleanups.push(() => app.close());
  const { port } = await app.server.listen(0, '127.0.0.1');
  const client = (token: string) => {
    const c = createDuplexClient<AppRouter>({
      url: `ws://127.0.0.1:${port}/trpc`,
      token,
      reconnect: { delayMs: () => 10 },
    });
    cleanups.push(() => c.$close());
    return c;
  };
  return { app, client };
}

/** The titles of `notification.created` events on the user's stream. */
function watchTitles(client: ReturnType<Awaited<ReturnType<typeof start>>['client']>) {
  const titles: string[] = [];
  const bodies: (string | null)[] = [];
  client.notifications.onNotification.subscribe(
    {},
    {
      onData: ({ data }) => {
        if (isGap(data)) return;
        const event = data as NotificationEvent;
        if (event.type === 'notification.created') {
          titles.push(event.notification.title);
          bodies.push(event.notification.body);
        }
      },
    },
  );
  return { titles, bodies };
}

describe('the chat app’s notifications', () => {
  it('notifies the members an @mention names, never the author or a lookalike', async () => {
    const { client } = await start();
    const [ada, grace, linus] = [client('Ada Lovelace'), client('Grace'), client('Linus')];
    for (const c of [ada, grace, linus]) await c.chat.joinRoom.mutate({ roomId: 'general' });
    const [adaSeen, graceSeen, linusSeen] = [
      watchTitles(ada),
      watchTitles(grace),
      watchTitles(linus),
    ];
    // Let the three streams start before anything is sent.
    await vi.waitFor(async () => expect(await ada.notifications.unreadCount.query()).toBe(0));

    const say = (c: typeof ada, text: string) =>
      c.chat.send.mutate({ roomId: 'general', clientMsgId: crypto.randomUUID(), text }, idempotent);
    await say(grace, 'mail grace@example.com or ask @linus');
    await say(grace, '@Ada_Lovelace and @grace: the notes are in');
    await say(linus, '@ADA-LOVELACE ping');
    await vi.waitFor(() =>
      expect(adaSeen.titles).toEqual([
        'Grace mentioned you in General',
        'Linus mentioned you in General',
      ]),
    );
    expect(adaSeen.bodies[0]).toBe('@Ada_Lovelace and @grace: the notes are in');
    await vi.waitFor(() => expect(linusSeen.titles).toEqual(['Grace mentioned you in General']));
    // Grace named herself and an e-mail address: neither is a mention of anyone.
    expect(graceSeen.titles).toEqual([]);
  });

  it('notifies an invited user, once per room', async () => {
    const { client } = await start();
    const ada = client('Ada');
    const grace = client('Grace');
    const seen = watchTitles(grace);
    await vi.waitFor(async () => expect(await grace.notifications.unreadCount.query()).toBe(0));
    await grace.chat.rooms.query(); // signed in to the chat, as the web app does first
    const room = await ada.chat.createRoom.mutate({ name: 'Secret', visibility: 'private' });
    await ada.chat.invite.mutate({ roomId: room.id, userId: 'grace' });
    await ada.chat.invite.mutate({ roomId: room.id, userId: 'Grace' });
    await vi.waitFor(() => expect(seen.titles).toEqual(['Ada invited you to Secret']));
    const [invite] = (await grace.notifications.feed.query({ limit: 5 })).items;
    expect(invite).toEqual(
      expect.objectContaining({ category: 'chat.invite', link: `/#room=${room.id}` }),
    );
    await grace.chat.joinRoom.mutate({ roomId: room.id });
  });

  it('resolves an invite by display name to the account sign-in makes of it', async () => {
    const { client } = await start();
    const ada = client('Ada');
    const alan = client(encodeURIComponent('Alan Turing'));
    await alan.chat.rooms.query();
    const room = await ada.chat.createRoom.mutate({ name: 'Bletchley', visibility: 'private' });
    // Every spelling sign-in takes for one account names that account (the web app used to
    // send "alan turing", an account no one signs in to).
    for (const typed of ['Alan Turing', 'alan turing', 'ALAN_TURING', ' alan-turing ']) {
      await expect(ada.chat.invite.mutate({ roomId: room.id, userId: typed })).resolves.toEqual({
        status: 'invited',
        user: { id: 'alan-turing', name: 'Alan Turing' },
      });
    }
    const missing = await ada.chat.invite
      .mutate({ roomId: room.id, userId: 'Alan T' })
      .catch((e: unknown) => e);
    expect(missing).toMatchObject({ code: 'NOT_FOUND', message: 'No user named "Alan T"' });
    await alan.chat.joinRoom.mutate({ roomId: room.id });
    await expect(
      ada.chat.invite.mutate({ roomId: room.id, userId: 'Alan Turing' }),
    ).resolves.toMatchObject({ status: 'member' });
  });

  it('lets only the operator token send notifications from a client', async () => {
    const { client } = await start();
    const ada = client('Ada');
    const seen = watchTitles(ada);
    await vi.waitFor(async () => expect(await ada.notifications.unreadCount.query()).toBe(0));
    const refused = await ada.notifications.notify
      .mutate({ to: 'ada', category: 'x', title: 'spoof' })
      .catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(DuplexClientError);
    expect((refused as DuplexClientError).code).toBe('FORBIDDEN');

    const operator = client('admin:secret-token');
    expect(await operator.me.query()).toEqual({ id: 'admin', name: 'Admin', admin: true });
    await operator.notifications.notify.mutate({ to: 'ada', category: 'ops', title: 'Hello' });
    await vi.waitFor(() => expect(seen.titles).toEqual(['Hello']));

    // A wrong token and the reserved name are refused at the handshake.
    for (const token of ['admin:wrong', 'Admin']) {
      const stranger = client(token);
      const error = await stranger.me.query().catch((e: unknown) => e);
      expect((error as DuplexClientError).code).toBe('UNAUTHORIZED');
    }
  });

  it("opens the dashboard to the operator only, and reports this node's connections", async () => {
    const { app, client } = await start();
    const ada = client('Ada');
    const refused = await ada.admin.whoami.query().catch((e: unknown) => e);
    expect((refused as DuplexClientError).code).toBe('FORBIDDEN');
    const operator = client('admin:secret-token');
    expect(await operator.admin.whoami.query()).toEqual({
      userId: 'admin',
      nodeId: app.server.inspector.nodeId,
    });
    const users = await new Promise<(string | null)[]>((resolve) => {
      const sub = operator.admin.connections.subscribe(undefined, {
        onData: (frame) => {
          if (frame.connections.length < 2) return;
          sub.unsubscribe();
          resolve(frame.connections.map((c) => c.userId));
        },
      });
    });
    expect(users.sort()).toEqual(['ada', 'admin']);
    // The page is served under /admin/ (503 with a hint until `npm run build:page`).
    const { port } = app.server.httpServer.address() as { port: number };
    const page = await fetch(`http://127.0.0.1:${port}${app.adminPath}`);
    expect([200, 503]).toContain(page.status);
  });

  it("shows the operator who is in each room, from the chat's own presence", async () => {
    const { client } = await start();
    const ada = client('Ada');
    await ada.chat.joinRoom.mutate({ roomId: 'general' });
    ada.chat.onEvent.subscribe({ roomId: 'general' }, { onData: () => {} });
    const operator = client('admin:secret-token');
    const present: unknown[] = [];
    const sub = operator.admin.overview.subscribe(undefined, {
      onData: (frame) => {
        const general = frame.presence
          .flatMap((node) => node.channels)
          .find((c) => c.channel === roomChannel('general'));
        if (general) present.push(general.members);
      },
    });
    cleanups.push(async () => sub.unsubscribe());
    // The dashboard reports every 2 s, and a report carries the presence read after the one before.
    await vi.waitFor(() => expect(present.at(-1)).toEqual([{ id: 'ada', name: 'Ada' }]), {
      timeout: 10_000,
      interval: 100,
    });
  });
});
