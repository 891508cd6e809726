import { backgroundError, type Presence, streamChannel } from '@duplex/server';
import { type ChatKit, type ChatUser, roomChannel } from './chatKit';
import { type ChatEvent, onEventInput } from './schemas';

type Joined = Awaited<ReturnType<Presence['join']>>;

/**
 * `onEvent`: a room's events, resumable, with who is online. Presence is best effort (with its
 * store down, e.g. Redis, messages still flow), so its failures go to `onError`, not to the
 * subscriber.
 */
export function createRoomEvents<TUser extends ChatUser>(kit: ChatKit<TUser>) {
  const { broker, presence, memberProcedure } = kit;

  const onlineSnapshot = async (roomId: string): Promise<ChatEvent> => ({
    type: 'presence',
    online: (await presence.members(roomChannel(roomId))).map(({ id, name }) => ({ id, name })),
  });

  return {
    onEvent: memberProcedure.input(onEventInput).subscription(async function* ({
      ctx,
      input,
      signal,
    }) {
      const channel = roomChannel(input.roomId);
      const reportPresence = (error: unknown) => {
        kit.report(backgroundError('chat.presence', error, { ctx, input }));
        return null;
      };
      /** Tells the room who is online (the next change fixes a snapshot that failed). */
      const announcePresence = () =>
        onlineSnapshot(input.roomId)
          .then((event) => kit.publish(input.roomId, event))
          .catch(reportPresence);
      let joined: Joined | null = null;
      const stream = streamChannel<ChatEvent>(broker, channel, {
        lastEventId: input.lastEventId,
        signal,
        onOpen: async () => {
          joined = await presence
            .join(channel, { id: ctx.user.id, name: ctx.user.name }, ctx.connection.id)
            .catch(reportPresence);
          // Sent on every subscribe, so the new subscriber learns who is here.
          await announcePresence();
        },
      });
      try {
        for await (const envelope of stream) {
          yield envelope;
          const event = envelope[1];
          // A member who left (or was removed) stops reading the room.
          if ('type' in event && event.type === 'member.left' && event.userId === ctx.user.id)
            return;
        }
      } finally {
        const left = await (joined as Joined | null)?.leave().catch(reportPresence);
        if (left?.last) await announcePresence();
      }
    }),
  };
}
