/**
 * Invites name people as the inviter types them (issue 18): the server resolves the name to an
 * account the chat has seen, answers who that is, or `NOT_FOUND`, and tells nothing else. On
 * the memory, PGlite and PostgreSQL stores.
 */
import {
  type ChatStore,
  createMemoryChatStore,
  createSqlChatStore,
  type InviteResult,
} from '@duplex/chat';
import { DuplexClientError } from '@duplex/client';
import { storeTestBackends } from '@duplex/sql/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startChatServer } from './chatFixtures';

const backends = await storeTestBackends<ChatStore>({
  memory: createMemoryChatStore,
  sql: createSqlChatStore,
});

/** Ids of their own per test: the SQL stores are shared by the suite. */
const unique = (name: string) => `${name}_${crypto.randomUUID().slice(0, 8)}`;
/** `chatAuth` names a user after their id: `ann_1234` is "Ann_1234". */
const nameOf = (id: string) => id[0]!.toUpperCase() + id.slice(1);

const failure = async (call: Promise<unknown>) => {
  const error = await call.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(DuplexClientError);
  return error as DuplexClientError;
};

for (const backend of backends) {
  describe.skipIf(!backend.available)(`chat invites on ${backend.name}`, () => {
    let store: ChatStore;
    let close: () => Promise<void> = async () => {};
    beforeAll(async () => {
      ({ store, close } = await backend.open());
    });
    afterAll(() => close());

    it('invites a user the chat has seen and answers who it was, or NOT_FOUND', async () => {
      await using app = await startChatServer({ store });
      const [annId, bobId] = [unique('ann'), unique('bob')];
      const [ann, bob] = [app.client(annId), app.client(bobId)];
      const room = await ann.chat.createRoom.mutate({ name: 'Team', visibility: 'private' });

      // Bob has not used the chat yet: no one by that id is known.
      const unknown = await failure(ann.chat.invite.mutate({ roomId: room.id, userId: bobId }));
      expect(unknown.code).toBe('NOT_FOUND');
      expect(unknown.message).toBe(`No user named "${bobId}"`);

      await bob.chat.rooms.query();
      const invited = await ann.chat.invite.mutate({ roomId: room.id, userId: `  ${bobId} ` });
      expect(invited).toEqual({
        status: 'invited',
        user: { id: bobId, name: nameOf(bobId) },
      } satisfies InviteResult);
      await bob.chat.joinRoom.mutate({ roomId: room.id });
      // A member already: said so (Ann sees the member list anyway), and nothing is stored.
      await expect(ann.chat.invite.mutate({ roomId: room.id, userId: bobId })).resolves.toEqual({
        status: 'member',
        user: { id: bobId, name: nameOf(bobId) },
      });
      await expect(ann.chat.invite.mutate({ roomId: room.id, userId: annId })).resolves.toEqual({
        status: 'member',
        user: { id: annId, name: nameOf(annId) },
      });
      expect(await store.hasInvite(room.id, annId)).toBe(false);

      const blank = await failure(ann.chat.invite.mutate({ roomId: room.id, userId: '   ' }));
      expect(blank.code).toBe('BAD_REQUEST');
    });

    it("tells the inviter nothing of the invitee's other rooms", async () => {
      await using app = await startChatServer({ store });
      const [annId, catId, danId] = [unique('ann'), unique('cat'), unique('dan')];
      const [ann, cat, dan] = [app.client(annId), app.client(catId), app.client(danId)];
      await cat.chat.rooms.query();
      const hidden = await dan.chat.createRoom.mutate({ name: 'Hidden', visibility: 'private' });
      await dan.chat.invite.mutate({ roomId: hidden.id, userId: catId });
      await cat.chat.joinRoom.mutate({ roomId: hidden.id });

      const mine = await ann.chat.createRoom.mutate({ name: 'Mine', visibility: 'private' });
      // The same answer, key for key, as for someone in no room at all.
      await expect(ann.chat.invite.mutate({ roomId: mine.id, userId: catId })).resolves.toEqual({
        status: 'invited',
        user: { id: catId, name: nameOf(catId) },
      });
      // And a room Ann is not in answers as one that does not exist, invitee known or not.
      for (const userId of [catId, 'nobody']) {
        const error = await failure(ann.chat.invite.mutate({ roomId: hidden.id, userId }));
        expect(error.message).toBe('No such room, or you have not joined it');
      }
      // Only moderators invite: a member learns nothing about who exists.
      await cat.chat.joinRoom.mutate({ roomId: mine.id });
      for (const userId of [danId, 'nobody']) {
        const error = await failure(cat.chat.invite.mutate({ roomId: mine.id, userId }));
        expect(error.code).toBe('FORBIDDEN');
      }
    });

    it("resolves names with the app's resolveUser, as its sign-in names accounts", async () => {
      // The app's rule: a display name's account is lower case with "_" for spaces.
      await using app = await startChatServer({
        store,
        resolveUser: (typed) => store.getUser(typed.toLowerCase().replace(/\s+/g, '_')),
      });
      const suffix = crypto.randomUUID().slice(0, 8);
      const alanId = `alan_turing_${suffix}`;
      const [ann, alan] = [app.client(unique('ann')), app.client(alanId)];
      await alan.chat.rooms.query();
      const room = await ann.chat.createRoom.mutate({ name: 'Bletchley', visibility: 'private' });
      for (const typed of [`Alan Turing ${suffix}`, `ALAN  turing ${suffix}`, alanId]) {
        await expect(ann.chat.invite.mutate({ roomId: room.id, userId: typed })).resolves.toEqual({
          status: 'invited',
          user: { id: alanId, name: nameOf(alanId) },
        });
      }
      const error = await failure(ann.chat.invite.mutate({ roomId: room.id, userId: 'Alan T' }));
      expect(error).toMatchObject({ code: 'NOT_FOUND', message: 'No user named "Alan T"' });
      await expect(alan.chat.joinRoom.mutate({ roomId: room.id })).resolves.toMatchObject({
        userId: alanId,
      });
    });
  });
}
