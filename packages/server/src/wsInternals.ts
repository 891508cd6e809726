import { createRequire } from 'node:module';
import type { Writable } from 'node:stream';
import type { WebSocket } from 'ws';
import * as ws from 'ws';
import { backgroundError, type DuplexErrorReport } from './errorReport';
import { inVersionRange } from './versionRange';

/**
 * The one file that reads `ws`'s private fields. Everything else reaches `ws` through its
 * public API, and through this file only what {@link checkWsInternals} vouched for at startup.
 *
 * What is read, and why: a socket's TCP stream (`_socket`), to cork the frames of one turn of
 * the event loop into one `writev` (a `writev` per reply was a quarter of the server's CPU at
 * 64 calls in flight) and to write a fan-out frame encoded once for every subscriber; and its
 * sender's queue (`_sender._state`, `_sender._queue`), so such a frame is written only when
 * `ws` holds nothing of its own that it would have to follow.
 *
 * The fast path is taken only for `ws` versions in {@link wsInternalsRange} whose fields have
 * the expected shapes; otherwise, or with `DUPLEX_WS_INTERNALS=off` in the environment (the
 * switch if a `ws` release changes their meaning without their shape), every frame goes
 * through `socket.send`, uncorked. Both paths put the same bytes on the wire in the same order.
 */

/**
 * The `ws` versions whose internals the fast path relies on: from 8.23.0, the lowest version
 * `@duplex/server`'s dependency (`^8.23.0`) installs and the one tested here (the newest
 * published, as of 2026-11), so no untested older release takes the fast path (8.18 introduced
 * the sender's `_state`; 8.18-8.22 were never tested). A later 8.x is taken only if the startup
 * probe finds the same shapes; a 9.x falls back to the public API until it has been checked.
 */
export const wsInternalsRange = { min: [8, 23, 0], belowMajor: 9 } as const;

/** `ws`'s frame writer: exported by `ws` (`lib/sender.js`) but absent from `@types/ws`. */
interface SenderClass {
  new (socket: unknown): unknown;
  /** Splits a frame into its header and payload buffers (unmasked: `[header, data]`). */
  frame(data: Buffer, options: SenderFrameOptions): Buffer[];
}

/** The options of `Sender.frame` for an unmasked, uncompressed frame. */
export interface SenderFrameOptions {
  fin: boolean;
  opcode: number;
  mask: boolean;
  readOnly: boolean;
  rsv1: boolean;
}

const { Sender } = ws as unknown as { Sender: SenderClass };

/** What a socket's TCP stream offers the fast path. */
export type WsStream = Writable & { write(chunk: Buffer): boolean };

/** The fields of `ws`'s `Sender` the fast path reads. */
interface SenderFields {
  _state: number;
  _queue: unknown[];
}

/** A socket's TCP stream and the means to know when a raw write on it stays in order. */
export class WsWire {
  constructor(
    /** The socket's TCP stream. */
    readonly stream: WsStream,
    private readonly sender: SenderFields,
  ) {}

  /**
   * Whether `ws` holds nothing queued (no compression, no pending blob), so a frame written
   * onto {@link stream} lands right after everything sent before it.
   */
  idle(): boolean {
    return this.sender._state === 0 && this.sender._queue.length === 0;
  }
}

/** The verdict of {@link checkWsInternals}. */
export type WsInternalsCheck =
  | { ok: true; version: string }
  | { ok: false; version: string; reason: string };

/** What {@link checkWsInternals} inspects; the installed `ws` unless a test says otherwise. */
export interface WsInternalsProbe {
  version: string;
  /** `ws`'s `Sender`, constructed once on a stand-in socket and asked to frame one payload. */
  Sender: new (
    socket: unknown,
  ) => unknown;
  /** `process.env.DUPLEX_WS_INTERNALS`; `off` forces the public API. */
  setting?: string | undefined;
}

/**
 * Whether the fast path may run with this `ws`: its version is in {@link wsInternalsRange}
 * and a fresh `Sender` has an idle numeric `_state` and an empty `_queue` array. Runs once at
 * startup, on the installed `ws`.
 */
export function checkWsInternals(probe: WsInternalsProbe): WsInternalsCheck {
  const { version } = probe;
  if (probe.setting === 'off') return { ok: false, version, reason: 'DUPLEX_WS_INTERNALS=off' };
  if (!inVersionRange(version, wsInternalsRange))
    return { ok: false, version, reason: `ws ${version} is outside the tested range` };
  let sender: Partial<SenderFields>;
  try {
    sender = new probe.Sender({}) as Partial<SenderFields>;
  } catch (cause) {
    return { ok: false, version, reason: `new Sender() threw: ${String(cause)}` };
  }
  if (sender._state !== 0 || !Array.isArray(sender._queue) || sender._queue.length !== 0) {
    return { ok: false, version, reason: 'Sender has no idle _state and empty _queue' };
  }
  if (!framesAsExpected(probe.Sender)) {
    return { ok: false, version, reason: 'Sender.frame does not frame text as RFC 6455 says' };
  }
  return { ok: true, version };
}

