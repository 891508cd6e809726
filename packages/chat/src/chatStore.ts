import type { ChatUser } from './chatKit';
import type { Member, Message, Role, Room, RoomSummary, StreamState, Visibility } from './schemas';

/** A message to store; the store assigns its id and time. */
export interface NewMessage {
  roomId: string;
  authorId: string;
  authorName: string;
  clientMsgId: string;
  text: string | null;
  attachmentIds: string[];
  replyTo: string | null;
  /** Starts the message as a stream: empty text, state `streaming`, no chunks. */
  streaming?: boolean;
}

/** An uploaded attachment's record, without its bytes. */
export interface StoredAttachment {
  id: string;
  ownerId: string;
  contentType: string;
  sizeBytes: number;
}

/**
 * Where a {@link createSqlChatStore} keeps attachment bytes when they should not live in the
 * database: {@link createFileBlobStore} (files on disk). Keys are the store's own.
 */
export interface ChatBlobStore {
  /** Stores `bytes` and returns their key; storing the same bytes again may return the same key. */
  put(bytes: Uint8Array): Promise<string>;
  /** The bytes under `key`, or `null` if there are none. */
  get(key: string): Promise<Uint8Array | null>;
  /** Removes `key`'s bytes; nothing happens if there are none. */
  delete(key: string): Promise<void>;
}

/**
 * The message events each announced at most once: a message's creation, its stream's end and
 * its deletion. Other events announce one change each, made by the call that publishes them.
 */
export type AnnouncedEventType = 'message.created' | 'message.streamEnded' | 'message.deleted';

/** One announcement: the event of `type` for one message. */
export interface AnnouncementRef {
  messageId: string;
  type: AnnouncedEventType;
}

/** What {@link ChatStore.claimAnnouncement} answers. */
export type AnnouncementClaim =
  /**
   * The caller holds the claim until its lease ends and alone may publish. `retry`: an earlier
   * claim was given up or lapsed, so its holder may have published: look for the event in the
   * channel's log after `afterEventId` (where the log stood before the first claim) before
   * publishing.
   */
  | { status: 'claimed'; retry: boolean; afterEventId: string }
  /** It went out (or was given up for good): nothing to do. */
  | { status: 'announced' }
  /** Another caller holds the claim until `until`. */
  | { status: 'busy'; until: Date };

/**
 * Where chat state lives. Two implementations: {@link createMemoryChatStore} (tests, demos)
 * and {@link createSqlChatStore} (PGlite or PostgreSQL). Authorization is the router's job; the
 * store trusts its caller.
 */
