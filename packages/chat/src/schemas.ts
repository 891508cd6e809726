import { z } from 'zod';

/**
 * Hard ceilings of the wire format. The configurable limits ({@link chatLimitsDefaults}) are
 * checked on top, with a clear error; these only bound what is parsed at all.
 */
const ceilings = { text: 20_000, attachments: 20, name: 120, id: 64 };

export const roomIdSchema = z.string().min(1).max(ceilings.id);
/** Message ids are decimal strings, increasing in send order. */
export const messageIdSchema = z.string().regex(/^[1-9][0-9]{0,18}$/, 'a message id');
export const attachmentIdSchema = z.string().regex(/^[A-Za-z0-9_-]{22}$/, 'an attachment id');
const userIdSchema = z.string().min(1).max(ceilings.id);

export const createRoomInput = z.object({
  name: z.string().trim().min(1).max(80),
  visibility: z.enum(['public', 'private']),
});
export const roomInput = z.object({ roomId: roomIdSchema });
export const inviteInput = z.object({
  roomId: roomIdSchema,
  /**
   * Who to invite, as a person types it: a user id or a display name ("Alan Turing"). The
   * server resolves it (the router's `resolveUser`) the way sign-in names accounts.
   */
  userId: z.string().trim().min(1).max(ceilings.id),
});
export const setRoleInput = z.object({
  roomId: roomIdSchema,
  userId: userIdSchema,
  role: z.enum(['moderator', 'member']),
});
export const sendInput = z
  .object({
    roomId: roomIdSchema,
    /** Chosen by the client, unique per user: a retried send with the same id is a no-op. */
    clientMsgId: z.string().min(1).max(ceilings.id),
    text: z.string().max(ceilings.text).optional(),
    attachments: z.array(attachmentIdSchema).max(ceilings.attachments).optional(),
    replyTo: messageIdSchema.optional(),
  })
  .refine((m) => (m.text?.trim().length ?? 0) > 0 || (m.attachments?.length ?? 0) > 0, {
    message: 'A message needs text or an attachment',
  });
export const editInput = z.object({
  messageId: messageIdSchema,
  text: z.string().trim().min(1).max(ceilings.text),
});
export const messageInput = z.object({ messageId: messageIdSchema });
export const reactInput = z.object({
  messageId: messageIdSchema,
  /** One emoji (a grapheme of up to 16 code units, e.g. 👍🏽). */
  emoji: z
    .string()
    .min(1)
    .max(16)
    .refine((e) => !/[\s\p{L}\p{N}]/u.test(e), 'one emoji'),
});
export const historyInput = z.object({
  roomId: roomIdSchema,
  /** Messages older than this id; omit for the newest page. */
  before: messageIdSchema.optional(),
  limit: z.number().int().min(1).max(200).default(50),
});
export const markReadInput = z.object({ roomId: roomIdSchema, messageId: messageIdSchema });
/** Starts a streamed message (e.g. an assistant's reply), empty and in the `streaming` state. */
export const startStreamInput = z.object({
  roomId: roomIdSchema,
  /** As for `send`: a retried start with the same id returns the first message. */
  clientMsgId: z.string().min(1).max(ceilings.id),
  /** The message this answers; its author may cancel the stream. */
  replyTo: messageIdSchema.optional(),
});
/** Appends chunk `seq` (0, 1, 2, …) to a streamed message; a repeated `seq` is a no-op. */
export const appendStreamInput = z.object({
  messageId: messageIdSchema,
  seq: z.number().int().min(0).max(1_000_000),
  text: z.string().min(1).max(ceilings.text),
});
export const finishStreamInput = z.object({
  messageId: messageIdSchema,
  /** `done` when the producer finished, `failed` when it could not. */
  state: z.enum(['done', 'failed']).default('done'),
});
export const onEventInput = z.object({
  roomId: roomIdSchema,
  lastEventId: z.string().nullish(),
});

export type Visibility = 'public' | 'private';
export type Role = 'owner' | 'moderator' | 'member';

export interface Room {
  id: string;
  name: string;
  visibility: Visibility;
  ownerId: string;
  createdAt: Date;
}

export interface Member {
  userId: string;
  name: string;
  role: Role;
  joinedAt: Date;
  /** The newest message this member has read, or `null`. */
  lastReadMessageId: string | null;
}

export interface Attachment {
  id: string;
  contentType: string;
  sizeBytes: number;
  /** Where the bytes are served (`GET`), relative to the server. */
  url: string;
}

/**
 * Where a streamed message is: `streaming` while chunks arrive, then `done`, `failed` (the
 * producer gave up), `cancelled` (the asker or a moderator stopped it) or `interrupted` (the
 * producer went silent or ran past the time limit).
 */
export type StreamState = 'streaming' | 'done' | 'failed' | 'cancelled' | 'interrupted';

export interface Message {
  id: string;
  roomId: string;
  authorId: string;
  authorName: string;
  clientMsgId: string;
  /** `null` once deleted. */
  text: string | null;
  attachments: Attachment[];
  replyTo: string | null;
  /** emoji → ids of the users who reacted with it. */
  reactions: Record<string, string[]>;
  createdAt: Date;
  editedAt: Date | null;
  /** Set on tombstones: the message was deleted and its content removed. */
  deletedAt: Date | null;
  /**
   * For a streamed message, its state and how many chunks `text` holds (a `message.delta`
   * with `seq` below `chunks` is already in it); `null` for an ordinary message.
   */
  stream: { state: StreamState; chunks: number } | null;
}

/** What `chat.invite` answers. */
export interface InviteResult {
  /**
   * `invited`: the invitation is stored (again, if it was already) and `onInvite` ran;
   * `member`: they are in the room already, so nothing changed (the inviter, a member, can see
   * the member list anyway).
   */
  status: 'invited' | 'member';
  /** Who the name resolved to: the account's id and display name, to confirm to the inviter. */
  user: { id: string; name: string };
}

export interface RoomSummary {
  room: Room;
  role: Role;
  unread: number;
  lastMessage: Message | null;
}

/** Everything `chat.onEvent` delivers for a room, told apart by `type`. */
export type ChatEvent =
  | { type: 'message.created'; message: Message }
  | { type: 'message.edited'; message: Message }
  | { type: 'message.deleted'; message: Message; deletedBy: string }
  /** Chunk `seq` of a streamed message, appended to its text; chunks arrive in order. */
  | { type: 'message.delta'; messageId: string; seq: number; text: string }
  /** A streamed message reached its final state; `message.text` is the whole text. */
  | { type: 'message.streamEnded'; message: Message; endedBy: string | null }
  | { type: 'reaction'; messageId: string; emoji: string; userId: string; added: boolean }
  | { type: 'receipt'; userId: string; messageId: string }
  | { type: 'member.joined'; member: Member }
  | { type: 'member.left'; userId: string }
  | { type: 'typing'; userId: string; name: string; expiresAt: Date }
  | { type: 'presence'; online: { id: string; name: string }[] };

/** The event types that are live only: never stored, never replayed after a reconnect. */
export const ephemeralEventTypes = ['typing', 'presence'] as const satisfies ChatEvent['type'][];

export type CreateRoomInput = z.infer<typeof createRoomInput>;
export type SendInput = z.infer<typeof sendInput>;
export type HistoryInput = z.input<typeof historyInput>;
