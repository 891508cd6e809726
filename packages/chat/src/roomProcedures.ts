import { randomUUID } from 'node:crypto';
import { badRequest, forbidden, noSuchRoom, notFound } from './chatErrors';
import type { ChatKit, ChatUser } from './chatKit';
import { createRoomInput, inviteInput, roomInput, setRoleInput } from './schemas';

/**
 * Rooms and who is in them: `createRoom`, `joinRoom`, `leaveRoom`, `invite`, `setRole`,
 * `rooms`, `members`.
 */
export function createRoomProcedures<TUser extends ChatUser>(kit: ChatKit<TUser>) {
  const { store, limits, procedure, memberProcedure } = kit;
  return {
    createRoom: procedure.input(createRoomInput).mutation(({ ctx, input }) =>
      store.createRoom({
        id: randomUUID(),
        ...input,
        ownerId: ctx.user.id,
        ownerName: ctx.user.name,
      }),
    ),

    joinRoom: procedure.input(roomInput).mutation(async ({ ctx, input }) => {
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

    invite: memberProcedure.input(inviteInput).mutation(async ({ ctx, input }) => {
      if (!kit.canModerate(ctx.member)) throw forbidden('Only the owner and moderators can invite');
      const room = await kit.requireRoom(input.roomId);
      await store.addInvite(room.id, input.userId, ctx.user.id);
      await kit.onInvite?.({
        roomId: room.id,
        roomName: room.name,
        userId: input.userId,
        invitedBy: ctx.user,
      });
      return { invited: true as const };
    }),

    setRole: memberProcedure.input(setRoleInput).mutation(async ({ ctx, input }) => {
      if (ctx.member.role !== 'owner') throw forbidden('Only the owner can change roles');
      if (input.userId === ctx.user.id) throw badRequest('The owner keeps the owner role');
      const changed = await store.setRole(input.roomId, input.userId, input.role);
      if (!changed) throw notFound('No such member');
      return changed;
    }),

    rooms: procedure.query(async ({ ctx }) => {
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
