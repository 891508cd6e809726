import { DuplexClientError, type DuplexStatus } from '@duplex/client';
import { useEffect, useState, useSyncExternalStore } from 'react';

/** `Date.now()`, re-rendering every `everyMs`: for "how long ago" on screen. */
export function useNow(everyMs = 1000): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), everyMs);
    return () => clearInterval(timer);
  }, [everyMs]);
  return now;
}

import type { ConnectionsFrame } from '../adminTypes';
import type { AdminClient } from './adminClient';
import { type ConnectionCalls, nextConnectionCalls, type Sample } from './derive';

/** How far back the charts reach. */
export const windowMs = 5 * 60_000;

/** The client's connection status, re-rendering on each change. */
export function useStatus({ client }: AdminClient): DuplexStatus {
  return useSyncExternalStore(
    (onChange) => client.$status.subscribe(onChange),
    () => client.$status.get(),
  );
}

/** What `admin.overview` has told the page. */
export interface OverviewState {
  /** The window's samples, oldest first. */
  samples: Sample[];
  reportIntervalMs: number;
  /** The subscription's last error, cleared by the next frame. */
  error: string | null;
  /** The server stopped taking the operator (`authorize` refused mid-stream). */
  forbidden: boolean;
  /** `Date.now()` when the last frame came, or `null` before the first. */
  receivedAt: number | null;
}

/**
 * Follows `admin.overview`. A frame carrying `history` (the first after each (re)subscribe, so
 * also after a server restart) replaces the window; the others are appended to it.
 */
export function useOverview({ api }: AdminClient): OverviewState {
  const [state, setState] = useState<OverviewState>({
    samples: [],
    reportIntervalMs: 2000,
    error: null,
    forbidden: false,
    receivedAt: null,
  });
  useEffect(() => {
    const sub = api.overview.subscribe(undefined, {
      onData: (frame) =>
        setState((prev) => {
          const now: Sample = { at: frame.at, nodes: frame.nodes, presence: frame.presence ?? [] };
          const base =
            frame.history.length > 0
              ? frame.history.filter((h) => h.at < frame.at)
              : prev.samples.filter((s) => s.at < frame.at);
          const samples = [...base, now].filter((s) => s.at > frame.at - windowMs);
          return {
            samples,
            reportIntervalMs: frame.reportIntervalMs,
            error: null,
            forbidden: false,
            receivedAt: Date.now(),
          };
        }),
      onError: (err) =>
        setState((prev) => ({
          ...prev,
          error: err.message,
          forbidden: err instanceof DuplexClientError && err.code === 'FORBIDDEN',
        })),
    });
    return () => sub.unsubscribe();
  }, [api]);
  return state;
}

/** What `admin.connections` has told the page, with each connection's calls/s. */
export interface ConnectionsState {
  frame: ConnectionsFrame | null;
  /** By connection id, from the frames so far ({@link nextConnectionCalls}). */
  calls: ReadonlyMap<string, ConnectionCalls>;
  error: string | null;
}

/** Follows `admin.connections` for one user or everyone; resubscribes when the filter changes. */
export function useConnections(
  { api }: AdminClient,
  userId: string,
  limit = 200,
): ConnectionsState {
  const [state, setState] = useState<ConnectionsState>({
    frame: null,
    calls: new Map(),
    error: null,
  });
  useEffect(() => {
    setState({ frame: null, calls: new Map(), error: null });
    const input = userId ? { userId, limit } : { limit };
    const sub = api.connections.subscribe(input, {
      onData: (frame) =>
        setState((prev) => ({
          frame,
          calls: nextConnectionCalls(prev.calls, frame),
          error: null,
        })),
      onError: (err) => setState((prev) => ({ ...prev, error: err.message })),
    });
    return () => sub.unsubscribe();
  }, [api, userId, limit]);
  return state;
}
