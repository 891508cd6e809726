import { backgroundError } from '@duplex/server';
import { badRequest, conflict, forbidden } from './chatErrors';
import { type ChatKit, type ChatUser, roomChannel } from './chatKit';
import type { ChatLimits } from './chatLimits';
import type { ChatStore } from './chatStore';
import {
  appendStreamInput,
  finishStreamInput,
  type StreamState,
  startStreamInput,
} from './schemas';

/**
 * Ends streams whose producer went silent or ran too long. It runs while this node has streams
 * of its own, and once whenever a stream starts, so streams of a node that died are ended by
 * the next node that runs one. It publishes on the broker the router was created with: a
 * timer outlives the call that started it.
 */
class StreamSweeper {
  /** Streams this node started and has not seen end. */
  readonly active = new Set<string>();
  /** Runs {@link sweep} while {@link active} is not empty. */
  private timer: ReturnType<typeof setInterval> | undefined;

  constructor(
    private readonly opts: {
      store: ChatStore;
      limits: ChatLimits;
      /** Ends one stale stream as interrupted, and announces it. */
      endStream: (messageId: string) => Promise<unknown>;
      /** Where a failed sweep goes. */
      onError: (error: unknown) => void;
      /** Once aborted, no sweep runs again. */
      signal: AbortSignal | undefined;
    },
  ) {
    opts.signal?.addEventListener('abort', () => this.stop(), { once: true });
  }

  private stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Ends every stale stream, this node's or not. */
  async sweep(): Promise<void> {
    const { store, limits } = this.opts;
    const now = Date.now();
    const stale = await store.staleStreams({
      idleSince: new Date(now - limits.streamIdleTimeoutMs),
      startedBefore: new Date(now - limits.maxStreamDurationMs),
    });
    for (const id of stale) await this.opts.endStream(id);
    if (this.active.size === 0) this.stop();
  }

  /** {@link sweep}, with a failure reported to `onError` rather than thrown. */
  sweepReporting(): Promise<void> {
    return this.sweep().catch(this.opts.onError);
  }

  /** Keeps sweeping until `messageId`, started on this node, has ended. */
  watch(messageId: string): void {
    this.active.add(messageId);
    if (this.timer || this.opts.signal?.aborted) return;
    const { limits } = this.opts;
    const every = Math.min(limits.streamIdleTimeoutMs, limits.maxStreamDurationMs) / 4;
    this.timer = setInterval(
      () => void this.sweepReporting(),
      Math.max(50, Math.min(every, 5_000)),
    );
    this.timer.unref();
  }
}

/**
 * Streamed replies (an assistant's answer, chunk by chunk): `startStream`, `appendStream`,
 * `finishStream`, `cancelStream`, and the sweep that ends abandoned ones.
 */
export function createStreamProcedures<TUser extends ChatUser>(kit: ChatKit<TUser>) {
  const { store, broker, limits, announcer, procedure, memberProcedure, messageProcedure } = kit;
  const chunkLimiter = kit.createKeyedLimiter(
    limits.chunksPerSecond,
    limits.chunkBurst,
    `Too many chunks: at most ${limits.chunksPerSecond} per second per stream`,
  );

  /**
   * Ends a stream and tells the room, once: a stream that had ended already is announced now
   * only if no attempt did it before (the one that ended it failed to publish).
   */
  const endStream = async (
    messageId: string,
    state: Exclude<StreamState, 'streaming'>,
    endedBy: string | null,
  ) => {
    const result = await store.endStream(messageId, state);
    if (!result) throw badRequest('Not a streamed message');
    if (result.ended) sweeper.active.delete(messageId);
    await announcer.announce(broker, {
      ref: { messageId, type: 'message.streamEnded' },
      channel: roomChannel(result.message.roomId),
      event: { type: 'message.streamEnded', message: result.message, endedBy },
    });
    return result.message;
  };
  const sweeper = new StreamSweeper({
    store,
    limits,
    endStream: (id) => endStream(id, 'interrupted', null),
    onError: (error) => kit.report(backgroundError('chat.streamSweep', error)),
    signal: kit.signal,
  });

  return {
    startStream: memberProcedure.input(startStreamInput).mutation(async ({ ctx, input }) => {
      await kit.requireReplyTarget(input.roomId, input.replyTo);
      kit.takeSend(ctx.user.id);
      const { message, announced } = await store.appendMessage({
        roomId: input.roomId,
        authorId: ctx.user.id,
        authorName: ctx.member.name,
        clientMsgId: input.clientMsgId,
        text: '',
        attachmentIds: [],
        replyTo: input.replyTo ?? null,
        streaming: true,
      });
      if (!message.stream) throw badRequest('clientMsgId belongs to an ordinary message');
      // The stream is started whatever the sweep finds: its failure goes to `onError`.
      if (!announced && (await kit.announceCreated(message))) await sweeper.sweepReporting();
      if (message.stream.state === 'streaming') sweeper.watch(message.id);
      return message;
    }),

    appendStream: procedure.input(appendStreamInput).mutation(async ({ ctx, input }) => {
      chunkLimiter.take(`${ctx.user.id}\u0000${input.messageId}`);
      // The happy path is one statement; when it refuses, the message says why.
      const appended = await store.appendChunk({
        messageId: input.messageId,
        authorId: ctx.user.id,
        seq: input.seq,
        text: input.text,
        maxTextLength: limits.maxStreamTextLength,
        startedAfter: new Date(Date.now() - limits.maxStreamDurationMs),
      });
      if (appended) {
        await kit.publish(appended.roomId, {
          type: 'message.delta',
          messageId: input.messageId,
          seq: input.seq,
          text: input.text,
        });
        return { chunks: appended.chunks };
      }
      const { message } = await kit.requireMessage(input.messageId, ctx.user.id);
      if (message.authorId !== ctx.user.id) throw forbidden('Only the producer can append');
      const stream = message.stream;
      if (!stream) throw badRequest('Not a streamed message');
      // A retry of a chunk that is already in: the answer it would have had.
      if (input.seq < stream.chunks) return { chunks: stream.chunks };
      if (stream.state !== 'streaming') throw conflict(`The stream has ended: ${stream.state}`);
      if (input.seq > stream.chunks) throw conflict(`Chunk ${stream.chunks} comes first`);
      if (Date.now() - message.createdAt.getTime() >= limits.maxStreamDurationMs) {
        await endStream(message.id, 'interrupted', null);
        throw conflict('The stream has ended: interrupted');
      }
      if ((message.text ?? '').length + input.text.length > limits.maxStreamTextLength) {
        throw badRequest(`Message too long: at most ${limits.maxStreamTextLength} characters`);
      }
      // Nothing refused it by now: it lost a race (an end, a delete); the caller tries again.
      throw conflict('The stream changed; send the chunk again');
    }),

    finishStream: messageProcedure.input(finishStreamInput).mutation(async ({ ctx, input }) => {
      const { message } = ctx;
      if (message.authorId !== ctx.user.id) throw forbidden('Only the producer can finish');
      return endStream(message.id, input.state, ctx.user.id);
    }),

    cancelStream: messageProcedure.mutation(async ({ ctx }) => {
      const { message, member } = ctx;
      const asker = message.replyTo ? (await store.getMessage(message.replyTo))?.authorId : null;
      if (message.authorId !== ctx.user.id && asker !== ctx.user.id && !kit.canModerate(member)) {
        throw forbidden('Only the asker, the producer or a moderator can cancel a stream');
      }
      return endStream(message.id, 'cancelled', ctx.user.id);
    }),
  };
}
