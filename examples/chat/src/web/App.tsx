import { useEffect, useState, useSyncExternalStore } from 'react';
import { ChatModel } from './chatModel';
import { focusOnMount } from './dom';
import { NotificationPanel } from './NotificationCenter';
import { RoomView } from './RoomView';
import { Sidebar } from './Sidebar';

const nameKey = 'duplex-chat:name';
const wsUrl = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/trpc`;

export function App() {
  const [name, setName] = useState(() => localStorage.getItem(nameKey));
  const [model, setModel] = useState<ChatModel | null>(null);

  useEffect(() => {
    if (!name) return;
    const next = new ChatModel({ id: name.toLowerCase().replace(/\s+/g, '-'), name }, wsUrl);
    Object.assign(window, { chatModel: next });
    setModel(next);
    void next.start();
    return () => void next.dispose();
  }, [name]);

  if (!name) {
    return (
      <SignIn
        onSignIn={(n) => {
          localStorage.setItem(nameKey, n);
          setName(n);
        }}
      />
    );
  }
  if (!model) return null;
  return (
    <ChatLayout
      model={model}
      onSignOut={() => {
        localStorage.removeItem(nameKey);
        setName(null);
        setModel(null);
      }}
    />
  );
}

function SignIn({ onSignIn }: { onSignIn: (name: string) => void }) {
  const [value, setValue] = useState('');
  const valid = /^[\p{L}\p{N} _.-]{1,32}$/u.test(value.trim());
  return (
    <div className="signin">
      <form
        className="signin-card"
        onSubmit={(e) => {
          e.preventDefault();
          if (valid) onSignIn(value.trim());
        }}
      >
        <h1>Duplex Chat</h1>
        <p className="muted">Pick a display name to join.</p>
        <input
          ref={focusOnMount}
          placeholder="Your name"
          value={value}
          maxLength={32}
          onChange={(e) => setValue(e.target.value)}
        />
        <button type="submit" disabled={!valid}>
          Join
        </button>
        <p className="dev-note">Development sign-in: no password, the name is trusted as given.</p>
      </form>
    </div>
  );
}

function ChatLayout({ model, onSignOut }: { model: ChatModel; onSignOut: () => void }) {
  useSyncExternalStore(model.subscribe, model.getVersion);
  const [panelOpen, setPanelOpen] = useState(false);
  const active = model.activeRoom;
  const togglePanel = () => {
    // Opening shows what was stored without being pushed (muted, quiet hours) too.
    if (!panelOpen) void model.notifications.refresh();
    setPanelOpen(!panelOpen);
  };
  return (
    <div className="layout">
      <Sidebar model={model} onSignOut={onSignOut} onToggleNotifications={togglePanel} />
      <main className="main">
        {panelOpen && <NotificationPanel model={model} onClose={() => setPanelOpen(false)} />}
        <StatusBanner model={model} />
        {active ? <RoomView key={active.room.id} model={model} summary={active} /> : <Empty />}
      </main>
    </div>
  );
}

function StatusBanner({ model }: { model: ChatModel }) {
  const state = model.status.state;
  if (state === 'reconnecting')
    return (
      <div className="banner warn" data-status="reconnecting">
        Connection lost — reconnecting…
      </div>
    );
  if (state === 'offline')
    return (
      <div className="banner warn" data-status="offline">
        You are offline — waiting for the network…
      </div>
    );
  if (state === 'unauthorized')
    return (
      <div className="banner error" data-status="unauthorized">
        Signed out by the server.
      </div>
    );
  if (model.backOnline)
    return (
      <div className="banner ok" data-status="back-online">
        Back online
      </div>
    );
  return model.error ? (
    <div className="banner error" data-status="error">
      {model.error}
    </div>
  ) : null;
}

function Empty() {
  return <div className="empty">Create or join a room to start chatting.</div>;
}
