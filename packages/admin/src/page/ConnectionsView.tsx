import type { DuplexConnectionInfo } from '@duplex/server';
import { useEffect, useRef, useState } from 'react';
import type { AdminClient } from './adminClient';
import { fmtAge, fmtBytes, fmtInt, fmtRate, shortNode } from './derive';
import { TableBox } from './TableBox';
import { useConnections } from './useAdminFeeds';

/** What an operator is about to do, waiting for their confirmation. */
type Pending =
  | { kind: 'connection'; connection: DuplexConnectionInfo }
  | { kind: 'user'; userId: string };

/** The live connections, filtered by user and node, with the operator's two actions. */
export function ConnectionsView({ admin, nodeId }: { admin: AdminClient; nodeId: string | null }) {
  const [typed, setTyped] = useState('');
  const [userId, setUserId] = useState('');
  // Each keystroke would resubscribe: wait for a pause in typing.
  useEffect(() => {
    const timer = setTimeout(() => setUserId(typed.trim()), 300);
    return () => clearTimeout(timer);
  }, [typed]);
  const { frame, calls, error } = useConnections(admin, userId);
  const [pending, setPending] = useState<Pending | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const rows = (frame?.connections ?? []).filter((c) => nodeId === null || c.nodeId === nodeId);
  const now = frame?.at ?? Date.now();

  const run = async (what: Pending) => {
    setPending(null);
    try {
      if (what.kind === 'connection') {
        await admin.api.disconnect.mutate({ connectionId: what.connection.id });
        setNotice(`Disconnect sent for connection ${what.connection.id}.`);
      } else {
        await admin.api.disconnectUser.mutate({ userId: what.userId });
        setNotice(`Disconnect sent for every connection of ${what.userId}.`);
      }
    } catch (err) {
      setNotice(`Could not disconnect: ${(err as Error).message}`);
    }
  };

  return (
    <section className="card" aria-labelledby="connections-title">
      <div className="card-head">
        <h2 id="connections-title" className="card-title">
          Connections{' '}
          <span className="muted" data-testid="connections-count">
            {frame ? `${fmtInt(rows.length)} shown of ${fmtInt(frame.total)}` : 'loading…'}
          </span>
        </h2>
        <label className="filter">
          <span>User</span>
          <input
            type="search"
            placeholder="Filter by user id"
            value={typed}
            onChange={(e) => setTyped(e.target.value)}
          />
        </label>
      </div>
      {notice && (
        <p className="notice" role="status">
          {notice}
        </p>
      )}
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      <TableBox label="Connections table">
        <table className="connections-table">
          <thead>
            <tr>
              <th scope="col">User</th>
              <th scope="col">Transport</th>
              <th scope="col">Node</th>
              <th scope="col">Address</th>
              <th scope="col">Age</th>
              <th scope="col" className="num">
                Subs
              </th>
              <th scope="col" className="num">
                Buffered
              </th>
              <th scope="col" className="num">
                Calls
              </th>
              <th scope="col" className="num">
                Calls/s
              </th>
              <th scope="col">
                <span className="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {rows.map((c) => (
              <tr key={c.id} data-connection={c.id} data-user={c.userId ?? ''}>
                <th scope="row">{c.userId ?? <span className="muted">anonymous</span>}</th>
                <td>{c.transport === 'websocket' ? 'WebSocket' : 'HTTP'}</td>
                <td title={c.nodeId}>{shortNode(c.nodeId)}</td>
                <td className="mono">{c.remoteAddress ?? '–'}</td>
                <td>{fmtAge(now - c.openedAt)}</td>
                <td className="num">{fmtInt(c.subscriptions)}</td>
                <td className="num">{fmtBytes(c.bufferedBytes)}</td>
                <td className="num">{fmtInt(c.calls)}</td>
                <td className="num" data-rate="calls">
                  {fmtRate(calls.get(c.id)?.rate ?? null)}
                </td>
                <td className="actions">
                  <button
                    type="button"
                    className="small danger"
                    aria-label={`Disconnect connection ${c.id} of ${c.userId ?? 'anonymous'}`}
                    onClick={() => setPending({ kind: 'connection', connection: c })}
                  >
                    Disconnect
                  </button>
                  {c.userId && (
                    <button
                      type="button"
                      className="small"
                      aria-label={`Disconnect user ${c.userId}`}
                      onClick={() => setPending({ kind: 'user', userId: c.userId! })}
                    >
                      Disconnect user
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        {frame && rows.length === 0 && <p className="empty">No connections match.</p>}
      </TableBox>
      {pending && (
        <Confirm
          pending={pending}
          onCancel={() => setPending(null)}
          onConfirm={() => run(pending)}
        />
      )}
    </section>
  );
}

/** A modal dialog asking the operator to confirm a disconnect (Escape cancels). */
function Confirm(props: { pending: Pending; onCancel: () => void; onConfirm: () => void }) {
  const { pending, onCancel, onConfirm } = props;
  const dialog = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    dialog.current?.showModal();
  }, []);
  const text =
    pending.kind === 'connection'
      ? `Close connection ${pending.connection.id} of ${pending.connection.userId ?? 'an anonymous user'}? The client will reconnect.`
      : `Close every connection of ${pending.userId}, on every node? Their clients will reconnect.`;
  return (
    <dialog ref={dialog} className="confirm" aria-labelledby="confirm-title" onClose={onCancel}>
      <h2 id="confirm-title">
        {pending.kind === 'connection' ? 'Disconnect this connection?' : 'Disconnect this user?'}
      </h2>
      <p>{text}</p>
      <div className="confirm-actions">
        <button type="button" className="small" onClick={onCancel}>
          Cancel
        </button>
        <button type="button" className="primary danger" onClick={onConfirm}>
          Disconnect
        </button>
      </div>
    </dialog>
  );
}
