import { migrate, type SqlDatabase, type SqlExecutor } from '@duplex/sql';
import { chatMigrations } from './chatMigrations';
import {
  attachmentUrl,
  type ChatBlobStore,
  type ChatStore,
  type StoredAttachment,
} from './chatStore';
import type { Member, Message, Role, Room, RoomSummary, StreamState, Visibility } from './schemas';

interface RoomRow {
  id: string;
  name: string;
  visibility: Visibility;
  owner_id: string;
  created_at: Date;
}
interface MemberRow {
  user_id: string;
  name: string;
  role: Role;
  joined_at: Date;
  last_read_message_id: string | null;
}
interface MessageRow {
  id: string;
  room_id: string;
  author_id: string;
  author_name: string;
  client_msg_id: string;
  text: string | null;
  reply_to: string | null;
  created_at: Date;
  edited_at: Date | null;
  deleted_at: Date | null;
  stream_state: StreamState | null;
  stream_chunks: number;
  attachments: { id: string; contentType: string; sizeBytes: number }[];
  reactions: Record<string, string[]>;
}

const memberColumns =
  'user_id, name, role, joined_at, last_read_message_id::text AS last_read_message_id';
const roomColumns = 'id, name, visibility, owner_id, created_at';
/** A message with its attachments (in the order given) and reactions (in the order made). */
const messageSelect = `
  SELECT m.id::text AS id, m.room_id, m.author_id, m.author_name, m.client_msg_id, m.text,
    m.reply_to::text AS reply_to, m.created_at, m.edited_at, m.deleted_at, m.stream_state,
    m.stream_chunks,
    COALESCE((
      SELECT json_agg(json_build_object('id', a.id, 'contentType', a.content_type, 'sizeBytes', a.size_bytes)
        ORDER BY array_position(m.attachment_ids, a.id))
      FROM chat_attachments a WHERE a.id = ANY (m.attachment_ids)
    ), '[]'::json) AS attachments,
    COALESCE((
      SELECT json_object_agg(r.emoji, r.users) FROM (
        SELECT emoji, json_agg(user_id ORDER BY created_at) AS users
        FROM chat_reactions WHERE message_id = m.id GROUP BY emoji
      ) r
    ), '{}'::json) AS reactions
  FROM chat_messages m`;

const toRoom = (r: RoomRow): Room => ({
  id: r.id,
  name: r.name,
  visibility: r.visibility,
  ownerId: r.owner_id,
  createdAt: r.created_at,
});
const toMember = (r: MemberRow): Member => ({
  userId: r.user_id,
  name: r.name,
  role: r.role,
  joinedAt: r.joined_at,
  lastReadMessageId: r.last_read_message_id,
});
const toMessage = (r: MessageRow): Message => ({
  id: r.id,
  roomId: r.room_id,
  authorId: r.author_id,
  authorName: r.author_name,
  clientMsgId: r.client_msg_id,
  text: r.text,
  attachments: r.attachments.map((a) => ({ ...a, url: attachmentUrl(a.id) })),
  replyTo: r.reply_to,
  reactions: r.reactions,
  createdAt: r.created_at,
  editedAt: r.edited_at,
  deletedAt: r.deleted_at,
  stream: r.stream_state ? { state: r.stream_state, chunks: r.stream_chunks } : null,
});

/** Options of {@link createSqlChatStore}. */
export interface SqlChatStoreOptions {
  /**
   * Where new attachment bytes go; the database's `chat_attachments.bytes` when not given.
   * Give {@link createFileBlobStore} on PGlite: PGlite runs on the event loop, and a 5 MiB
   * insert stalls every other user for seconds. On PostgreSQL the database is the right home
   * (every node of a cluster sees it, and the work happens in the server process). Bytes
   * already stored stay where they are and are still served.
   * @default the database
   */
  blobs?: ChatBlobStore;
}

/** Bytes of `bytea` read per query (see `readBytes`). */
const byteaReadSliceBytes = 256 * 1024;

/**
 * A {@link ChatStore} on SQL: embedded PGlite (one process, data in a directory) or PostgreSQL
 * (several nodes). Runs its migrations on creation. The database stays yours to close (the
 * notifications store may share it).
 * @example
 * ```ts
 * const store = await createSqlChatStore(await createPgliteDatabase({ dataDir: '.data' }), {
 *   blobs: createFileBlobStore({ dir: '.data/attachments' }),
 * });
 * ```
 */
