import { useEffect, useId, useRef, useState } from 'react';
import { type AdminClient, readConfig } from './adminClient';
import { BrokerView } from './BrokerView';
import { ChannelsView } from './ChannelsView';
import { ConnectionsView } from './ConnectionsView';
import { pick, shortNode } from './derive';
import { OverviewView } from './OverviewView';
import { ProceduresView } from './ProceduresView';
import { type Operator, SignIn, tokenKey } from './SignIn';
import { useNow, useOverview, useStatus } from './useAdminFeeds';

const config = readConfig();

/** The page: the sign-in form until the server accepts the token, then the dashboard. */
export function App() {
  const [session, setSession] = useState<{ admin: AdminClient; me: Operator } | null>(null);
  const [message, setMessage] = useState<string | null>(null);
  if (!session) {
    return (
      <SignIn
        config={config}
        message={message}
        onSignedIn={(admin, me) => {
          setMessage(null);
          setSession({ admin, me });
        }}
      />
    );
  }
  const signOut = (why: string | null) => {
    sessionStorage.removeItem(tokenKey);
    void session.admin.client.$close();
    setMessage(why);
    setSession(null);
  };
  return <Dashboard admin={session.admin} me={session.me} onSignOut={signOut} />;
}

const tabs = [
  { id: 'overview', label: 'Overview' },
  { id: 'connections', label: 'Connections' },
  { id: 'channels', label: 'Channels' },
  { id: 'procedures', label: 'Procedures' },
  { id: 'broker', label: 'Broker' },
] as const;
type Tab = (typeof tabs)[number]['id'];

const fmtInterval = (ms: number) =>
  ms < 1000 ? `${ms} ms` : `${(ms / 1000).toLocaleString('en-US', { maximumFractionDigits: 1 })} s`;

const statusText: Record<string, string> = {
  connecting: 'Connecting',
  open: 'Live',
  reconnecting: 'Reconnecting',
  offline: 'Offline',
  unauthorized: 'Signed out',
  closed: 'Closed',
};

