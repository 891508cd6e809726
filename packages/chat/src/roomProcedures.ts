import { randomUUID } from 'node:crypto';
import { badRequest, forbidden, noSuchRoom, notFound } from './chatErrors';
import type { ChatKit, ChatUser } from './chatKit';
import {
  createRoomInput,
  type InviteResult,
  inviteInput,
  roomInput,
  setRoleInput,
} from './schemas';

/**
 * Rooms and who is in them: `createRoom`, `joinRoom`, `leaveRoom`, `invite`, `setRole`,
 * `rooms`, `members`.
 */
export function createRoomProcedures<TUser extends ChatUser>(kit: ChatKit<TUser>) {
  const { store, limits, userProcedure, memberProcedure } = kit;
  return {
    createRoom: userProcedure.input(createRoomInput).mutation(({ ctx, input }) =>
      store.createRoom({
        id: randomUUID(),
        ...input,
        ownerId: ctx.user.id,
        ownerName: ctx.user.name,
      }),
    ),

    joinRoom: userProcedure.input(roomInput).mutation(async ({ ctx, input }) => {
      const room = await kit.requireRoom(input.roomId);
      const existing = await store.getMember(room.id, ctx.user.id);
      if (existing) return existing;
      if (room.visibility === 'private' && !(await store.hasInvite(room.id, ctx.user.id))) {
        throw noSuchRoom();
      }
      const { member, added } = await store.addMember(room.id, {
        userId: ctx.user.id,
        name: ctx.user.name,
        role: 'member',
      });
      if (added) await kit.publish(room.id, { type: 'member.joined', member });
      return member;
    }),

    leaveRoom: memberProcedure.mutation(async ({ ctx, input }) => {
      if (ctx.member.role === 'owner') throw forbidden('The owner cannot leave the room');
      // Only the call that removed them says so: overlapping leaves announce it once.
      if (await store.removeMember(input.roomId, ctx.user.id)) {
        await kit.publish(input.roomId, { type: 'member.left', userId: ctx.user.id });
      }
      return { left: true as const };
    }),

    /**
     * Invites a user named as a person types it (an id or a display name), resolved by
     * `resolveUser`. Says who it resolved to, or `NOT_FOUND` when no one; whether they are a
     * member already (which the inviter, a member, can see anyway); nothing else about them.
     */
    invite: memberProcedure
      .input(inviteInput)
      .mutation(async ({ ctx, input }): Promise<InviteResult> => {
        if (!kit.canModerate(ctx.member))
          throw forbidden('Only the owner and moderators can invite');
        const room = await kit.requireRoom(input.roomId);
        const found = await kit.resolveUser(input.userId);
        if (!found) throw notFound(`No user named "${input.userId}"`);
        const user = { id: found.id, name: found.name };
        if (await store.getMember(room.id, user.id)) {
          return { status: 'member', user };
        }
        await store.addInvite(room.id, user.id, ctx.user.id);
        await kit.onInvite?.({
          roomId: room.id,
          roomName: room.name,
          userId: user.id,
          invitedBy: ctx.user,
        });
        return { status: 'invited', user };
      }),

    setRole: memberProcedure.input(setRoleInput).mutation(async ({ ctx, input }) => {
      if (ctx.member.role !== 'owner') throw forbidden('Only the owner can change roles');
      if (input.userId === ctx.user.id) throw badRequest('The owner keeps the owner role');
      const changed = await store.setRole(input.roomId, input.userId, input.role);
      if (!changed) throw notFound('No such member');
      return changed;
    }),

    rooms: userProcedure.query(async ({ ctx }) => {
      const mine = await store.listRoomsOf(ctx.user.id);
      const joined = new Set(mine.map((s) => s.room.id));
      const discover = (await store.listPublicRooms(limits.discoverLimit + joined.size))
        .filter((r) => !joined.has(r.id))
        .slice(0, limits.discoverLimit);
      return { mine, discover };
    }),

    members: memberProcedure.query(({ input }) => store.listMembers(input.roomId)),
  };
}
