import {
  type AnnouncementRef,
  attachmentUrl,
  type ChatStore,
  type NewMessage,
  type StoredAttachment,
} from './chatStore';
import type { Member, Message, Room, RoomSummary } from './schemas';

interface StoredMessage extends Omit<Message, 'attachments' | 'reactions'> {
  attachmentIds: string[];
  /** When the stream last got a chunk (or started). */
  streamUpdatedAt: Date | null;
  /** emoji → user ids, in the order they reacted. */
  reactions: Map<string, string[]>;
}

/** Where one announcement stands (see {@link ChatStore.claimAnnouncement}). */
interface AnnouncementState {
  afterEventId: string;
  token: string | null;
  /** When the live claim lapses (ms since the epoch); 0 when none is held. */
  claimedUntil: number;
  announced: boolean;
}

/** A {@link ChatStore} in memory: for tests and demos; everything is gone on restart. */
export function createMemoryChatStore(): ChatStore {
  const rooms = new Map<string, Room>();
  const members = new Map<string, Map<string, Member>>();
  const invites = new Set<string>();
  /** The users the chat has seen: id → display name. */
  const users = new Map<string, string>();
  const messages = new Map<string, StoredMessage>();
  const byClientId = new Map<string, string>();
  const attachments = new Map<string, StoredAttachment & { bytes: Uint8Array }>();
  const announcements = new Map<string, AnnouncementState>();
  let nextMessageId = 0;

  const announcementKey = ({ messageId, type }: AnnouncementRef) => `${messageId}\u0000${type}`;
  const toMessage = ({ streamUpdatedAt: _, ...m }: StoredMessage): Message => ({
    ...m,
    stream: m.stream && { ...m.stream },
    attachments: m.attachmentIds.flatMap((id) => {
      const a = attachments.get(id);
      return a
        ? [{ id, contentType: a.contentType, sizeBytes: a.sizeBytes, url: attachmentUrl(id) }]
        : [];
    }),
    reactions: Object.fromEntries([...m.reactions].map(([emoji, users]) => [emoji, [...users]])),
  });
  const roomMessages = (roomId: string) =>
    [...messages.values()]
      .filter((m) => m.roomId === roomId)
      .sort((a, b) => Number(b.id) - Number(a.id));
  const membersOf = (roomId: string) => {
    let map = members.get(roomId);
    if (!map) {
      map = new Map();
      members.set(roomId, map);
    }
    return map;
  };

  return {
    async createRoom({ id, name, visibility, ownerId, ownerName }) {
      const room: Room = { id, name, visibility, ownerId, createdAt: new Date() };
      rooms.set(id, room);
      membersOf(id).set(ownerId, {
        userId: ownerId,
        name: ownerName,
        role: 'owner',
        joinedAt: new Date(),
        lastReadMessageId: null,
      });
      return room;
    },
    async getRoom(roomId) {
      return rooms.get(roomId) ?? null;
    },
    async listPublicRooms(limit) {
      return [...rooms.values()]
        .filter((r) => r.visibility === 'public')
        .reverse()
        .slice(0, limit);
    },
    async listRoomsOf(userId) {
      const summaries: RoomSummary[] = [];
      for (const [roomId, map] of members) {
        const member = map.get(userId);
        const room = rooms.get(roomId);
        if (!member || !room) continue;
        const all = roomMessages(roomId);
        const last = all[0];
        const unread = all.filter(
          (m) =>
            m.deletedAt === null &&
            m.authorId !== userId &&
            (member.lastReadMessageId === null || Number(m.id) > Number(member.lastReadMessageId)),
        ).length;
        summaries.push({
          room,
          role: member.role,
          unread,
          lastMessage: last ? toMessage(last) : null,
        });
      }
      const activity = (s: RoomSummary) => (s.lastMessage ?? s.room).createdAt.getTime();
      return summaries.sort((a, b) => activity(b) - activity(a));
    },
    async getMember(roomId, userId) {
      return members.get(roomId)?.get(userId) ?? null;
    },
    async listMembers(roomId) {
      return [...(members.get(roomId)?.values() ?? [])];
    },
    async addMember(roomId, { userId, name, role }) {
      const map = membersOf(roomId);
      const existing = map.get(userId);
      if (existing) return { member: existing, added: false };
      const member: Member = { userId, name, role, joinedAt: new Date(), lastReadMessageId: null };
      map.set(userId, member);
      return { member, added: true };
    },
    async removeMember(roomId, userId) {
      return members.get(roomId)?.delete(userId) ?? false;
    },
    async setRole(roomId, userId, role) {
      const member = members.get(roomId)?.get(userId);
      if (!member) return null;
      member.role = role;
      return member;
    },
    async addInvite(roomId, userId) {
      invites.add(`${roomId}\u0000${userId}`);
    },
    async hasInvite(roomId, userId) {
      return invites.has(`${roomId}\u0000${userId}`);
    },
    async rememberUser({ id, name }) {
      users.set(id, name);
    },
    async getUser(userId) {
      const name = users.get(userId);
      return name === undefined ? null : { id: userId, name };
    },
    async appendMessage(input: NewMessage) {
      const key = `${input.authorId}\u0000${input.clientMsgId}`;
      const existingId = byClientId.get(key);
      const existing = existingId === undefined ? undefined : messages.get(existingId);
      if (existing) {
        const announced = announcements.get(
          announcementKey({ messageId: existing.id, type: 'message.created' }),
        )?.announced;
        return { message: toMessage(existing), created: false, announced: announced ?? false };
      }
      const id = String(++nextMessageId);
      const stored: StoredMessage = {
        id,
        roomId: input.roomId,
        authorId: input.authorId,
        authorName: input.authorName,
        clientMsgId: input.clientMsgId,
        text: input.streaming ? '' : input.text,
        attachmentIds: [...input.attachmentIds],
        replyTo: input.replyTo,
        reactions: new Map(),
        createdAt: new Date(),
        editedAt: null,
        deletedAt: null,
        stream: input.streaming ? { state: 'streaming', chunks: 0 } : null,
        streamUpdatedAt: input.streaming ? new Date() : null,
      };
      messages.set(id, stored);
      byClientId.set(key, id);
      return { message: toMessage(stored), created: true, announced: false };
    },
    async claimAnnouncement(ref, { token, leaseMs, afterEventId }) {
      if (!messages.has(ref.messageId)) throw new Error(`No message ${ref.messageId}`);
      const key = announcementKey(ref);
      const now = Date.now();
      const existing = announcements.get(key);
      if (!existing) {
        announcements.set(key, {
          afterEventId,
          token,
          claimedUntil: now + leaseMs,
          announced: false,
        });
        return { status: 'claimed', retry: false, afterEventId };
      }
      if (existing.announced) return { status: 'announced' };
      if (existing.claimedUntil > now)
        return { status: 'busy', until: new Date(existing.claimedUntil) };
      existing.token = token;
      existing.claimedUntil = now + leaseMs;
      return { status: 'claimed', retry: true, afterEventId: existing.afterEventId };
    },
    async settleAnnouncement(ref, token, outcome) {
      const a = announcements.get(announcementKey(ref));
      if (!a || a.announced) return;
      if (outcome === 'announced') {
        a.announced = true;
      } else if (a.token !== token) {
        return;
      }
      a.token = null;
      a.claimedUntil = 0;
    },
    async getMessage(messageId) {
      const m = messages.get(messageId);
      return m ? toMessage(m) : null;
    },
    async appendChunk({ messageId, authorId, seq, text, maxTextLength, startedAfter }) {
      const m = messages.get(messageId);
      if (
        !m?.stream ||
        m.authorId !== authorId ||
        !members.get(m.roomId)?.has(authorId) ||
        m.stream.state !== 'streaming' ||
        m.deletedAt ||
        seq !== m.stream.chunks ||
        m.createdAt <= startedAfter ||
        (m.text ?? '').length + text.length > maxTextLength
      ) {
        return null;
      }
      m.text = (m.text ?? '') + text;
      m.stream = { state: 'streaming', chunks: m.stream.chunks + 1 };
      m.streamUpdatedAt = new Date();
      return { roomId: m.roomId, chunks: m.stream.chunks };
    },
    async endStream(messageId, state) {
      const m = messages.get(messageId);
      if (!m?.stream) return null;
      if (m.stream.state !== 'streaming') return { message: toMessage(m), ended: false };
      m.stream = { state, chunks: m.stream.chunks };
      return { message: toMessage(m), ended: true };
    },
    async staleStreams({ idleSince, startedBefore }) {
      return [...messages.values()]
        .filter(
          (m) =>
            m.stream?.state === 'streaming' &&
            (m.streamUpdatedAt! < idleSince || m.createdAt < startedBefore),
        )
        .map((m) => m.id);
    },
    async editMessage(messageId, text) {
      const m = messages.get(messageId);
      if (!m || m.deletedAt) return null;
      m.text = text;
      m.editedAt = new Date();
      return toMessage(m);
    },
    async deleteMessage(messageId) {
      const m = messages.get(messageId);
      if (!m) return null;
      if (!m.deletedAt) {
        const freed = m.attachmentIds;
        m.text = null;
        m.attachmentIds = [];
        for (const id of freed) {
          const carried = [...messages.values()].some((o) => o.attachmentIds.includes(id));
          if (!carried) attachments.delete(id);
        }
        m.reactions.clear();
        m.deletedAt = new Date();
      }
      return toMessage(m);
    },
    async toggleReaction(messageId, userId, emoji) {
      const m = messages.get(messageId);
      if (!m || m.deletedAt) return null;
      const users = m.reactions.get(emoji) ?? [];
      const added = !users.includes(userId);
      const next = added ? [...users, userId] : users.filter((u) => u !== userId);
      if (next.length > 0) m.reactions.set(emoji, next);
      else m.reactions.delete(emoji);
      return { added };
    },
    async history(roomId, { before, limit }) {
      return roomMessages(roomId)
        .filter((m) => before === undefined || Number(m.id) < Number(before))
        .slice(0, limit)
        .map(toMessage);
    },
    async markRead(roomId, userId, messageId) {
      const member = members.get(roomId)?.get(userId);
      if (!member) return { moved: false };
      if (
        member.lastReadMessageId !== null &&
        Number(member.lastReadMessageId) >= Number(messageId)
      ) {
        return { moved: false };
      }
      member.lastReadMessageId = messageId;
      return { moved: true };
    },
    async saveAttachment(attachment) {
      attachments.set(attachment.id, { ...attachment });
    },
    async getAttachment(id) {
      return attachments.get(id) ?? null;
    },
    async getAttachments(ids) {
      return ids.flatMap((id) => {
        const a = attachments.get(id);
        return a
          ? [{ id: a.id, ownerId: a.ownerId, contentType: a.contentType, sizeBytes: a.sizeBytes }]
          : [];
      });
    },
    async attachmentBytesOf(ownerId) {
      let total = 0;
      for (const a of attachments.values()) if (a.ownerId === ownerId) total += a.sizeBytes;
      return total;
    },
  };
}
