import { migrate } from '@duplex/sql';
import { dropTestSchema, sqlTestBackends } from '@duplex/sql/testing';
import { describe, expect, it } from 'vitest';
import { chatMigrations } from './chatMigrations';
import { createSqlChatStore } from './sqlChatStore';

for (const backend of await sqlTestBackends()) {
  describe.skipIf(!backend.available)(`chat migrations on ${backend.name}`, () => {
    it('carries what was announced before announcements were claimed', async () => {
      const db = await backend.create();
      try {
        // The schema as it was before the announcements step, with messages in every state.
        await migrate(db, { module: 'chat', steps: chatMigrations.steps.slice(0, 3) });
        await db.query(
          `INSERT INTO chat_rooms (id, name, visibility, owner_id) VALUES ('r', 'R', 'public', 'ann')`,
        );
        const insert = async (clientMsgId: string, extra: string, announced: boolean) => {
          const [row] = await db.query<{ id: string }>(
            `INSERT INTO chat_messages (room_id, author_id, author_name, client_msg_id, text, announced${extra ? `, ${extra.split('=')[0]}` : ''})
             VALUES ('r', 'ann', 'Ann', $1, 'hi', $2${extra ? `, ${extra.split('=')[1]}` : ''}) RETURNING id::text AS id`,
            [clientMsgId, announced],
          );
          return row!.id;
        };
        const pending = await insert('pending', '', false);
        await insert('announced', '', true);
        const ended = await insert('ended', "stream_state='done'", true);
        const streaming = await insert('streaming', "stream_state='streaming'", true);
        const deleted = await insert('deleted', 'deleted_at=now()', true);

        const store = await createSqlChatStore(db);
        const resend = (clientMsgId: string) =>
          store.appendMessage({
            roomId: 'r',
            authorId: 'ann',
            authorName: 'Ann',
            clientMsgId,
            text: 'hi',
            attachmentIds: [],
            replyTo: null,
          });
        expect((await resend('pending')).announced).toBe(false);
        expect((await resend('announced')).announced).toBe(true);
        const claim = (messageId: string, type: 'message.streamEnded' | 'message.deleted') =>
          store.claimAnnouncement(
            { messageId, type },
            { token: 't', leaseMs: 1_000, afterEventId: 'e0' },
          );
        expect(await claim(ended, 'message.streamEnded')).toEqual({ status: 'announced' });
        expect(await claim(deleted, 'message.deleted')).toEqual({ status: 'announced' });
        expect(await claim(streaming, 'message.streamEnded')).toMatchObject({ status: 'claimed' });
        expect(await claim(pending, 'message.deleted')).toMatchObject({ status: 'claimed' });
      } finally {
        await dropTestSchema(db);
        await db.close();
      }
    });

    it('knows everyone who was ever a member once users are remembered', async () => {
      const db = await backend.create();
      try {
        // The schema as it was before the users step, with members in two rooms.
        await migrate(db, { module: 'chat', steps: chatMigrations.steps.slice(0, 5) });
        await db.query(
          `INSERT INTO chat_rooms (id, name, visibility, owner_id)
           VALUES ('r1', 'R1', 'public', 'ann'), ('r2', 'R2', 'private', 'ann')`,
        );
        await db.query(
          `INSERT INTO chat_members (room_id, user_id, name, role, joined_at) VALUES
             ('r1', 'ann', 'Ann', 'owner', now() - interval '2 days'),
             ('r2', 'ann', 'Ann', 'owner', now() - interval '2 days'),
             ('r1', 'ada-lovelace', 'Ada Lovelace', 'member', now() - interval '1 day'),
             ('r2', 'ada-lovelace', 'ADA LOVELACE', 'member', now())`,
        );
        const store = await createSqlChatStore(db);
        expect(await store.getUser('ann')).toEqual({ id: 'ann', name: 'Ann' });
        // The name they last joined with.
        expect(await store.getUser('ada-lovelace')).toEqual({
          id: 'ada-lovelace',
          name: 'ADA LOVELACE',
        });
        expect(await store.getUser('grace')).toBeNull();
      } finally {
        await dropTestSchema(db);
        await db.close();
      }
    });
  });
}
