import { chatLimitsDefaults, type Message } from '@duplex/chat';
import {
  createDuplexClient,
  DuplexClientError,
  idempotent,
  isGap,
  memoryResumeStore,
} from '@duplex/client';
import type { AppRouter } from '@duplex/example-chat/router';
import type { Brain } from './brain';
import { fileResumeStore } from './fileResumeStore';
import { ReplyLayout } from './replyParts';

export interface AssistantBotOptions {
  /** The chat server's WebSocket URL, e.g. `ws://127.0.0.1:3000/trpc`. */
  url: string;
  /** The bot's display name; people address it as `@bot` or `@<name>`. @default 'Duplex Bot' */
  name?: string;
  brain: Brain;
  /** A file that keeps the bot's resume cursors across its own restarts; memory if absent. */
  stateFile?: string;
  /** How often to look for new public rooms to join. @default 10_000 */
  roomScanMs?: number;
  /**
   * Characters in one reply message: a longer reply goes on in further messages, between
   * paragraphs where it can (see `ReplyLayout`). At most the server's `maxStreamTextLength`.
   * @default chatLimitsDefaults.maxStreamTextLength (20,000)
   */
  maxMessageChars?: number;
  /** Backoff override, for tests. */
  reconnectDelayMs?: () => number;
  log?: (line: string) => void;
}

const handleOf = (name: string) => name.toLowerCase().replace(/[\s_-]+/g, '-');

/**
 * Signs in as a bot user, joins every public room (and private ones it is invited to), and
 * answers each message addressed to it with a reply streamed chunk by chunk from `brain`.
 *
 * Each reply's `clientMsgId` is `reply:<question id>`, so a question seen twice (a resume, a
 * restart) is answered once; a reply a previous run left half-done is continued from its last
 * chunk (the brain is deterministic). The asker's Stop aborts the brain through its signal.
 * A reply longer than `maxMessageChars` goes on in further messages (`reply:<id>:2`, `:3`, …,
 * each a reply to the question), split as {@link ReplyLayout} says: never inside a word.
 */
