import type { ChatEvent, Member, Message, Room, RoomSummary } from '@duplex/chat';
import {
  createDuplexClient,
  type DuplexClient,
  type DuplexStatus,
  idempotent,
  isGap,
} from '@duplex/client';
import type { AppRouter } from '../server/router';
import { NotificationsModel } from './notificationsModel';

export interface RoomState {
  /** Loaded messages by id; `ordered()` sorts them oldest first. */
  messages: Map<string, Message>;
  hasOlder: boolean;
  /** Whether the newest history page has been loaded (live events may have arrived before). */
  historyLoaded: boolean;
  loadingOlder: boolean;
  members: Member[];
  online: { id: string; name: string }[];
  typing: Map<string, { name: string; expiresAt: number }>;
  /** user id → the newest message id they have read. */
  receipts: Map<string, string>;
}

const pageSize = 40;
const byId = (a: Message, b: Message) => Number(a.id) - Number(b.id);

/**
 * The chat page's state and its wiring to the typed client: one `chat.onEvent` subscription
 * per room the user is in, history pages, unread counts, typing, presence and receipts. Views
 * re-render on `subscribe`; nothing here knows about React.
 */
export class ChatModel {
  readonly client: DuplexClient<AppRouter>;
  readonly notifications: NotificationsModel;
  rooms: RoomSummary[] = [];
  discover: Room[] = [];
  activeRoomId: string | null = null;
  status: DuplexStatus;
  error: string | null = null;
  /** True for a moment after the connection comes back, for the "Back online" banner. */
  backOnline = false;
  private readonly roomStates = new Map<string, RoomState>();
  private readonly streams = new Map<string, { unsubscribe(): void }>();
  /** room id → when its stream last (re)started. */
  private readonly streamStartedAt = new Map<string, number>();
  private readonly listeners = new Set<() => void>();
  private version = 0;
  /** room id → when this user last sent a typing signal there. */
  private readonly typingSentAt = new Map<string, number>();
  private readonly disposers: (() => void)[] = [];
  private backOnlineTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    readonly me: { id: string; name: string },
    url: string,
  ) {
    this.client = createDuplexClient<AppRouter>({ url, token: () => encodeURIComponent(me.name) });
    this.notifications = new NotificationsModel(
      this.client,
      () => this.changed(),
      (error) => this.fail(error),
    );
    this.status = this.client.$status.get();
    this.disposers.push(this.client.$status.subscribe((status) => this.onStatus(status)));
    const typingTimer = setInterval(() => this.expireTyping(), 1_000);
    // Discover has no live feed: refresh it now and then, and whenever the page gets focus.
    const roomsTimer = setInterval(() => this.refreshRoomsQuietly(), 15_000);
    const onFocus = () => {
      this.markActiveRead();
      this.refreshRoomsQuietly();
    };
    window.addEventListener('focus', onFocus);
    this.disposers.push(
      () => clearInterval(typingTimer),
      () => clearInterval(roomsTimer),
      () => clearTimeout(this.backOnlineTimer),
      () => window.removeEventListener('focus', onFocus),
    );
  }

  /** Stops every timer, listener and stream, and closes the connection. */
  async dispose() {
    for (const dispose of this.disposers.splice(0)) dispose();
    this.notifications.stop();
    for (const stream of this.streams.values()) stream.unsubscribe();
    this.streams.clear();
    this.listeners.clear();
    await this.client.$close();
  }

  private onStatus(status: DuplexStatus) {
    const wasDown = this.status.state === 'reconnecting' || this.status.state === 'offline';
    this.status = status;
    clearTimeout(this.backOnlineTimer);
    this.backOnline = status.state === 'open' && wasDown;
    if (this.backOnline) {
      this.backOnlineTimer = setTimeout(() => {
        this.backOnline = false;
        this.changed();
      }, 2_500);
      // Unread counts and Discover may have changed while the connection was down.
      this.refreshRoomsQuietly();
    }
    this.changed();
  }

  subscribe = (listener: () => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };
  getVersion = () => this.version;
  private changed() {
    this.version++;
    for (const listener of this.listeners) listener();
  }

  room(roomId: string): RoomState {
    let state = this.roomStates.get(roomId);
    if (!state) {
      state = {
        messages: new Map(),
        hasOlder: true,
        historyLoaded: false,
        loadingOlder: false,
        members: [],
        online: [],
        typing: new Map(),
        receipts: new Map(),
      };
      this.roomStates.set(roomId, state);
    }
    return state;
  }
  ordered(roomId: string): Message[] {
    return [...this.room(roomId).messages.values()].sort(byId);
  }
  get activeRoom(): RoomSummary | undefined {
    return this.rooms.find((s) => s.room.id === this.activeRoomId);
  }

  async start() {
    this.notifications.start();
    await this.refreshRooms();
    const first = this.rooms[0]?.room.id;
    if (first) await this.openRoom(first);
  }

  async refreshRooms() {
    const { mine, discover } = await this.client.chat.rooms.query();
    this.rooms = mine;
    this.discover = discover;
    for (const { room } of mine) this.follow(room.id);
    this.changed();
  }

  private refreshRoomsQuietly() {
    if (this.status.state === 'open') this.refreshRooms().catch(() => {});
  }

  /** One resumable stream per room: after a reconnect it resumes; after a gap it refetches. */
  private follow(roomId: string) {
    if (this.streams.has(roomId)) return;
    const stream = this.client.chat.onEvent.subscribe(
      { roomId },
      {
        // A message sent while the stream was starting may be in neither the stream nor a
        // page loaded before: load the newest page again, merged by id.
        onStarted: () => {
          this.streamStartedAt.set(roomId, performance.now());
          if (this.room(roomId).historyLoaded) void this.mergeNewest(roomId);
        },
        onData: ({ data }) => {
          if (isGap(data)) void this.reload(roomId);
          else this.apply(roomId, data);
        },
        onError: (error) => {
          this.streams.delete(roomId);
          this.fail(error);
        },
      },
    );
    this.streams.set(roomId, stream);
  }

  private apply(roomId: string, event: ChatEvent) {
    const state = this.room(roomId);
    switch (event.type) {
      case 'message.created': {
        const isNew = !state.messages.has(event.message.id);
        state.messages.set(event.message.id, event.message);
        state.typing.delete(event.message.authorId);
        const summary = this.rooms.find((s) => s.room.id === roomId);
        if (summary) {
          summary.lastMessage = event.message;
          if (isNew && event.message.authorId !== this.me.id && !this.isReading(roomId))
            summary.unread++;
          this.rooms.sort((a, b) => activity(b) - activity(a));
        }
        if (this.isReading(roomId)) void this.markRead(roomId, event.message.id);
        break;
      }
      case 'message.delta': {
        // A delta the message already holds (from history, or replayed on resume) is skipped.
        const message = state.messages.get(event.messageId);
        if (!message?.stream || event.seq !== message.stream.chunks) break;
        state.messages.set(message.id, {
          ...message,
          text: (message.text ?? '') + event.text,
          stream: { ...message.stream, chunks: event.seq + 1 },
        });
        break;
      }
      case 'message.streamEnded':
      case 'message.edited':
      case 'message.deleted':
        if (state.messages.has(event.message.id))
          state.messages.set(event.message.id, event.message);
        break;
      case 'reaction': {
        const message = state.messages.get(event.messageId);
        if (!message) break;
        const users = message.reactions[event.emoji] ?? [];
        const next = event.added
          ? [...new Set([...users, event.userId])]
          : users.filter((u) => u !== event.userId);
        const reactions = { ...message.reactions, [event.emoji]: next };
        if (next.length === 0) delete reactions[event.emoji];
        state.messages.set(message.id, { ...message, reactions });
        break;
      }
      case 'receipt':
        state.receipts.set(event.userId, event.messageId);
        break;
      case 'member.joined':
        state.members = [
          ...state.members.filter((m) => m.userId !== event.member.userId),
          event.member,
        ];
        break;
      case 'member.left':
        state.members = state.members.filter((m) => m.userId !== event.userId);
        if (event.userId === this.me.id) void this.refreshRooms();
        break;
      case 'typing':
        if (event.userId !== this.me.id)
          state.typing.set(event.userId, {
            name: event.name,
            expiresAt: event.expiresAt.getTime(),
          });
        break;
      case 'presence':
        state.online = event.online;
        break;
    }
    this.changed();
  }

  private isReading(roomId: string) {
    return (
      roomId === this.activeRoomId && document.visibilityState === 'visible' && document.hasFocus()
    );
  }

  async openRoom(roomId: string) {
    this.activeRoomId = roomId;
    this.changed();
    const state = this.room(roomId);
    if (!state.historyLoaded) await this.loadOlder(roomId);
    const members = await this.client.chat.members.query({ roomId });
    state.members = members;
    for (const m of members)
      if (m.lastReadMessageId) state.receipts.set(m.userId, m.lastReadMessageId);
    this.markActiveRead();
    this.changed();
  }

  async loadOlder(roomId: string) {
    const state = this.room(roomId);
    if (state.loadingOlder || !state.hasOlder) return;
    state.loadingOlder = true;
    this.changed();
    try {
      const oldest = this.ordered(roomId)[0]?.id;
      const sentAt = performance.now();
      const page = await this.client.chat.history.query({
        roomId,
        limit: pageSize,
        ...(oldest ? { before: oldest } : {}),
      });
      for (const message of page)
        if (!state.messages.has(message.id)) state.messages.set(message.id, message);
      state.hasOlder = page.length === pageSize;
      state.historyLoaded = true;
      // The stream started after this page was asked for: something may have fallen between.
      if (!oldest && (this.streamStartedAt.get(roomId) ?? -1) > sentAt)
        void this.mergeNewest(roomId);
    } catch (error) {
      this.fail(error);
    } finally {
      state.loadingOlder = false;
      this.changed();
    }
  }

  /** After a gap: the newest page again, merged by id, and fresh counts. */
  private async reload(roomId: string) {
    await this.mergeNewest(roomId);
    await this.refreshRooms();
  }

  /** The newest page, merged by id into what the room has. */
  private async mergeNewest(roomId: string) {
    try {
      const page = await this.client.chat.history.query({ roomId, limit: pageSize });
      const state = this.room(roomId);
      for (const message of page) {
        const known = state.messages.get(message.id);
        // A streamed reply the stream has taken further than this page stays as it is.
        if (!known?.stream || (message.stream?.chunks ?? 0) >= known.stream.chunks)
          state.messages.set(message.id, message);
      }
      this.changed();
    } catch {
      // The stream brings what happens next; an error here only leaves what was loaded.
    }
  }

  private markActiveRead() {
    const roomId = this.activeRoomId;
    const newest = roomId ? this.ordered(roomId).at(-1) : undefined;
    if (roomId && newest && this.isReading(roomId)) void this.markRead(roomId, newest.id);
  }

  private async markRead(roomId: string, messageId: string) {
    const summary = this.rooms.find((s) => s.room.id === roomId);
    if (summary) summary.unread = 0;
    this.room(roomId).receipts.set(this.me.id, messageId);
    this.changed();
    await this.client.chat.markRead.mutate({ roomId, messageId }).catch(() => {});
  }

  async send(roomId: string, text: string, files: File[]) {
    try {
      const attachments = await Promise.all(files.map((file) => this.upload(file)));
      await this.client.chat.send.mutate(
        {
          roomId,
          clientMsgId: crypto.randomUUID(),
          ...(text ? { text } : {}),
          ...(attachments.length ? { attachments } : {}),
        },
        idempotent,
      );
      this.error = null;
      // The next keystroke in this room announces typing again at once.
      this.typingSentAt.delete(roomId);
    } catch (error) {
      this.fail(error);
      throw error;
    }
  }

  private async upload(file: File): Promise<string> {
    const res = await fetch('/chat/attachments', {
      method: 'POST',
      headers: { authorization: `Bearer ${encodeURIComponent(this.me.name)}` },
      body: file,
    });
    if (res.status === 413) throw new Error('That image is too large (5 MB at most)');
    if (res.status === 415) throw new Error('Only PNG, JPEG, GIF and WebP images can be sent');
    if (!res.ok) throw new Error(`Upload failed (${res.status})`);
    return ((await res.json()) as { id: string }).id;
  }

  typing(roomId: string) {
    const now = Date.now();
    if (now - (this.typingSentAt.get(roomId) ?? 0) < 2_000) return;
    this.typingSentAt.set(roomId, now);
    void this.client.chat.typing.mutate({ roomId }).catch(() => {});
  }

  private expireTyping() {
    let expired = false;
    for (const state of this.roomStates.values()) {
      for (const [userId, t] of state.typing) {
        if (t.expiresAt <= Date.now()) {
          state.typing.delete(userId);
          expired = true;
        }
      }
    }
    if (expired) this.changed();
  }

  run = async (action: () => Promise<unknown>) => {
    try {
      await action();
      this.error = null;
    } catch (error) {
      this.fail(error);
    }
    this.changed();
  };

  private fail(error: unknown) {
    this.error = error instanceof Error ? error.message : String(error);
    this.changed();
  }

  async createRoom(name: string, visibility: 'public' | 'private') {
    const room = await this.client.chat.createRoom.mutate({ name, visibility });
    await this.refreshRooms();
    await this.openRoom(room.id);
  }

  /** Follows a notification's in-app link (`/#room=<id>`): opens the room, joining if need be. */
  async openLink(link: string) {
    const roomId = /^\/#room=(.+)$/.exec(link)?.[1];
    if (!roomId) {
      window.location.assign(link);
      return;
    }
    if (this.rooms.some((s) => s.room.id === roomId)) await this.openRoom(roomId);
    else await this.joinRoom(roomId);
  }

  async joinRoom(roomId: string) {
    await this.client.chat.joinRoom.mutate({ roomId });
    await this.refreshRooms();
    await this.openRoom(roomId);
  }
}

const activity = (s: RoomSummary) => (s.lastMessage ?? s.room).createdAt.getTime();
