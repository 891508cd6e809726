import type { Message } from '@duplex/chat';
import { createDuplexClient, type DuplexStatus, idempotent, isGap } from '@duplex/client';
import type { AppRouter } from '@duplex/example-chat/router';

export interface ChatCliOptions {
  url: string;
  name: string;
  room: string;
  /** Where lines go (stdout in the program, a buffer in tests). */
  print: (line: string) => void;
  /** Backoff override, for tests. */
  reconnectDelayMs?: () => number;
}

const time = (d: Date) => d.toTimeString().slice(0, 5);
const format = (m: Message) =>
  `[${time(m.createdAt)}] ${m.authorName}: ${m.text ?? (m.deletedAt ? '(deleted)' : '')}${m.attachments.length ? ` [${m.attachments.length} image(s)]` : ''}`;

/**
 * The terminal chat: joins a room, prints history and live messages, and sends lines. Returns
 * `input(line)` to feed it and `close()`.
 */
export async function startChatCli(opts: ChatCliOptions) {
  const client = createDuplexClient<AppRouter>({
    url: opts.url,
    token: encodeURIComponent(opts.name),
    ...(opts.reconnectDelayMs ? { reconnect: { delayMs: opts.reconnectDelayMs } } : {}),
  });
  const shown = new Set<string>();
  const show = (m: Message) => {
    // A streamed reply is printed once, whole, when it ends (a terminal cannot grow a line).
    if (shown.has(m.id) || m.stream?.state === 'streaming') return;
    shown.add(m.id);
    opts.print(format(m));
  };
  const statusLine: Partial<Record<DuplexStatus['state'], string>> = {
    reconnecting: '… connection lost, reconnecting',
    offline: '… offline',
    unauthorized: '! the server refused this name',
  };
  let lastState = client.$status.get().state;
  client.$status.subscribe((s) => {
    if (s.state === lastState) return;
    if (s.state === 'open' && lastState !== 'connecting') opts.print('… back online');
    const line = statusLine[s.state];
    if (line) opts.print(line);
    lastState = s.state;
  });

  let room = opts.room;
  let stream: { unsubscribe(): void } | null = null;
  const enter = async (roomId: string) => {
    stream?.unsubscribe();
    await client.chat.joinRoom.mutate({ roomId });
    room = roomId;
    opts.print(`— joined #${roomId}`);
    const history = await client.chat.history.query({ roomId, limit: 20 });
    for (const m of history.reverse()) show(m);
    stream = client.chat.onEvent.subscribe(
      { roomId },
      {
        onData: ({ data }) => {
          if (isGap(data)) {
            opts.print('… some messages were missed; reloading recent history');
            void client.chat.history.query({ roomId, limit: 20 }).then((page) => {
              for (const m of page.reverse()) show(m);
            });
          } else if (data.type === 'message.created' || data.type === 'message.streamEnded')
            show(data.message);
          else if (data.type === 'message.edited') opts.print(`(edited) ${format(data.message)}`);
        },
        onError: (error) => opts.print(`! ${error.message}`),
      },
    );
  };
  await enter(room);

  return {
    async input(line: string) {
      const text = line.trim();
      if (!text) return;
      try {
        if (text === '/quit') return 'quit' as const;
        if (text === '/rooms') {
          const { mine, discover } = await client.chat.rooms.query();
          for (const s of mine)
            opts.print(`  #${s.room.id} ${s.room.name}${s.unread ? ` (${s.unread} unread)` : ''}`);
          for (const r of discover) opts.print(`  #${r.id} ${r.name} (join with /join ${r.id})`);
          return;
        }
        if (text.startsWith('/join ')) return await enter(text.slice(6).trim());
        await client.chat.send.mutate(
          { roomId: room, clientMsgId: crypto.randomUUID(), text },
          idempotent,
        );
      } catch (error) {
        opts.print(`! ${error instanceof Error ? error.message : String(error)}`);
      }
    },
    close: () => client.$close(),
  };
}