const textFrameOptions: SenderFrameOptions = {
  fin: true,
  opcode: 0x1,
  mask: false,
  readOnly: false,
  rsv1: false,
};

/** Whether `Sender.frame` gives a 126-byte text payload its 4-byte header (RFC 6455 5.2). */
function framesAsExpected(sender: WsInternalsProbe['Sender']): boolean {
  const { frame } = sender as Partial<SenderClass>;
  if (typeof frame !== 'function') return false;
  try {
    const payload = Buffer.alloc(126, 0x61);
    const wire = Buffer.concat(frame(payload, textFrameOptions));
    return wire.length === 130 && wire.subarray(0, 4).equals(Buffer.from([0x81, 126, 0, 126]));
  } catch {
    return false;
  }
}

function installedWsVersion(): string {
  const pkg = createRequire(import.meta.url)('ws/package.json') as { version?: unknown };
  return typeof pkg.version === 'string' ? pkg.version : '0.0.0';
}

/** The check of the installed `ws`, made once when the server module loads. */
export const wsInternalsCheck: WsInternalsCheck = checkWsInternals({
  version: installedWsVersion(),
  Sender,
  setting: process.env.DUPLEX_WS_INTERNALS,
});

/** The `task` of the report {@link wsInternalsFallbackReport} makes. */
export const wsInternalsTask = 'server.wsInternals';

/**
 * What a Duplex server tells its `onError` once, as it is created, when the fast path is off
 * (`source: 'background'`, `task: 'server.wsInternals'`): every frame then goes through
 * `socket.send`, uncorked, which is correct and slower. A `ws` upgrade outside the tested range
 * shows up here rather than as a silent loss of throughput. `null` when the check passed.
 */
export function wsInternalsFallbackReport(
  check: WsInternalsCheck = wsInternalsCheck,
): DuplexErrorReport | null {
  if (check.ok) return null;
  const error = new Error(
    `ws ${check.version}: the fast path is off (${check.reason}); frames go through socket.send, uncorked`,
  );
  error.name = 'WsInternalsFallback';
  return backgroundError(wsInternalsTask, error);
}

const isStream = (value: unknown): value is WsStream => {
  const stream = value as Partial<WsStream> | null | undefined;
  return (
    typeof stream?.write === 'function' &&
    typeof stream.cork === 'function' &&
    typeof stream.uncork === 'function' &&
    typeof stream.writableLength === 'number'
  );
};

/**
 * A connected socket's wire, for the fast path; `null` when the startup check failed (`check`
 * is the installed `ws`'s unless a test passes another) or this socket lacks the fields, in
 * which case its frames go through `socket.send`. Called once per socket.
 */
export function wireOf(
  socket: WebSocket,
  check: WsInternalsCheck = wsInternalsCheck,
): WsWire | null {
  if (!check.ok) return null;
  const { _socket: stream, _sender: sender } = socket as unknown as {
    _socket?: unknown;
    _sender?: unknown;
  };
  if (!isStream(stream) || !(sender instanceof Sender)) return null;
  const fields = sender as unknown as Partial<SenderFields>;
  if (typeof fields._state !== 'number' || !Array.isArray(fields._queue)) return null;
  return new WsWire(stream, fields as SenderFields);
}

/**
 * `payload` as one unmasked text frame, header and payload in one buffer, framed by `ws`'s own
 * `Sender.frame`; `null` when the check failed, as the frame is then sent with `socket.send`.
 * Measured against a hand-written header (best of 7 runs on a loaded 2-core machine):
 * 2.1M/s against 3.5M/s at 100 B, 302k/s against 348k/s at 10 KB, equal at 100 KB. The 0.2 µs
 * it costs is paid once per event and envelope, not per delivery (~20 µs each), so `ws` frames.
 */
export function textFrameOf(
  payload: Buffer,
  check: WsInternalsCheck = wsInternalsCheck,
): Buffer | null {
  return check.ok ? Buffer.concat(Sender.frame(payload, textFrameOptions)) : null;
}

/**
 * Whether the peer's close frame already arrived (`_closeFrameReceived`): `ws` then calls
 * `close(code)` itself to answer it with the peer's code, which is no close of the server's.
 * `false` when the field is missing, so a `ws` without it over-counts rather than fails.
 */
export function peerClosedFirst(socket: WebSocket): boolean {
  return (socket as unknown as { _closeFrameReceived?: unknown })._closeFrameReceived === true;
}