export async function createSqlChatStore(
  db: SqlDatabase,
  opts: SqlChatStoreOptions = {},
): Promise<ChatStore> {
  await migrate(db, chatMigrations);
  const { blobs } = opts;
  /**
   * Reads an attachment's `bytea` in slices: the drivers decode `bytea` on the event loop (pg
   * parses its hex text form). A 5 MiB value in one piece held the loop 28-69 ms on
   * PostgreSQL; in 256 KiB slices 9-38 ms, on the same loaded machine (the rest is its noise).
   * `null` if the attachment went away meanwhile.
   */
  const readBytes = async (id: string, sizeBytes: number) => {
    const bytes = Buffer.allocUnsafe(sizeBytes);
    for (let offset = 0; offset < sizeBytes; offset += byteaReadSliceBytes) {
      const [slice] = await db.query<{ part: Uint8Array | null }>(
        'SELECT substring(bytes FROM $2 FOR $3) AS part FROM chat_attachments WHERE id = $1',
        [id, offset + 1, byteaReadSliceBytes],
      );
      if (!slice?.part) return null;
      bytes.set(slice.part, offset);
    }
    return bytes;
  };
  const blobStore = () => {
    if (!blobs) throw new Error('An attachment is in a blob store, but this store has none');
    return blobs;
  };

  const messageById = async (q: SqlExecutor, id: string) => {
    const [row] = await q.query<MessageRow>(`${messageSelect} WHERE m.id = $1`, [id]);
    return row ? toMessage(row) : null;
  };

  return {
    async createRoom({ id, name, visibility, ownerId, ownerName }) {
      return db.transaction(async (tx) => {
        const [row] = await tx.query<RoomRow>(
          `INSERT INTO chat_rooms (id, name, visibility, owner_id) VALUES ($1, $2, $3, $4) RETURNING ${roomColumns}`,
          [id, name, visibility, ownerId],
        );
        await tx.query(
          `INSERT INTO chat_members (room_id, user_id, name, role) VALUES ($1, $2, $3, 'owner')`,
          [id, ownerId, ownerName],
        );
        return toRoom(row!);
      });
    },
    async getRoom(roomId) {
      const [row] = await db.query<RoomRow>(`SELECT ${roomColumns} FROM chat_rooms WHERE id = $1`, [
        roomId,
      ]);
      return row ? toRoom(row) : null;
    },
    async listPublicRooms(limit) {
      const rows = await db.query<RoomRow>(
        `SELECT ${roomColumns} FROM chat_rooms WHERE visibility = 'public' ORDER BY created_at DESC, id LIMIT $1`,
        [limit],
      );
      return rows.map(toRoom);
    },
    async listRoomsOf(userId) {
      const rows = await db.query<RoomRow & { role: Role; unread: number; last_id: string | null }>(
        `SELECT r.id, r.name, r.visibility, r.owner_id, r.created_at, mem.role,
           (SELECT count(*)::int FROM chat_messages m
             WHERE m.room_id = r.id AND m.deleted_at IS NULL AND m.author_id <> $1
               AND (mem.last_read_message_id IS NULL OR m.id > mem.last_read_message_id)) AS unread,
           (SELECT max(m.id)::text FROM chat_messages m WHERE m.room_id = r.id) AS last_id
         FROM chat_members mem JOIN chat_rooms r ON r.id = mem.room_id
         WHERE mem.user_id = $1`,
        [userId],
      );
      const lastIds = rows.flatMap((r) => (r.last_id ? [r.last_id] : []));
      const lasts = lastIds.length
        ? await db.query<MessageRow>(`${messageSelect} WHERE m.id = ANY ($1::bigint[])`, [lastIds])
        : [];
      const byId = new Map(lasts.map((m) => [m.id, toMessage(m)]));
      const summaries: RoomSummary[] = rows.map((r) => ({
        room: toRoom(r),
        role: r.role,
        unread: r.unread,
        lastMessage: r.last_id ? (byId.get(r.last_id) ?? null) : null,
      }));
      const activity = (s: RoomSummary) => (s.lastMessage ?? s.room).createdAt.getTime();
      return summaries.sort((a, b) => activity(b) - activity(a));
    },
    async getMember(roomId, userId) {
      const [row] = await db.query<MemberRow>(
        `SELECT ${memberColumns} FROM chat_members WHERE room_id = $1 AND user_id = $2`,
        [roomId, userId],
      );
      return row ? toMember(row) : null;
    },
    async listMembers(roomId) {
      const rows = await db.query<MemberRow>(
        `SELECT ${memberColumns} FROM chat_members WHERE room_id = $1 ORDER BY joined_at, user_id`,
        [roomId],
      );
      return rows.map(toMember);
    },
    async addMember(roomId, { userId, name, role }) {
      const inserted = await db.query<MemberRow>(
        `INSERT INTO chat_members (room_id, user_id, name, role) VALUES ($1, $2, $3, $4)
         ON CONFLICT (room_id, user_id) DO NOTHING RETURNING ${memberColumns}`,
        [roomId, userId, name, role],
      );
      if (inserted[0]) return { member: toMember(inserted[0]), added: true };
      const [row] = await db.query<MemberRow>(
        `SELECT ${memberColumns} FROM chat_members WHERE room_id = $1 AND user_id = $2`,
        [roomId, userId],
      );
      return { member: toMember(row!), added: false };
    },
    async removeMember(roomId, userId) {
      const rows = await db.query(
        'DELETE FROM chat_members WHERE room_id = $1 AND user_id = $2 RETURNING user_id',
        [roomId, userId],
      );
      return rows.length > 0;
    },
    async setRole(roomId, userId, role) {
      const [row] = await db.query<MemberRow>(
        `UPDATE chat_members SET role = $3 WHERE room_id = $1 AND user_id = $2 RETURNING ${memberColumns}`,
        [roomId, userId, role],
      );
      return row ? toMember(row) : null;
    },
    async addInvite(roomId, userId, invitedBy) {
      await db.query(
        'INSERT INTO chat_invites (room_id, user_id, invited_by) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING',
        [roomId, userId, invitedBy],
      );
    },
    async hasInvite(roomId, userId) {
      const rows = await db.query(
        'SELECT 1 FROM chat_invites WHERE room_id = $1 AND user_id = $2',
        [roomId, userId],
      );
      return rows.length > 0;
    },
    async rememberUser({ id, name }) {
      await db.query(
        `INSERT INTO chat_users (id, name) VALUES ($1, $2)
         ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, seen_at = now()
           WHERE chat_users.name IS DISTINCT FROM EXCLUDED.name`,
        [id, name],
      );
    },
    async getUser(userId) {
      const [row] = await db.query<{ id: string; name: string }>(
        'SELECT id, name FROM chat_users WHERE id = $1',
        [userId],
      );
      return row ? { id: row.id, name: row.name } : null;
    },
    async appendMessage(input) {
      return db.transaction(async (tx) => {
        const [inserted] = await tx.query<{ id: string }>(
          `INSERT INTO chat_messages (room_id, author_id, author_name, client_msg_id, text, attachment_ids, reply_to,
             stream_state, stream_updated_at)
           VALUES ($1, $2, $3, $4, $5, $6::text[], $7::bigint,
             CASE WHEN $8 THEN 'streaming' END, CASE WHEN $8 THEN now() END)
           ON CONFLICT (author_id, client_msg_id) DO NOTHING RETURNING id::text AS id`,
          [
            input.roomId,
            input.authorId,
            input.authorName,
            input.clientMsgId,
            input.streaming ? '' : input.text,
            input.attachmentIds,
            input.replyTo,
            input.streaming ?? false,
          ],
        );
        if (inserted)
          return {
            message: (await messageById(tx, inserted.id))!,
            created: true,
            announced: false,
          };
        const [existing] = await tx.query<MessageRow & { announced: boolean }>(
          `${messageSelect.replace('SELECT ', `SELECT EXISTS (SELECT 1 FROM chat_announcements a WHERE a.message_id = m.id AND a.event_type = 'message.created' AND a.announced_at IS NOT NULL) AS announced, `)}
           WHERE m.author_id = $1 AND m.client_msg_id = $2`,
          [input.authorId, input.clientMsgId],
        );
        return { message: toMessage(existing!), created: false, announced: existing!.announced };
      });
    },
    async claimAnnouncement({ messageId, type }, { token, leaseMs, afterEventId }) {
      // One statement: concurrent claimers queue on the row, and only one finds it free.
      const [claimed] = await db.query<{ attempts: number; after_event_id: string | null }>(
        `INSERT INTO chat_announcements AS a
           (message_id, event_type, after_event_id, attempts, claim_token, claimed_until)
         VALUES ($1::bigint, $2, $3, 1, $4, clock_timestamp() + $5 * interval '1 millisecond')
         ON CONFLICT (message_id, event_type) DO UPDATE
           SET attempts = a.attempts + 1, claim_token = EXCLUDED.claim_token,
             claimed_until = EXCLUDED.claimed_until
           WHERE a.announced_at IS NULL
             AND (a.claimed_until IS NULL OR a.claimed_until <= clock_timestamp())
         RETURNING a.attempts, a.after_event_id`,
        [messageId, type, afterEventId, token, leaseMs],
      );
      if (claimed) {
        return {
          status: 'claimed',
          retry: claimed.attempts > 1,
          // Only rows carried over from before claims have none, and those are announced.
          afterEventId: claimed.after_event_id ?? afterEventId,
        };
      }
      const [row] = await db.query<{ announced: boolean; claimed_until: Date | null }>(
        `SELECT announced_at IS NOT NULL AS announced, claimed_until FROM chat_announcements
         WHERE message_id = $1::bigint AND event_type = $2`,
        [messageId, type],
      );
      if (!row || row.announced) return { status: 'announced' };
      // Released between the two statements: busy until now, so the caller claims again.
      return { status: 'busy', until: row.claimed_until ?? new Date() };
    },
    async settleAnnouncement({ messageId, type }, token, outcome) {
      await db.query(
        outcome === 'announced'
          ? `UPDATE chat_announcements
             SET announced_at = clock_timestamp(), claim_token = NULL, claimed_until = NULL
             WHERE message_id = $1::bigint AND event_type = $2 AND announced_at IS NULL`
          : `UPDATE chat_announcements SET claim_token = NULL, claimed_until = NULL
             WHERE message_id = $1::bigint AND event_type = $2 AND claim_token = $3
               AND announced_at IS NULL`,
        outcome === 'announced' ? [messageId, type] : [messageId, type, token],
      );
    },
    getMessage: (messageId) => messageById(db, messageId),
    async appendChunk({ messageId, authorId, seq, text, maxTextLength, startedAfter }) {
      const [row] = await db.query<{ room_id: string; chunks: number }>(
        `UPDATE chat_messages m
         SET text = m.text || $4, stream_chunks = m.stream_chunks + 1,
           stream_updated_at = clock_timestamp()
         WHERE m.id = $1 AND m.author_id = $2 AND m.stream_state = 'streaming'
           AND m.stream_chunks = $3 AND m.deleted_at IS NULL AND m.created_at > $6
           AND length(m.text) + length($4) <= $5
           AND EXISTS (SELECT 1 FROM chat_members mem WHERE mem.room_id = m.room_id AND mem.user_id = $2)
         RETURNING m.room_id, m.stream_chunks AS chunks`,
        [messageId, authorId, seq, text, maxTextLength, startedAfter],
      );
      return row ? { roomId: row.room_id, chunks: row.chunks } : null;
    },
    async endStream(messageId, state) {
      const rows = await db.query(
        `UPDATE chat_messages SET stream_state = $2
         WHERE id = $1 AND stream_state = 'streaming' RETURNING id`,
        [messageId, state],
      );
      const message = await messageById(db, messageId);
      if (!message?.stream) return null;
      return { message, ended: rows.length > 0 };
    },
    async staleStreams({ idleSince, startedBefore }) {
      const rows = await db.query<{ id: string }>(
        `SELECT id::text AS id FROM chat_messages
         WHERE stream_state = 'streaming' AND (stream_updated_at < $1 OR created_at < $2)`,
        [idleSince, startedBefore],
      );
      return rows.map((r) => r.id);
    },
    async editMessage(messageId, text) {
      const rows = await db.query(
        'UPDATE chat_messages SET text = $2, edited_at = now() WHERE id = $1 AND deleted_at IS NULL RETURNING id',
        [messageId, text],
      );
      return rows.length ? messageById(db, messageId) : null;
    },
    async deleteMessage(messageId) {
      const { message, freedKeys } = await db.transaction(async (tx) => {
        const rows = await tx.query<{ attachment_ids: string[] }>(
          'SELECT attachment_ids FROM chat_messages WHERE id = $1 FOR UPDATE',
          [messageId],
        );
        if (!rows.length) return { message: null, freedKeys: [] };
        await tx.query(
          `UPDATE chat_messages SET text = NULL, attachment_ids = '{}', deleted_at = COALESCE(deleted_at, now())
           WHERE id = $1`,
          [messageId],
        );
        await tx.query('DELETE FROM chat_reactions WHERE message_id = $1', [messageId]);
        // Freed unless another message still carries it (its owner may attach it twice).
        const freed = await tx.query<{ blob_key: string | null }>(
          `DELETE FROM chat_attachments a WHERE a.id = ANY ($1::text[])
             AND NOT EXISTS (SELECT 1 FROM chat_messages m WHERE m.attachment_ids @> ARRAY[a.id])
           RETURNING a.blob_key`,
          [rows[0]!.attachment_ids],
        );
        return {
          message: await messageById(tx, messageId),
          freedKeys: freed.flatMap((r) => (r.blob_key ? [r.blob_key] : [])),
        };
      });
      for (const key of new Set(freedKeys)) {
        // Content addressed: the same bytes may be another attachment's too.
        const still = await db.query('SELECT 1 FROM chat_attachments WHERE blob_key = $1 LIMIT 1', [
          key,
        ]);
        if (!still.length) await blobStore().delete(key);
      }
      return message;
    },
    async toggleReaction(messageId, userId, emoji) {
      return db.transaction(async (tx) => {
        const live = await tx.query(
          'SELECT 1 FROM chat_messages WHERE id = $1 AND deleted_at IS NULL FOR UPDATE',
          [messageId],
        );
        if (!live.length) return null;
        const removed = await tx.query(
          'DELETE FROM chat_reactions WHERE message_id = $1 AND user_id = $2 AND emoji = $3 RETURNING emoji',
          [messageId, userId, emoji],
        );
        if (removed.length) return { added: false };
        await tx.query(
          'INSERT INTO chat_reactions (message_id, user_id, emoji) VALUES ($1, $2, $3)',
          [messageId, userId, emoji],
        );
        return { added: true };
      });
    },
    async history(roomId, { before, limit }) {
      const rows = before
        ? await db.query<MessageRow>(
            `${messageSelect} WHERE m.room_id = $1 AND m.id < $2 ORDER BY m.id DESC LIMIT $3`,
            [roomId, before, limit],
          )
        : await db.query<MessageRow>(
            `${messageSelect} WHERE m.room_id = $1 ORDER BY m.id DESC LIMIT $2`,
            [roomId, limit],
          );
      return rows.map(toMessage);
    },
    async markRead(roomId, userId, messageId) {
      const rows = await db.query(
        `UPDATE chat_members SET last_read_message_id = $3::bigint
         WHERE room_id = $1 AND user_id = $2 AND (last_read_message_id IS NULL OR last_read_message_id < $3::bigint)
         RETURNING user_id`,
        [roomId, userId, messageId],
      );
      return { moved: rows.length > 0 };
    },
    async saveAttachment({ id, ownerId, contentType, sizeBytes, bytes }) {
      const blobKey = blobs ? await blobs.put(bytes) : null;
      await db.query(
        'INSERT INTO chat_attachments (id, owner_id, content_type, size_bytes, bytes, blob_key) VALUES ($1, $2, $3, $4, $5, $6)',
        [id, ownerId, contentType, sizeBytes, blobKey ? null : bytes, blobKey],
      );
    },
    async getAttachment(id) {
      const [row] = await db.query<{
        owner_id: string;
        content_type: string;
        size_bytes: number;
        blob_key: string | null;
      }>(
        'SELECT owner_id, content_type, size_bytes, blob_key FROM chat_attachments WHERE id = $1',
        [id],
      );
      if (!row) return null;
      const bytes = row.blob_key
        ? await blobStore().get(row.blob_key)
        : await readBytes(id, row.size_bytes);
      if (!bytes) {
        if (!row.blob_key) return null;
        throw new Error(`Attachment ${id}: its blob ${row.blob_key} is missing`);
      }
      return {
        id,
        ownerId: row.owner_id,
        contentType: row.content_type,
        sizeBytes: row.size_bytes,
        bytes,
      };
    },
    async getAttachments(ids) {
      if (!ids.length) return [];
      const rows = await db.query<{
        id: string;
        owner_id: string;
        content_type: string;
        size_bytes: number;
      }>(
        'SELECT id, owner_id, content_type, size_bytes FROM chat_attachments WHERE id = ANY ($1::text[])',
        [ids],
      );
      return rows.map(
        (r): StoredAttachment => ({
          id: r.id,
          ownerId: r.owner_id,
          contentType: r.content_type,
          sizeBytes: r.size_bytes,
        }),
      );
    },
    async attachmentBytesOf(ownerId) {
      const [row] = await db.query<{ total: string }>(
        'SELECT COALESCE(sum(size_bytes), 0)::text AS total FROM chat_attachments WHERE owner_id = $1',
        [ownerId],
      );
      return Number(row!.total);
    },
  };
}