function Dashboard(props: {
  admin: AdminClient;
  me: Operator;
  onSignOut: (why: string | null) => void;
}) {
  const { admin, me, onSignOut } = props;
  const status = useStatus(admin);
  const overview = useOverview(admin);
  const now = useNow();
  // Frames come when reports do (at least every second while any node reports): none for
  // three intervals on an open connection means the reports are not getting through.
  const staleMs = Math.max(3 * overview.reportIntervalMs, 5_000);
  const silentForMs = overview.receivedAt === null ? 0 : now - overview.receivedAt;
  const [tab, setTab] = useState<Tab>('overview');
  const [nodeId, setNodeId] = useState<string | null>(null);
  const tabRefs = useRef<Record<string, HTMLButtonElement | null>>({});
  const nodeSelectId = useId();
  const last = overview.samples.at(-1);
  const liveNodes = last?.nodes ?? [];
  // A node that left (killed, restarted) is no longer offered; the view falls back to all.
  const selected = nodeId !== null && liveNodes.some((n) => n.nodeId === nodeId) ? nodeId : null;

  // On a phone the tab bar scrolls sideways: the chosen tab is brought wholly into view.
  useEffect(() => {
    tabRefs.current[tab]?.scrollIntoView({ block: 'nearest', inline: 'nearest' });
  }, [tab]);

  useEffect(() => {
    if (status.state === 'unauthorized') onSignOut('The server no longer accepts this token.');
    else if (overview.forbidden)
      onSignOut('Access denied: this token no longer belongs to an operator.');
  }, [status.state, overview.forbidden, onSignOut]);

  const onTabKey = (e: React.KeyboardEvent, index: number) => {
    const step = e.key === 'ArrowRight' ? 1 : e.key === 'ArrowLeft' ? -1 : 0;
    if (!step && e.key !== 'Home' && e.key !== 'End') return;
    e.preventDefault();
    const next =
      e.key === 'Home'
        ? 0
        : e.key === 'End'
          ? tabs.length - 1
          : (index + step + tabs.length) % tabs.length;
    const id = tabs[next]!.id;
    setTab(id);
    tabRefs.current[id]?.focus();
  };

  return (
    <div className="shell">
      <header className="topbar">
        <div className="brand">
          <div className="logo small" aria-hidden="true">
            D
          </div>
          <h1>Duplex Admin</h1>
        </div>
        <span className="conn" data-state={status.state} role="status">
          {statusText[status.state] ?? status.state}
        </span>
        <div className="topbar-end">
          <label className="node-select" htmlFor={nodeSelectId}>
            <span className="sr-only">Node</span>
            <select
              id={nodeSelectId}
              value={selected ?? ''}
              onChange={(e) => setNodeId(e.target.value || null)}
            >
              <option value="">All nodes ({liveNodes.length})</option>
              {liveNodes.map((n) => (
                <option key={n.nodeId} value={n.nodeId}>
                  {shortNode(n.nodeId)}
                </option>
              ))}
            </select>
          </label>
          <span
            className="me"
            title={`Signed in as ${me.userId}, served by ${me.nodeId ?? 'an unattached admin'}`}
          >
            {me.userId}
          </span>
          <button type="button" className="small" onClick={() => onSignOut(null)}>
            Sign out
          </button>
        </div>
      </header>
      <div className="tabs" role="tablist" aria-label="Views">
        {tabs.map((t, i) => (
          <button
            key={t.id}
            ref={(el) => {
              tabRefs.current[t.id] = el;
            }}
            type="button"
            role="tab"
            id={`tab-${t.id}`}
            aria-selected={tab === t.id}
            aria-controls={`panel-${t.id}`}
            tabIndex={tab === t.id ? 0 : -1}
            onClick={() => setTab(t.id)}
            onKeyDown={(e) => onTabKey(e, i)}
          >
            {t.label}
          </button>
        ))}
      </div>
      {status.state !== 'open' && status.state !== 'connecting' && (
        <p className="banner" data-status={status.state} role="alert">
          {status.state === 'offline'
            ? 'You are offline. The figures resume when the network is back.'
            : 'Reconnecting to the server… the figures resume when it is back.'}
        </p>
      )}
      {status.state === 'open' && silentForMs > staleMs && (
        <p className="banner" data-status="stale" role="alert">
          No figures for {Math.round(silentForMs / 1000)} s: the nodes' reports are not arriving (is
          the broker down?). The figures shown are the last ones received.
        </p>
      )}
      {overview.error && (
        <p className="banner error" role="alert">
          {overview.error}
        </p>
      )}
      <main
        className="content"
        id={`panel-${tab}`}
        role="tabpanel"
        aria-labelledby={`tab-${tab}`}
        // biome-ignore lint/a11y/noNoninteractiveTabindex: the panel scrolls; a keyboard must reach it to scroll it (WAI-ARIA tabs pattern).
        tabIndex={0}
      >
        {tab === 'overview' && (
          <OverviewView
            samples={overview.samples}
            nodeId={selected}
            reportIntervalMs={overview.reportIntervalMs}
          />
        )}
        {tab === 'connections' && <ConnectionsView admin={admin} nodeId={selected} />}
        {tab === 'channels' && <ChannelsView samples={overview.samples} nodeId={selected} />}
        {tab === 'procedures' && <ProceduresView samples={overview.samples} nodeId={selected} />}
        {tab === 'broker' && <BrokerView samples={overview.samples} nodeId={selected} />}
        {last && (
          <p className="footnote muted">
            {pick(liveNodes, selected).length} of {liveNodes.length} node
            {liveNodes.length === 1 ? '' : 's'} · reports every{' '}
            {fmtInterval(overview.reportIntervalMs)} · last at{' '}
            {new Date(last.at).toLocaleTimeString('en-GB')}
          </p>
        )}
      </main>
    </div>
  );
}