export async function startAssistantBot(opts: AssistantBotOptions) {
  const name = opts.name ?? 'Duplex Bot';
  const log = opts.log ?? (() => {});
  const fileStore = opts.stateFile ? fileResumeStore(opts.stateFile) : null;
  const resumeStore = fileStore ?? memoryResumeStore();
  const client = createDuplexClient<AppRouter>({
    url: opts.url,
    token: encodeURIComponent(name),
    resumeStore,
    ...(opts.reconnectDelayMs ? { reconnect: { delayMs: opts.reconnectDelayMs } } : {}),
  });
  const me = await client.me.query();
  const handles = new Set(['bot', handleOf(name)]);
  const mentions = /(^|[^\p{L}\p{N}_])@([\p{L}\p{N}_.-]{1,32})/gu;
  const addressed = (m: Message) =>
    [...(m.text ?? '').matchAll(mentions)].some((match) => handles.has(handleOf(match[2]!)));
  /** The question without the mentions of the bot. */
  const questionOf = (m: Message) =>
    (m.text ?? '')
      .replace(mentions, (all, before: string, handle: string) =>
        handles.has(handleOf(handle)) ? before : all,
      )
      .trim();

  /** reply id → the brain's abort switch, while it produces. */
  const producing = new Map<string, AbortController>();
  const answering = new Set<string>();
  let answered = 0;

  const maxMessageChars = opts.maxMessageChars ?? chatLimitsDefaults.maxStreamTextLength;
  /** Message `part` (0, 1, …) of the reply to `question`; started, or as it stands. */
  const startPart = async (question: Message, part: number) => {
    const reply = await client.chat.startStream.mutate(
      {
        roomId: question.roomId,
        clientMsgId: part === 0 ? `reply:${question.id}` : `reply:${question.id}:${part + 1}`,
        replyTo: question.id,
      },
      idempotent,
    );
    return { ...reply, stream: reply.stream! };
  };

  const answer = async (question: Message) => {
    if (answering.has(question.id)) return;
    answering.add(question.id);
    const layout = new ReplyLayout(maxMessageChars);
    const controller = new AbortController();
    let reply: Awaited<ReturnType<typeof startPart>> | null = null;
    try {
      reply = await startPart(question, 0);
      // Ended already: answered by an earlier run (or stopped), unless a finished first message
      // is long enough that the reply may go on in another.
      const done = reply.stream.state === 'done';
      if (reply.stream.state !== 'streaming' && !(done && layout.mayContinue(reply.text ?? ''))) {
        return;
      }
      producing.set(reply.id, controller);
      let part = 0;
      let seq = 0;
      for await (const chunk of opts.brain(questionOf(question), controller.signal)) {
        for (const piece of layout.pieces(chunk)) {
          if (layout.startsNewMessage(piece)) {
            if (reply.stream.state === 'streaming') {
              await client.chat.finishStream.mutate({ messageId: reply.id }, idempotent);
            }
            producing.delete(reply.id);
            reply = await startPart(question, ++part);
            // A later message that was stopped (cancelled, interrupted) stops the reply.
            if (reply.stream.state !== 'streaming' && reply.stream.state !== 'done') return;
            producing.set(reply.id, controller);
            layout.newMessage();
            seq = 0;
          }
          layout.add(piece);
          if (reply.stream.state === 'streaming' && seq >= reply.stream.chunks) {
            await appendChunk(reply.id, seq, piece);
          }
          seq++;
        }
      }
      if (reply.stream.state !== 'streaming') return; // every message was finished before
      await client.chat.finishStream.mutate({ messageId: reply.id }, idempotent);
      answered++;
      log(
        `answered ${question.authorName} in ${question.roomId} (${part + 1} message${part ? 's' : ''})`,
      );
    } catch (error) {
      const ended = error instanceof DuplexClientError && error.code === 'CONFLICT';
      if (controller.signal.aborted || ended) {
        controller.abort();
        log(`stopped replying to ${question.authorName}: ${ended ? error.message : 'cancelled'}`);
        return;
      }
      log(`reply failed: ${messageOf(error)}`);
      if (!reply) return;
      // The server's sweep ends it as interrupted if this fails too; say so rather than hide it.
      await client.chat.finishStream
        .mutate({ messageId: reply.id, state: 'failed' }, idempotent)
        .catch((cause: unknown) => log(`could not mark the reply failed: ${messageOf(cause)}`));
    } finally {
      if (reply) producing.delete(reply.id);
      answering.delete(question.id);
    }
  };

  /** Appends one chunk; over the chunk rate limit, waits and tries the same chunk again. */
  const appendChunk = async (messageId: string, seq: number, text: string) => {
    for (;;) {
      try {
        return await client.chat.appendStream.mutate({ messageId, seq, text }, idempotent);
      } catch (error) {
        if (!(error instanceof DuplexClientError) || error.code !== 'RATE_LIMITED') throw error;
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    }
  };

  /** After a gap: recent questions again; replies that exist already make them no-ops. */
  const catchUp = async (roomId: string) => {
    const recent = await client.chat.history.query({ roomId, limit: 50 });
    for (const m of recent.reverse())
      if (m.authorId !== me.id && !m.stream && addressed(m)) void answer(m);
  };

  const followed = new Map<string, { unsubscribe(): void }>();
  const follow = (roomId: string) => {
    if (followed.has(roomId)) return;
    const subscription = client.chat.onEvent.subscribe(
      { roomId },
      {
        onData: ({ data }) => {
          if (isGap(data)) {
            void catchUp(roomId).catch((cause: unknown) =>
              log(`could not catch up with ${roomId}: ${messageOf(cause)}`),
            );
          } else if (data.type === 'message.created') {
            const m = data.message;
            if (m.authorId !== me.id && !m.stream && addressed(m)) void answer(m);
          } else if (data.type === 'message.streamEnded') {
            if (data.message.stream?.state === 'cancelled') producing.get(data.message.id)?.abort();
          } else if (data.type === 'member.left' && data.userId === me.id) {
            followed.get(roomId)?.unsubscribe();
            followed.delete(roomId);
          }
        },
        onError: (error) => {
          followed.delete(roomId);
          log(`left ${roomId}: ${error.message}`);
        },
      },
    );
    followed.set(roomId, subscription);
  };

  const scanRooms = async () => {
    const { mine, discover } = await client.chat.rooms.query();
    for (const { room } of mine) follow(room.id);
    for (const room of discover) {
      await client.chat.joinRoom.mutate({ roomId: room.id });
      log(`joined ${room.name}`);
      follow(room.id);
    }
  };
  await scanRooms();
  const scanTimer = setInterval(
    () => void scanRooms().catch((e: unknown) => log(`room scan failed: ${String(e)}`)),
    opts.roomScanMs ?? 10_000,
  );

  // Invitations to private rooms arrive as notifications.
  const invites = client.notifications.onNotification.subscribe(
    {},
    {
      onData: ({ data }) => {
        if (isGap(data) || data.type !== 'notification.created') return;
        const roomId = /^\/#room=(.+)$/.exec(data.notification.link ?? '')?.[1];
        if (data.notification.category !== 'chat.invite' || !roomId) return;
        void client.chat.joinRoom
          .mutate({ roomId })
          .then(() => follow(roomId))
          .catch((e: unknown) => log(`could not join ${roomId}: ${String(e)}`));
      },
    },
  );

  return {
    client,
    me,
    /** Replies finished by this run. */
    get answered() {
      return answered;
    },
    async close() {
      clearInterval(scanTimer);
      for (const controller of producing.values()) controller.abort();
      invites.unsubscribe();
      for (const s of followed.values()) s.unsubscribe();
      fileStore?.flush();
      await client.$close();
    },
  };
}

/** An error's message, for the log. */
function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
