import { type AnyRouter, isTrackedEnvelope, transformTRPCResponse } from '@trpc/server';
import type { TRPCResponseMessage } from '@trpc/server/rpc';
import { superjsonFastPathOf } from './superjsonFastPath';
import { textFrameOf } from './wsInternals';

/** Options of {@link createFrameEncoder}. */
export interface FrameEncoderOptions {
  /**
   * Published events whose encoded payload is kept for the next subscriber to receive them.
   * A fan-out delivers one event to every subscriber within a few ticks, so a short memory is
   * enough; it is bounded so replays of old events cannot grow it.
   * @default 512
   */
  cachedEvents?: number;
  /**
   * Distinct envelopes (subscription ids) kept per cached event as ready-to-send frames.
   * Clients of one app tend to pick the same subscription ids, so most subscribers share one.
   * @default 8
   */
  framesPerEvent?: number;
  /**
   * Bytes the cache may hold in all, payloads and frames counted: the oldest events go first,
   * and an event or a frame bigger than this is sent without being kept. Bounds the cache
   * whatever the size of events and envelopes.
   * @default 8_388_608 (8 MiB)
   */
  cachedBytes?: number;
}

/** Defaults of {@link FrameEncoderOptions}. */
export const frameEncoderDefaults = {
  cachedEvents: 512,
  framesPerEvent: 8,
  cachedBytes: 8_388_608,
} satisfies Required<FrameEncoderOptions>;

/**
 * A text frame encoded once with its WebSocket header: server frames are unmasked, so the same
 * bytes go to every socket that receives it.
 */
export class WireFrame {
  /**
   * The whole frame (header and payload), as `ws` frames it; `null` when the startup check of
   * `ws`'s internals failed, as the payload then goes out through `socket.send`.
   */
  readonly wire: Buffer | null;

  constructor(readonly payload: Buffer) {
    this.wire = textFrameOf(payload);
  }
}

/** A frame ready to send: a string, or an encoded text frame shared between sockets. */
export type Frame = string | WireFrame;

/** Encodes responses exactly as the stock tRPC handler does, sharing work across subscribers. */
export interface FrameEncoder {
  /** Any response, as `JSON.stringify(transformTRPCResponse(config, message))`. */
  message(message: TRPCResponseMessage): string;
  /**
   * A call's result, as `message({ id, jsonrpc, result: { type: 'data', data } })` gives it but
   * without the copies `transformTRPCResponse` makes of the response and its `result`: the data
   * is serialized once and set in its envelope.
   */
  result(id: number | string, jsonrpc: '2.0' | undefined, data: unknown): string;
  /** The envelope of one subscription's `data` frames, built once per subscription. */
  envelope(id: number | string, jsonrpc: '2.0' | undefined): FrameEnvelope;
  /** A subscription `data` frame for a yielded item (tracked or not). */
  data(envelope: FrameEnvelope, value: unknown): Frame;
  /** The frame of `tracked(eventId, data)`, without building the envelope array. */
  event(envelope: FrameEnvelope, eventId: string, data: unknown): Frame;
  /** Events served from the cache / encoded, since creation; `bytes` the cache holds now. */
  readonly stats: { hits: number; misses: number; readonly bytes: number };
}

/** What a subscription's `data` frames start with; see {@link FrameEncoder.envelope}. */
export interface FrameEnvelope {
  readonly id: number | string;
  readonly jsonrpc: '2.0' | undefined;
  /** `{"id":<id>,"result":{"type":"data","data":` */
  readonly head: string;
}

interface CachedEvent {
  eventId: string;
  /** `JSON.stringify(transformer.output.serialize({ id, data }))`; `null` once evicted. */
  payload: string | null;
  frames: Map<string, WireFrame>;
  /** What this entry holds, as counted against `cachedBytes`. */
  bytes: number;
  /** The frame most recently asked for (one of `frames`), checked before `frames`. */
  lastHead: string | null;
  lastFrame: WireFrame | null;
}

/** A cached event that still holds its encoded payload. */
type LiveEvent = CachedEvent & { payload: string };

/**
 * Encodes tRPC response frames for one router. A tracked event's payload is serialized once
 * (superjson + `JSON.stringify`) and cached by the identity of its data object: a broker hands
 * the same object to every local subscriber of a channel, so N subscribers cost one
 * serialization, and those sharing a subscription id share one prebuilt frame. Only the
 * envelope differs, built by concatenation in the byte order the stock handler produces
 * (`{"id","result":{"type","data","id"}}`), so both handlers put identical bytes on the wire.
 * The cache holds its keys weakly, so it keeps no event alive: one nothing else holds (a
 * generator's, an ephemeral broker event) is freed once sent, and only the newest
 * `cachedEvents` entries keep their encoded frames, within `cachedBytes` in all.
 * Cached data must not be mutated after it is yielded, which broker events never are.
 */
