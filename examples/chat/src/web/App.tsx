import type { DuplexStatus } from '@duplex/client';
import { useConnectionStatus } from '@duplex/react';
import { type RoomMessagesResult, useRoomMessages, useRooms } from '@duplex/react/chat';
import { useNotificationFeed } from '@duplex/react/notifications';
import {
  QueryClient,
  QueryClientProvider,
  useMutation,
  useQueryClient,
} from '@tanstack/react-query';
import { type ReactNode, useEffect, useMemo, useRef, useState } from 'react';
import { createClient, DuplexProvider, type Me, meOf, useTRPC } from './client';
import { focusOnMount } from './dom';
import { NotificationPanel } from './NotificationCenter';
import { RoomView } from './RoomView';
import { ReportContext, useErrorBanner, useReportError, useReporter } from './report';
import { Sidebar } from './Sidebar';

const nameKey = 'duplex-chat:name';

export function App() {
  const [name, setName] = useState(() => localStorage.getItem(nameKey));
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
  return (
    <Session
      key={name}
      me={meOf(name)}
      onSignOut={() => {
        localStorage.removeItem(nameKey);
        setName(null);
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

/** One signed-in user: a query cache and a connection of their own, closed on sign-out. */
function Session({ me, onSignOut }: { me: Me; onSignOut: () => void }) {
  const [queryClient] = useState(() => new QueryClient());
  const [client] = useState(() => createClient(me));
  return (
    <QueryClientProvider client={queryClient}>
      <DuplexProvider queryClient={queryClient} client={client}>
        <ChatLayout me={me} onSignOut={onSignOut} />
      </DuplexProvider>
    </QueryClientProvider>
  );
}

function ChatLayout({ me, onSignOut }: { me: Me; onSignOut: () => void }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const { error, report, run } = useErrorBanner();
  const reporter = useMemo(() => ({ report, run }), [report, run]);
  const rooms = useRooms(trpc.chat);
  const feed = useNotificationFeed(trpc.notifications);
  const [chosenRoomId, setChosenRoomId] = useState<string | null>(null);
  const [panelOpen, setPanelOpen] = useState(false);
  const reading = usePageReading();
  const active = rooms.mine.find((s) => s.room.id === chosenRoomId) ?? rooms.mine[0];
  useReportError(report, rooms.error ?? feed.error);

  const joinRoom = useMutation(trpc.chat.joinRoom.mutationOptions());
  const createRoom = useMutation(trpc.chat.createRoom.mutationOptions());
  /** Opens a room once the rooms list holds it. */
  const open = async (roomId: string) => {
    await queryClient.invalidateQueries({ queryKey: trpc.chat.rooms.queryKey() });
    setChosenRoomId(roomId);
  };
  const actions = {
    openRoom: (roomId: string) => setChosenRoomId(roomId),
    joinRoom: (roomId: string) =>
      run(async () => {
        await joinRoom.mutateAsync({ roomId });
        await open(roomId);
      }),
    createRoom: (name: string, visibility: 'public' | 'private') =>
      run(async () => {
        const room = await createRoom.mutateAsync({ name, visibility });
        await open(room.id);
      }),
    /** Follows a notification's in-app link (`/#room=<id>`): opens the room, joining if need be. */
    openLink: async (link: string) => {
      const roomId = /^\/#room=(.+)$/.exec(link)?.[1];
      if (!roomId) {
        window.location.assign(link);
        return;
      }
      if (rooms.mine.some((s) => s.room.id === roomId)) setChosenRoomId(roomId);
      else {
        await joinRoom.mutateAsync({ roomId });
        await open(roomId);
      }
    },
  };

  const togglePanel = () => {
    // Opening shows what was stored without being pushed (muted, quiet hours) too.
    if (!panelOpen) feed.refresh();
    setPanelOpen(!panelOpen);
  };
  return (
    <ReportContext.Provider value={reporter}>
      <div className="layout">
        <Sidebar
          me={me}
          rooms={rooms}
          activeRoomId={active?.room.id ?? null}
          actions={actions}
          onSignOut={onSignOut}
          onToggleNotifications={togglePanel}
        />
        <main className="main">
          {panelOpen && (
            <NotificationPanel
              feed={feed}
              onOpenLink={actions.openLink}
              onClose={() => setPanelOpen(false)}
            />
          )}
          <StatusBanner error={error} />
          {/* One stream per room, for unread counts; only the active one is shown. */}
          {rooms.mine.map((summary) => (
            <Room
              key={summary.room.id}
              me={me}
              roomId={summary.room.id}
              reading={reading && summary === active}
            >
              {(room) => summary === active && <RoomView me={me} summary={summary} {...room} />}
            </Room>
          ))}
          {!active && <Empty />}
        </main>
      </div>
    </ReportContext.Provider>
  );
}

/** A room the user is in: its live messages, shown by `children` when it is the active one. */
function Room({
  me,
  roomId,
  reading,
  children,
}: {
  me: Me;
  roomId: string;
  reading: boolean;
  children: (room: RoomMessagesResult) => ReactNode;
}) {
  const trpc = useTRPC();
  const room = useRoomMessages(trpc.chat, roomId, { userId: me.id, reading });
  useReportError(useReporter().report, room.error);
  return children(room);
}

const pageIsRead = () => document.visibilityState === 'visible' && document.hasFocus();

/** Whether the user can see the page: visible and focused (then the open room counts as read). */
function usePageReading(): boolean {
  const [reading, setReading] = useState(pageIsRead);
  useEffect(() => {
    const update = () => setReading(pageIsRead());
    window.addEventListener('focus', update);
    window.addEventListener('blur', update);
    document.addEventListener('visibilitychange', update);
    return () => {
      window.removeEventListener('focus', update);
      window.removeEventListener('blur', update);
      document.removeEventListener('visibilitychange', update);
    };
  }, []);
  return reading;
}

/** True for a moment after the connection comes back, for the "Back online" banner. */
function useBackOnline(status: DuplexStatus): boolean {
  const [backOnline, setBackOnline] = useState(false);
  const wasDown = useRef(false);
  useEffect(() => {
    const down = status.state === 'reconnecting' || status.state === 'offline';
    if (status.state === 'open' && wasDown.current) {
      wasDown.current = false;
      setBackOnline(true);
      const timer = setTimeout(() => setBackOnline(false), 2_500);
      return () => clearTimeout(timer);
    }
    wasDown.current = down;
    setBackOnline(false);
  }, [status.state]);
  return backOnline;
}

function StatusBanner({ error }: { error: string | null }) {
  const status = useConnectionStatus();
  const backOnline = useBackOnline(status);
  const state = status.state;
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
  if (backOnline)
    return (
      <div className="banner ok" data-status="back-online">
        Back online
      </div>
    );
  return error ? (
    <div className="banner error" data-status="error">
      {error}
    </div>
  ) : null;
}

function Empty() {
  return <div className="empty">Create or join a room to start chatting.</div>;
}
