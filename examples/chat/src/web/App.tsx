import type { RoomSummary } from '@duplex/chat';
import type { DuplexStatus } from '@duplex/client';
import { useConnectionStatus } from '@duplex/react';
import { type RoomMessagesResult, useRoomMessages, useRooms } from '@duplex/react/chat';
import { useNotificationFeed, useUnreadCount } from '@duplex/react/notifications';
import {
  QueryClient,
  QueryClientProvider,
  useMutation,
  useQueryClient,
} from '@tanstack/react-query';
import { type ReactNode, useEffect, useMemo, useRef, useState } from 'react';
import { createClient, DuplexProvider, type Me, meOf, useTRPC, validName } from './client';
import { focusLater, focusOnMount, mobileQuery, useDismiss, useMediaQuery } from './dom';
import { AlertIcon, CheckIcon, SpinnerIcon, WifiOffIcon } from './icons';
import { NotificationPanel } from './NotificationCenter';
import { MenuButton, type MenuButtonProps, RoomView } from './RoomView';
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
  const valid = validName(value);
  return (
    <main className="signin">
      <form
        className="signin-card"
        onSubmit={(e) => {
          e.preventDefault();
          if (valid) onSignIn(meOf(value).name);
        }}
      >
        <div className="logo" aria-hidden="true">
          D
        </div>
        <h1>Duplex Chat</h1>
        <p className="signin-lead">Pick a display name to join.</p>
        <label htmlFor="signin-name" className="field-label">
          Display name
        </label>
        <input
          id="signin-name"
          ref={focusOnMount}
          placeholder="e.g. Ada Lovelace"
          value={value}
          maxLength={32}
          autoComplete="nickname"
          onChange={(e) => setValue(e.target.value)}
        />
        <button type="submit" className="primary" disabled={!valid}>
          Join
        </button>
        <p className="dev-note">Development sign-in: no password, the name is trusted as given.</p>
      </form>
    </main>
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
  const unreadNotifications = useUnreadCount(trpc.notifications);
  const [chosenRoomId, setChosenRoomId] = useState<string | null>(null);
  const [panelOpen, setPanelOpen] = useState(false);
  const reading = usePageReading();
  const active = rooms.mine.find((s) => s.room.id === chosenRoomId) ?? rooms.mine[0];
  // The room shown stays shown: the list reorders as messages arrive, and its first room (the
  // default until the user picks one) would otherwise change under the user.
  const activeId = active?.room.id ?? null;
  useEffect(() => {
    if (chosenRoomId === null && activeId) setChosenRoomId(activeId);
  }, [activeId, chosenRoomId]);
  useReportError(report, rooms.error ?? feed.error);

  // On a phone the sidebar is a drawer, opened from the room header's menu button.
  const mobile = useMediaQuery(mobileQuery);
  const [drawerOpen, setDrawerOpen] = useState(false);
  const drawerShown = mobile && drawerOpen;
  const drawerRef = useRef<HTMLDivElement>(null);
  const menuRef = useRef<HTMLButtonElement>(null);
  const bellRef = useRef<HTMLButtonElement>(null);
  const closeDrawer = () => {
    setDrawerOpen(false);
    focusLater(() => menuRef.current);
  };
  useDismiss(drawerRef, drawerShown, closeDrawer, '.notif-panel, .menu-button');
  useEffect(() => {
    if (!drawerShown) return;
    const panel = drawerRef.current;
    focusLater(() => panel?.querySelector<HTMLElement>('.room.active') ?? panel);
  }, [drawerShown]);
  useEffect(() => {
    if (!mobile) setDrawerOpen(false);
  }, [mobile]);

  const joinRoom = useMutation(trpc.chat.joinRoom.mutationOptions());
  const createRoom = useMutation(trpc.chat.createRoom.mutationOptions());
  /** Shows a room: in the drawer's case, the drawer closes and the focus goes back to its button. */
  const show = (roomId: string) => {
    setChosenRoomId(roomId);
    if (drawerOpen) closeDrawer();
  };
  /** Opens a room once the rooms list holds it. */
  const open = async (roomId: string) => {
    await queryClient.invalidateQueries({ queryKey: trpc.chat.rooms.queryKey() });
    show(roomId);
  };
  const actions = {
    openRoom: show,
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
      if (rooms.mine.some((s) => s.room.id === roomId)) show(roomId);
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
  const closePanel = (how: 'escape' | 'outside' | 'button' | 'link') => {
    setPanelOpen(false);
    if (how === 'escape' || how === 'button') focusLater(() => bellRef.current);
    // A press outside that lands on nothing focusable leaves the focus nowhere: back to the bell.
    if (how === 'outside')
      setTimeout(() => {
        if (document.activeElement === document.body || !document.activeElement)
          bellRef.current?.focus();
      });
  };
  const otherUnread = rooms.mine.reduce((n, s) => (s === active ? n : n + s.unread), 0);
  const menu = mobile
    ? {
        ref: menuRef,
        open: () => setDrawerOpen(true),
        expanded: drawerOpen,
        attention: otherUnread + unreadNotifications,
      }
    : null;
  return (
    <ReportContext.Provider value={reporter}>
      <div className={mobile ? 'app mobile' : 'app'}>
        <Sidebar
          me={me}
          rooms={rooms}
          activeRoomId={active?.room.id ?? null}
          actions={actions}
          onSignOut={onSignOut}
          notificationsOpen={panelOpen}
          onToggleNotifications={togglePanel}
          bellRef={bellRef}
          drawer={mobile ? { open: drawerOpen, close: closeDrawer, panelRef: drawerRef } : null}
        />
        {mobile && <div className={drawerOpen ? 'backdrop open' : 'backdrop'} aria-hidden="true" />}
        <main className="main" inert={drawerShown}>
          <StatusBanner error={error} />
          {/* One stream per room, for unread counts; only the active one is shown. In a fixed
              order: were they in the list's (by activity), a message in another room would move
              the shown room's elements, which resets their scroll and drops the focus. */}
          {byId(rooms.mine).map((summary) => (
            <Room
              key={summary.room.id}
              me={me}
              roomId={summary.room.id}
              reading={reading && summary === active}
            >
              {(room) =>
                summary === active && <RoomView me={me} summary={summary} menu={menu} {...room} />
              }
            </Room>
          ))}
          {!active && <Empty menu={menu} />}
        </main>
        {panelOpen && (
          <NotificationPanel feed={feed} onOpenLink={actions.openLink} onClose={closePanel} />
        )}
      </div>
    </ReportContext.Provider>
  );
}

const byId = (rooms: RoomSummary[]) =>
  [...rooms].sort((a, b) => (a.room.id < b.room.id ? -1 : a.room.id > b.room.id ? 1 : 0));

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
  const banner =
    state === 'reconnecting' ? (
      <div className="banner warn" data-status="reconnecting">
        <SpinnerIcon size={16} /> Connection lost — reconnecting…
      </div>
    ) : state === 'offline' ? (
      <div className="banner warn" data-status="offline">
        <WifiOffIcon size={16} /> You are offline — waiting for the network…
      </div>
    ) : state === 'unauthorized' ? (
      <div className="banner error" data-status="unauthorized">
        <AlertIcon size={16} /> Signed out by the server.
      </div>
    ) : backOnline ? (
      <div className="banner ok" data-status="back-online">
        <CheckIcon size={16} /> Back online
      </div>
    ) : error ? (
      <div className="banner error" data-status="error">
        <AlertIcon size={16} /> {error}
      </div>
    ) : null;
  // Always in the page, so screen readers announce what appears in it; floats over the
  // messages (the layout never moves for it).
  return (
    <div className="banners" role="status">
      {banner}
    </div>
  );
}

/** What a signed-in user without rooms sees. */
function Empty({ menu }: { menu: MenuButtonProps | null }) {
  return (
    <section className="room-view" aria-label="No room">
      <header className="room-header">
        {menu && <MenuButton {...menu} />}
        <div className="room-title">
          <h1>Welcome</h1>
        </div>
      </header>
      <div className="empty">
        <p>
          {menu
            ? 'Open the menu to join or create a room.'
            : 'Create or join a room to start chatting.'}
        </p>
      </div>
    </section>
  );
}
