import { randomUUID } from 'node:crypto';
import { storeTestBackends } from '@duplex/sql/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AnnouncedEventType, ChatStore } from './chatStore';
import { createMemoryChatStore } from './memoryChatStore';
import { createSqlChatStore } from './sqlChatStore';

const backends = await storeTestBackends<ChatStore>({
  memory: createMemoryChatStore,
  sql: createSqlChatStore,
});

for (const backend of backends) {
  describe.skipIf(!backend.available)(`ChatStore on ${backend.name}`, () => {
    let store: ChatStore;
    let close: () => Promise<void> = async () => {};
    beforeAll(async () => {
      ({ store, close } = await backend.open());
    });
    afterAll(() => close());

    /** A fresh room owned by `owner`, so tests sharing the database never collide. */
    const room = async (
      visibility: 'public' | 'private' = 'public',
      owner = `u-${randomUUID()}`,
    ) => {
      const created = await store.createRoom({
        id: randomUUID(),
        name: 'Room',
        visibility,
        ownerId: owner,
        ownerName: 'Owner',
      });
      return { room: created, owner };
    };
    const send = (
      roomId: string,
      authorId: string,
      clientMsgId: string = randomUUID(),
      text: string | null = 'hi',
    ) =>
      store.appendMessage({
        roomId,
        authorId,
        authorName: authorId,
        clientMsgId,
        text,
        attachmentIds: [],
        replyTo: null,
      });

    it('creates a room with its owner as a member', async () => {
      const { room: r, owner } = await room('private');
      expect(await store.getRoom(r.id)).toEqual(r);
      expect(await store.getMember(r.id, owner)).toMatchObject({
        userId: owner,
        role: 'owner',
        lastReadMessageId: null,
      });
      expect(await store.getRoom('nope')).toBeNull();
    });

    it('stores a retried send once and returns the first message', async () => {
      const { room: r, owner } = await room();
      const first = await send(r.id, owner, 'same-id', 'first');
      const retry = await send(r.id, owner, 'same-id', 'second');
      expect(first).toMatchObject({ created: true, announced: false });
      expect(retry).toEqual({ created: false, announced: false, message: first.message });
      const ref = { messageId: first.message.id, type: 'message.created' } as const;
      await store.claimAnnouncement(ref, { token: 't', leaseMs: 10_000, afterEventId: 'e0' });
      await store.settleAnnouncement(ref, 't', 'announced');
      expect((await send(r.id, owner, 'same-id')).announced).toBe(true);
      expect(await store.history(r.id, { limit: 10 })).toHaveLength(1);
      // The key is per user: another author may use the same client id.
      expect((await send(r.id, 'someone-else', 'same-id')).created).toBe(true);
    });

    describe('announcement claims', () => {
      const claimOf = (messageId: string, type: AnnouncedEventType = 'message.created') => ({
        ref: { messageId, type },
        claim: (token: string, leaseMs = 10_000, afterEventId = 'e1') =>
          store.claimAnnouncement({ messageId, type }, { token, leaseMs, afterEventId }),
        settle: (token: string, outcome: 'announced' | 'released') =>
          store.settleAnnouncement({ messageId, type }, token, outcome),
      });

      it('grants one of 20 overlapping claims', async () => {
        const { room: r, owner } = await room();
        const { message } = await send(r.id, owner);
        const a = claimOf(message.id);
        const claims = await Promise.all(
          Array.from({ length: 20 }, (_, i) => a.claim(`t${i}`, 10_000, `head-${i}`)),
        );
        const granted = claims.filter((c) => c.status === 'claimed');
        expect(granted).toHaveLength(1);
        expect(granted[0]).toMatchObject({ retry: false });
        expect(claims.filter((c) => c.status === 'busy')).toHaveLength(19);
        for (const c of claims) {
          if (c.status === 'busy') expect(c.until.getTime()).toBeGreaterThan(Date.now());
        }
      });

      it('settles for good: an announced claim is never granted again', async () => {
        const { room: r, owner } = await room();
        const { message } = await send(r.id, owner);
        const a = claimOf(message.id);
        expect(await a.claim('t1')).toMatchObject({ status: 'claimed', retry: false });
        await a.settle('t1', 'announced');
        expect(await a.claim('t2', 0)).toEqual({ status: 'announced' });
        // The other announcements of the message are claimed apart.
        expect(await claimOf(message.id, 'message.deleted').claim('t3')).toMatchObject({
          status: 'claimed',
        });
      });

      it('hands a released or lapsed claim on as a retry, with the first head read', async () => {
        const { room: r, owner } = await room();
        const { message } = await send(r.id, owner);
        const a = claimOf(message.id);
        expect(await a.claim('t1', 10_000, 'e0')).toEqual({
          status: 'claimed',
          retry: false,
          afterEventId: 'e0',
        });
        // Only its holder releases a claim.
        await a.settle('someone-else', 'released');
        expect(await a.claim('t2')).toMatchObject({ status: 'busy' });
        await a.settle('t1', 'released');
        expect(await a.claim('t2', 1, 'e9')).toEqual({
          status: 'claimed',
          retry: true,
          afterEventId: 'e0',
        });
        await new Promise((resolve) => setTimeout(resolve, 20));
        expect(await a.claim('t3', 10_000, 'e10')).toEqual({
          status: 'claimed',
          retry: true,
          afterEventId: 'e0',
        });
        // Settling as announced holds whoever holds the claim now: the event is out.
        await a.settle('t2', 'announced');
        expect(await a.claim('t4')).toEqual({ status: 'announced' });
      });
    });

    it('pages history newest first with a before cursor', async () => {
      const { room: r, owner } = await room();
      const ids = [];
      for (let i = 0; i < 5; i++)
        ids.push((await send(r.id, owner, undefined, `m${i}`)).message.id);
      const page1 = await store.history(r.id, { limit: 2 });
      expect(page1.map((m) => m.text)).toEqual(['m4', 'm3']);
      const page2 = await store.history(r.id, { before: page1.at(-1)?.id, limit: 2 });
      expect(page2.map((m) => m.text)).toEqual(['m2', 'm1']);
      const page3 = await store.history(r.id, { before: page2.at(-1)?.id, limit: 2 });
      expect(page3.map((m) => m.text)).toEqual(['m0']);
      expect(ids.map(Number)).toEqual([...ids.map(Number)].sort((a, b) => a - b));
    });

    it('edits, and deletes into a tombstone without content or reactions', async () => {
      const { room: r, owner } = await room();
      const { message } = await send(r.id, owner);
      await store.toggleReaction(message.id, owner, '👍');
      const edited = await store.editMessage(message.id, 'changed');
      expect(edited).toMatchObject({ text: 'changed', reactions: { '👍': [owner] } });
      expect(edited?.editedAt).toBeInstanceOf(Date);
      const deleted = await store.deleteMessage(message.id);
      expect(deleted).toMatchObject({ id: message.id, text: null, attachments: [], reactions: {} });
      expect(deleted?.deletedAt).toBeInstanceOf(Date);
      expect(await store.editMessage(message.id, 'again')).toBeNull();
      expect((await store.history(r.id, { limit: 5 }))[0]).toMatchObject({
        id: message.id,
        text: null,
      });
    });

    it('toggles reactions per user and emoji, in the order made', async () => {
      const { room: r, owner } = await room();
      const { message } = await send(r.id, owner);
      expect(await store.toggleReaction(message.id, 'a', '👍')).toEqual({ added: true });
      expect(await store.toggleReaction(message.id, 'b', '👍')).toEqual({ added: true });
      expect(await store.toggleReaction(message.id, 'a', '🎉')).toEqual({ added: true });
      expect((await store.getMessage(message.id))?.reactions).toEqual({
        '👍': ['a', 'b'],
        '🎉': ['a'],
      });
      expect(await store.toggleReaction(message.id, 'a', '👍')).toEqual({ added: false });
      expect((await store.getMessage(message.id))?.reactions).toEqual({ '👍': ['b'], '🎉': ['a'] });
      expect(await store.toggleReaction('999999999', 'a', '👍')).toBeNull();
    });

    it('manages members, roles and invites', async () => {
      const { room: r } = await room('private');
      expect(await store.hasInvite(r.id, 'bob')).toBe(false);
      await store.addInvite(r.id, 'bob', 'owner');
      await store.addInvite(r.id, 'bob', 'owner');
      expect(await store.hasInvite(r.id, 'bob')).toBe(true);
      const joined = await store.addMember(r.id, { userId: 'bob', name: 'Bob', role: 'member' });
      expect(joined).toMatchObject({ added: true, member: { userId: 'bob', role: 'member' } });
      expect(
        (await store.addMember(r.id, { userId: 'bob', name: 'Bob', role: 'member' })).added,
      ).toBe(false);
      expect(await store.setRole(r.id, 'bob', 'moderator')).toMatchObject({ role: 'moderator' });
      expect((await store.listMembers(r.id)).map((m) => m.userId)).toHaveLength(2);
      expect(await store.removeMember(r.id, 'bob')).toBe(true);
      expect(await store.removeMember(r.id, 'bob')).toBe(false);
      expect(await store.setRole(r.id, 'bob', 'member')).toBeNull();
    });

    it('remembers the users it has seen, under the display name last recorded', async () => {
      const id = `u-${randomUUID()}`;
      expect(await store.getUser(id)).toBeNull();
      await store.rememberUser({ id, name: 'Ada Lovelace' });
      await store.rememberUser({ id, name: 'Ada Lovelace' });
      expect(await store.getUser(id)).toEqual({ id, name: 'Ada Lovelace' });
      await store.rememberUser({ id, name: 'ADA LOVELACE' });
      expect(await store.getUser(id)).toEqual({ id, name: 'ADA LOVELACE' });
      // Ids are exact: resolving a typed name to an id is the router's `resolveUser`.
      expect(await store.getUser(id.toUpperCase())).toBeNull();
    });

    it('counts unread messages from others after the read marker, which only moves forward', async () => {
      const { room: r, owner } = await room();
      await store.addMember(r.id, { userId: 'reader', name: 'Reader', role: 'member' });
      const m1 = (await send(r.id, owner)).message;
      const m2 = (await send(r.id, owner)).message;
      await send(r.id, 'reader');
      const summary = async () =>
        (await store.listRoomsOf('reader')).find((s) => s.room.id === r.id);
      expect(await summary()).toMatchObject({ unread: 2, role: 'member' });
      expect(await store.markRead(r.id, 'reader', m2.id)).toEqual({ moved: true });
      expect(await store.markRead(r.id, 'reader', m1.id)).toEqual({ moved: false });
      expect(await summary()).toMatchObject({ unread: 0 });
      const m4 = (await send(r.id, owner)).message;
      await store.deleteMessage((await send(r.id, owner)).message.id);
      expect(await summary()).toMatchObject({ unread: 1 });
      expect((await summary())?.lastMessage?.deletedAt).toBeInstanceOf(Date);
      expect((await store.getMember(r.id, 'reader'))?.lastReadMessageId).toBe(m2.id);
      expect(Number(m4.id)).toBeGreaterThan(Number(m2.id));
    });

    it('lists public rooms newest first and a user’s rooms by recent activity', async () => {
      const owner = `u-${randomUUID()}`;
      const a = await room('public', owner);
      const b = await room('private', owner);
      await send(a.room.id, owner);
      const mine = await store.listRoomsOf(owner);
      expect(mine.map((s) => s.room.id)).toEqual([a.room.id, b.room.id]);
      const publicRooms = await store.listPublicRooms(1000);
      expect(publicRooms.some((r) => r.id === a.room.id)).toBe(true);
      expect(publicRooms.some((r) => r.id === b.room.id)).toBe(false);
    });

    it('stores attachment bytes and lists them on messages in the given order', async () => {
      const { room: r, owner } = await room();
      const ids = [randomUUID().slice(0, 22), randomUUID().slice(0, 22)];
      for (const [i, id] of ids.entries()) {
        await store.saveAttachment({
          id,
          ownerId: owner,
          contentType: 'image/png',
          sizeBytes: 3,
          bytes: Uint8Array.from([i, 2, 3]),
        });
      }
      const got = await store.getAttachment(ids[0]!);
      expect([...(got?.bytes ?? [])]).toEqual([0, 2, 3]);
      expect(await store.getAttachments([ids[1]!, 'missing'])).toEqual([
        { id: ids[1], ownerId: owner, contentType: 'image/png', sizeBytes: 3 },
      ]);
      const { message } = await store.appendMessage({
        roomId: r.id,
        authorId: owner,
        authorName: 'O',
        clientMsgId: randomUUID(),
        text: null,
        attachmentIds: [ids[1]!, ids[0]!],
        replyTo: null,
      });
      expect(message.attachments.map((a) => a.id)).toEqual([ids[1], ids[0]]);
      expect(message.attachments[0]).toMatchObject({
        contentType: 'image/png',
        sizeBytes: 3,
        url: `/chat/attachments/${ids[1]}`,
      });
    });

    it('reads back attachment bytes larger than one read of the database', async () => {
      const { owner } = await room();
      const id = randomUUID().replaceAll('-', '').slice(0, 22);
      const bytes = Uint8Array.from({ length: 1_300_000 }, (_, i) => (i * 31 + (i >> 9)) % 256);
      await store.saveAttachment({
        id,
        ownerId: owner,
        contentType: 'image/png',
        sizeBytes: bytes.length,
        bytes,
      });
      const got = await store.getAttachment(id);
      expect(got?.bytes.length).toBe(bytes.length);
      expect(Buffer.from(got!.bytes).equals(Buffer.from(bytes))).toBe(true);
    });

    it('counts each owner’s attachment bytes and frees them when the last message carrying them is deleted', async () => {
      const { room: r, owner } = await room();
      const other = `u-${randomUUID()}`;
      const save = async (ownerId: string, sizeBytes: number) => {
        const id = randomUUID().replaceAll('-', '').slice(0, 22);
        await store.saveAttachment({
          id,
          ownerId,
          contentType: 'image/png',
          sizeBytes,
          bytes: new Uint8Array(sizeBytes),
        });
        return id;
      };
      const [a, b, c] = [await save(owner, 100), await save(owner, 20), await save(owner, 3)];
      await save(other, 7);
      expect(await store.attachmentBytesOf(owner)).toBe(123);
      expect(await store.attachmentBytesOf(other)).toBe(7);
      const carry = (attachmentIds: string[]) =>
        store.appendMessage({
          roomId: r.id,
          authorId: owner,
          authorName: 'O',
          clientMsgId: randomUUID(),
          text: null,
          attachmentIds,
          replyTo: null,
        });
      const first = await carry([a, b]);
      const second = await carry([b]);
      await store.deleteMessage(first.message.id);
      // `b` is still on the second message; `c` was never attached and stays counted.
      expect(await store.attachmentBytesOf(owner)).toBe(23);
      expect(await store.getAttachment(a)).toBeNull();
      expect((await store.getMessage(second.message.id))?.attachments.map((x) => x.id)).toEqual([
        b,
      ]);
      await store.deleteMessage(second.message.id);
      expect(await store.attachmentBytesOf(owner)).toBe(3);
      expect(await store.getAttachments([a, b, c])).toEqual([
        { id: c, ownerId: owner, contentType: 'image/png', sizeBytes: 3 },
      ]);
      expect(await store.attachmentBytesOf(other)).toBe(7);
    });

    it('streams a message: chunks in order only, then one end state', async () => {
      const { room: r, owner } = await room();
      const { message: started } = await store.appendMessage({
        roomId: r.id,
        authorId: owner,
        authorName: 'Bot',
        clientMsgId: randomUUID(),
        text: 'ignored',
        attachmentIds: [],
        replyTo: null,
        streaming: true,
      });
      expect(started).toMatchObject({ text: '', stream: { state: 'streaming', chunks: 0 } });
      expect((await send(r.id, owner)).message.stream).toBeNull();

      const chunk = (
        seq: number,
        text: string,
        over: Partial<Parameters<ChatStore['appendChunk']>[0]> = {},
      ) =>
        store.appendChunk({
          messageId: started.id,
          authorId: owner,
          seq,
          text,
          maxTextLength: 20,
          startedAfter: new Date(Date.now() - 60_000),
          ...over,
        });
      expect(await chunk(1, 'skipped ahead')).toBeNull();
      expect(await chunk(0, 'Hello')).toEqual({ roomId: r.id, chunks: 1 });
      expect(await chunk(0, 'Hello')).toBeNull();
      expect(await chunk(1, 'x', { authorId: 'someone-else' })).toBeNull();
      expect(await chunk(1, 'x'.repeat(16))).toBeNull();
      expect(await chunk(1, 'x', { startedAfter: new Date(Date.now() + 60_000) })).toBeNull();
      expect(await chunk(1, ', world')).toEqual({ roomId: r.id, chunks: 2 });
      const page = await store.history(r.id, { limit: 5 });
      expect(page.find((m) => m.id === started.id)?.text).toBe('Hello, world');

      expect(await store.endStream(started.id, 'done')).toMatchObject({
        ended: true,
        message: { text: 'Hello, world', stream: { state: 'done', chunks: 2 } },
      });
      expect(await store.endStream(started.id, 'cancelled')).toMatchObject({
        ended: false,
        message: { stream: { state: 'done' } },
      });
      expect(await chunk(2, '!')).toBeNull();
      const plain = (await send(r.id, owner)).message.id;
      expect(await chunk(0, 'x', { messageId: plain })).toBeNull();
    });

    it('finds streams that went silent or ran too long', async () => {
      const { room: r, owner } = await room();
      const start = () =>
        store.appendMessage({
          roomId: r.id,
          authorId: owner,
          authorName: 'Bot',
          clientMsgId: randomUUID(),
          text: null,
          attachmentIds: [],
          replyTo: null,
          streaming: true,
        });
      const { message: quiet } = await start();
      const { message: ended } = await start();
      await store.endStream(ended.id, 'done');
      const future = new Date(Date.now() + 60_000);
      const past = new Date(Date.now() - 60_000);
      const staleNow = await store.staleStreams({ idleSince: future, startedBefore: past });
      expect(staleNow).toContain(quiet.id);
      expect(staleNow).not.toContain(ended.id);
      expect(await store.staleStreams({ idleSince: past, startedBefore: future })).toContain(
        quiet.id,
      );
      const fresh = await store.staleStreams({ idleSince: past, startedBefore: past });
      expect(fresh).not.toContain(quiet.id);
    });
  });
}