export interface ChatStore {
  createRoom(room: {
    id: string;
    name: string;
    visibility: Visibility;
    ownerId: string;
    ownerName: string;
  }): Promise<Room>;
  getRoom(roomId: string): Promise<Room | null>;
  /** Public rooms, newest first. */
  listPublicRooms(limit: number): Promise<Room[]>;
  /** The rooms a user belongs to, with their unread count and last message, most recent first. */
  listRoomsOf(userId: string): Promise<RoomSummary[]>;
  getMember(roomId: string, userId: string): Promise<Member | null>;
  listMembers(roomId: string): Promise<Member[]>;
  /** Adds a member; `added` is false if they were one already (nothing changes then). */
  addMember(
    roomId: string,
    member: { userId: string; name: string; role: Role },
  ): Promise<{ member: Member; added: boolean }>;
  /** Removes a member; false if they were not one. */
  removeMember(roomId: string, userId: string): Promise<boolean>;
  setRole(roomId: string, userId: string, role: Role): Promise<Member | null>;
  addInvite(roomId: string, userId: string, invitedBy: string): Promise<void>;
  hasInvite(roomId: string, userId: string): Promise<boolean>;
  /**
   * Records a user the chat has seen (they made a chat call), or their new display name: the
   * directory invites are resolved against by default (see `ChatRouterOptions.resolveUser`).
   */
  rememberUser(user: ChatUser): Promise<void>;
  /** A user the chat has seen, with the display name last recorded; `null` if none. */
  getUser(userId: string): Promise<ChatUser | null>;
  /**
   * Stores a message, idempotent on (`authorId`, `clientMsgId`): a repeat returns the first
   * message with `created: false` and stores nothing. `announced`: its `message.created` is
   * settled (see {@link ChatStore.settleAnnouncement}).
   */
  appendMessage(
    message: NewMessage,
  ): Promise<{ message: Message; created: boolean; announced: boolean }>;
  /**
   * Claims the right to publish an announcement, in one atomic step: granted when it is not
   * settled and nobody else's claim is live, and then held for `leaseMs` (by the store's
   * clock). The first claim records `afterEventId`, where the channel's log stood just before
   * it; later claims keep that one. The message must exist.
   */
  claimAnnouncement(
    ref: AnnouncementRef,
    claim: { token: string; leaseMs: number; afterEventId: string },
  ): Promise<AnnouncementClaim>;
  /**
   * Ends a claim: `announced` settles the announcement for good (from any caller: the event is
   * known to be out, or can no longer be looked for); `released` gives the claim up so that the
   * next attempt may take it at once (only while `token` still holds it).
   */
  settleAnnouncement(
    ref: AnnouncementRef,
    token: string,
    outcome: 'announced' | 'released',
  ): Promise<void>;
  getMessage(messageId: string): Promise<Message | null>;
  /**
   * Appends chunk `seq` to a streamed message in one step, only if every condition of the
   * happy path holds: the author is `authorId` and still a member of the room, the stream is
   * `streaming` (not deleted), `seq` is its chunk count, it started after `startedAfter`, and
   * the text stays within `maxTextLength`. Returns the room and the new chunk count, or `null`
   * if any condition failed (the caller then looks at the message to say which).
   */
  appendChunk(chunk: {
    messageId: string;
    authorId: string;
    seq: number;
    text: string;
    maxTextLength: number;
    startedAfter: Date;
  }): Promise<{ roomId: string; chunks: number } | null>;
  /** Ends a streaming message in `state`; `ended` is false if it had ended already. */
  endStream(
    messageId: string,
    state: Exclude<StreamState, 'streaming'>,
  ): Promise<{ message: Message; ended: boolean } | null>;
  /** Streams still `streaming` that got no chunk since `idleSince` or started before `startedBefore`. */
  staleStreams(opts: { idleSince: Date; startedBefore: Date }): Promise<string[]>;
  editMessage(messageId: string, text: string): Promise<Message | null>;
  /**
   * Turns a message into a tombstone: content, attachments and reactions removed. Its
   * attachments are deleted with their bytes (freeing the owner's quota) unless another live
   * message carries them.
   */
  deleteMessage(messageId: string): Promise<Message | null>;
  /** Adds the reaction, or removes it if the user had it; `null` if there is no such message. */
  toggleReaction(
    messageId: string,
    userId: string,
    emoji: string,
  ): Promise<{ added: boolean } | null>;
  /** Newest first, older than `before` when given. */
  history(roomId: string, page: { before?: string | undefined; limit: number }): Promise<Message[]>;
  /** Moves the member's read marker forward (never back); `moved` is false if it did not move. */
  markRead(roomId: string, userId: string, messageId: string): Promise<{ moved: boolean }>;
  saveAttachment(attachment: StoredAttachment & { bytes: Uint8Array }): Promise<void>;
  getAttachment(id: string): Promise<(StoredAttachment & { bytes: Uint8Array }) | null>;
  getAttachments(ids: readonly string[]): Promise<StoredAttachment[]>;
  /** Bytes of all attachments `ownerId` has stored, attached to a message or not. */
  attachmentBytesOf(ownerId: string): Promise<number>;
}

/** The path attachments are served on. */
export const attachmentsPath = '/chat/attachments';

export const attachmentUrl = (id: string) => `${attachmentsPath}/${id}`;
