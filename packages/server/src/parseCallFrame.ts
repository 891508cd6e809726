import { type AnyRouter, TRPCError } from '@trpc/server';
import { parseConnectionParamsFromUnknown } from '@trpc/server/http';
import { parseTRPCMessage, type TRPCClientOutgoingMessage } from '@trpc/server/rpc';
import { superjsonFastPathOf } from './superjsonFastPath';

/** The words for a binary frame: Duplex speaks JSON in text frames only. */
export const binaryFrameMessage = 'Binary frames are not supported: send JSON in text frames';

/** Why a frame nested past `maxJsonDepth` is refused. */
export function tooDeepMessage(limits: { maxJsonDepth: number }): string {
  return `JSON nested deeper than ${limits.maxJsonDepth} levels`;
}

/** A frame's JSON, or `undefined` when it is not JSON (its calls then cannot be answered). */
export function parseFrame(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** What a client learns when its call's input cannot be deserialized; the cause stays here. */
export const undeserializableInputMessage = 'The call input could not be deserialized';

/** A request id a reply can carry: a number, or a string within `maxRequestIdLength`. */
export function isUsableId(id: unknown, maxRequestIdLength: number): id is number | string {
  return typeof id === 'number' || (typeof id === 'string' && id.length <= maxRequestIdLength);
}

/** One reply to a refused frame: to a call by its id, or `id: null` to the connection. */
export interface FrameRefusal {
  id: number | string | null;
  jsonrpc: '2.0' | undefined;
  error: TRPCError;
}

/** Every call in a frame, or the replies that refuse it as a whole. */
export type CallFrameResult =
  | { ok: true; calls: TRPCClientOutgoingMessage[] }
  | { ok: false; refusals: FrameRefusal[] };

type Transformer = ParseCallFrameOptions['transformer'];

/** Each router's transformer with its input errors replaced, made once (not once per frame). */
const safeTransformers = new WeakMap<Transformer, Transformer>();

/** `transformer`, with a failed input deserialization reported as a fixed message. */
function safeTransformerOf(transformer: Transformer): Transformer {
  let safe = safeTransformers.get(transformer);
  if (!safe) {
    const { input } = transformer;
    const fastPath = superjsonFastPathOf(input);
    const deserialize = (value: unknown) => input.deserialize(value);
    safe = {
      input: {
        serialize: input.serialize,
        deserialize(value: unknown) {
          try {
            // A plain input is read in place: the frame was just parsed, superjson's copy of it
            // (~1 µs per 100 B call) protects nothing.
            return fastPath ? fastPath.deserialize(value, deserialize) : input.deserialize(value);
          } catch {
            throw new Error(undeserializableInputMessage);
          }
        },
      },
      output: transformer.output,
    };
    safeTransformers.set(transformer, safe);
  }
  return safe;
}

/** Options of {@link parseCallFrame}. */
export interface ParseCallFrameOptions {
  transformer: AnyRouter['_def']['_config']['transformer'];
  /** `limits.maxRequestIdLength`. */
  maxRequestIdLength: number;
}

/**
 * Checks the messages of one JSON frame (a batch's elements, or the one message) as tRPC's
 * `parseTRPCMessage` does, and more: request ids are bounded, and a transformer error reaches
 * the client as a fixed message (superjson's name its internals and a GitHub URL). A frame with
 * any bad message runs none of its calls, as tRPC does; unlike tRPC, each call that has a usable
 * id is answered under it, so no caller waits forever. Both handlers use it, so they refuse alike.
 */
export function parseCallFrame(messages: unknown[], opts: ParseCallFrameOptions): CallFrameResult {
  const { maxRequestIdLength } = opts;
  const safeTransformer = safeTransformerOf(opts.transformer);
  const calls: TRPCClientOutgoingMessage[] = [];
  const errors: (TRPCError | null)[] = [];
  let failed = false;
  for (const msg of messages) {
    const id = (msg as { id?: unknown } | null)?.id;
    if (typeof id === 'string' && id.length > maxRequestIdLength) {
      errors.push(
        new TRPCError({
          code: 'BAD_REQUEST',
          message: `Request id longer than ${maxRequestIdLength} characters`,
        }),
      );
      failed = true;
      continue;
    }
    try {
      calls.push(parseTRPCMessage(msg, safeTransformer));
      errors.push(null);
    } catch (cause) {
      errors.push(new TRPCError({ code: 'PARSE_ERROR', cause }));
      failed = true;
    }
  }
  if (!failed) return { ok: true, calls };
  const refusals: FrameRefusal[] = [];
  let unanswered: TRPCError | null = null;
  for (let index = 0; index < messages.length; index++) {
    const { id, jsonrpc, method } = (messages[index] ?? {}) as Record<string, unknown>;
    const error = errors[index] ?? null;
    const usable = isUsableId(id, maxRequestIdLength) && method !== 'subscription.stop';
    if (!usable) {
      unanswered ??= error;
      continue;
    }
    refusals.push({
      id,
      jsonrpc: jsonrpc === '2.0' ? '2.0' : undefined,
      error:
        error ??
        new TRPCError({ code: 'PARSE_ERROR', message: 'Another call in this batch is malformed' }),
    });
  }
  if (unanswered) refusals.push({ id: null, jsonrpc: undefined, error: unanswered });
  return { ok: false, refusals };
}

/**
 * Reads the first frame of a `?connectionParams=1` socket (`null` for a binary frame) as the
 * stock handler does; throws a `PARSE_ERROR` `TRPCError` for a malformed one.
 */
export function parseConnectionParamsFrame(
  text: string | null,
): Record<string, string | undefined> | null {
  let msg: unknown;
  try {
    if (text === null) throw new Error(binaryFrameMessage);
    msg = JSON.parse(text);
    if (typeof msg !== 'object' || msg === null) throw new Error('Message was not an object');
  } catch (cause) {
    throw new TRPCError({
      code: 'PARSE_ERROR',
      message: 'Malformed TRPCConnectionParamsMessage',
      cause,
    });
  }
  return parseConnectionParamsFromUnknown((msg as { data?: unknown }).data);
}
