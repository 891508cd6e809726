import type { DuplexStatus } from '@duplex/client';
import { useContext, useSyncExternalStore } from 'react';
import { serverStatus } from './clientHolder';
import { StatusContext } from './statusContext';

const getServerStatus = (): DuplexStatus => serverStatus;

/**
 * The connection status of the nearest `DuplexProvider`'s client: `connecting`, `open` (with its
 * transport), `reconnecting` (with the attempt, the next retry's time and the lost socket's close
 * code), `offline`, `unauthorized` or `closed`. Re-renders on every change. Server rendering
 * sees `connecting`.
 * @example
 * ```tsx
 * const status = useConnectionStatus();
 * if (status.state === 'reconnecting') return <Banner retryAt={status.nextRetryAt} />;
 * ```
 */
export function useConnectionStatus(): DuplexStatus {
  const store = useContext(StatusContext);
  if (!store) throw new Error('useConnectionStatus() must be used inside a DuplexProvider');
  return useSyncExternalStore(store.subscribe, store.get, getServerStatus);
}