export function createFrameEncoder(
  router: AnyRouter,
  opts: FrameEncoderOptions = {},
): FrameEncoder {
  const { cachedEvents, framesPerEvent, cachedBytes } = { ...frameEncoderDefaults, ...opts };
  const config = router._def._config;
  const cache = new WeakMap<object, CachedEvent>();
  /** The entries holding encoded frames, oldest first; older ones are evicted. */
  const recent = new Set<CachedEvent>();
  let bytes = 0;
  const stats = {
    hits: 0,
    misses: 0,
    get bytes() {
      return bytes;
    },
  };

  const message = (msg: TRPCResponseMessage) => JSON.stringify(transformTRPCResponse(config, msg));
  const { output } = config.transformer;
  const fastPath = superjsonFastPathOf(output);

  /**
   * `JSON.stringify(transformer.output.serialize(data))`: written directly when superjson would
   * write plain JSON as itself (~4 µs saved on a 100 B result). `undefined` when it serializes
   * to nothing (`undefined` without a transformer).
   */
  const payloadOf = (data: unknown): string | undefined =>
    fastPath?.isPlain(data)
      ? fastPath.stringifyPlain(data)
      : JSON.stringify(output.serialize(data));

  /** The payload of `tracked(eventId, data)`: what `payloadOf({ id: eventId, data })` gives. */
  const eventPayloadOf = (eventId: string, data: unknown): string =>
    fastPath?.isPlain(data)
      ? `{"json":{"id":${JSON.stringify(eventId)},"data":${JSON.stringify(data)}}}`
      : JSON.stringify(output.serialize({ id: eventId, data }));

  const headOf = (id: number | string, jsonrpc: '2.0' | undefined) =>
    `{"id":${JSON.stringify(id)}${jsonrpc ? ',"jsonrpc":"2.0"' : ''},"result":{"type":"data","data":`;

  /** A `data` result under `head` (its envelope, see {@link FrameEncoder.envelope}). */
  const resultUnder = (envelope: FrameEnvelope, data: unknown): string => {
    const json = payloadOf(data);
    const { id, jsonrpc, head } = envelope;
    // Serialized to nothing (`undefined` without a transformer): the key is left out, as
    // JSON.stringify leaves it out of the whole response.
    if (json === undefined) return message({ id, jsonrpc, result: { type: 'data', data } });
    return `${head}${json}}}`;
  };

  const evict = (entry: CachedEvent) => {
    // Its key may live on (in a broker's log): only what it cost here is dropped.
    recent.delete(entry);
    bytes -= entry.bytes;
    entry.bytes = 0;
    entry.payload = null;
    entry.frames.clear();
    entry.lastHead = null;
    entry.lastFrame = null;
  };

  /** Evicts the oldest entries but `keep` until `size` more bytes fit; false if they cannot. */
  const makeRoom = (size: number, keep: CachedEvent | null): boolean => {
    if (size > cachedBytes) return false;
    for (const entry of recent) {
      if (bytes + size <= cachedBytes) break;
      if (entry !== keep) evict(entry);
    }
    return bytes + size <= cachedBytes;
  };

  const encodeEvent = (key: object, eventId: string, data: unknown): LiveEvent => {
    const cached = cache.get(key);
    if (cached?.payload != null && cached.eventId === eventId) {
      stats.hits++;
      return cached as LiveEvent;
    }
    stats.misses++;
    const payload = eventPayloadOf(eventId, data);
    const entry: LiveEvent = {
      eventId,
      payload,
      frames: new Map(),
      bytes: payload.length,
      lastHead: null,
      lastFrame: null,
    };
    if (recent.size >= cachedEvents) {
      const oldest = recent.values().next().value;
      if (oldest) evict(oldest);
    }
    // Too big to keep: sent once, encoded again for the next subscriber.
    if (!makeRoom(entry.bytes, null)) return entry;
    cache.set(key, entry);
    recent.add(entry);
    bytes += entry.bytes;
    return entry;
  };

  const event: FrameEncoder['event'] = ({ head }, eventId, data) => {
    if (typeof data !== 'object' || data === null) {
      return `${head}${eventPayloadOf(eventId, data)},"id":${JSON.stringify(eventId)}}}`;
    }
    const entry = encodeEvent(data, eventId, data);
    if (entry.lastHead === head && entry.lastFrame) return entry.lastFrame;
    let frame = entry.frames.get(head);
    if (!frame) {
      frame = new WireFrame(
        Buffer.from(`${head}${entry.payload},"id":${JSON.stringify(eventId)}}}`),
      );
      const size = (frame.wire ?? frame.payload).length;
      if (recent.has(entry) && entry.frames.size < framesPerEvent && makeRoom(size, entry)) {
        entry.frames.set(head, frame);
        entry.bytes += size;
        bytes += size;
      } else {
        return frame;
      }
    }
    entry.lastHead = head;
    entry.lastFrame = frame;
    return frame;
  };

  return {
    message,
    result: (id, jsonrpc, data) => resultUnder({ id, jsonrpc, head: headOf(id, jsonrpc) }, data),
    stats,
    envelope(id, jsonrpc) {
      return { id, jsonrpc, head: headOf(id, jsonrpc) };
    },
    data(envelope, value) {
      if (isTrackedEnvelope(value)) return event(envelope, value[0], value[1]);
      return resultUnder(envelope, value);
    },
    event,
  };
}
