// A Node program on the typed client: two users in one room, a message sent by one arrives on
// the other's subscription.
import { createDuplexClient, isGap } from '@duplex/client';
import type { AppRouter } from './chatServer.js';

const url = `${process.env.SERVER_URL}/trpc`;
await using ada = createDuplexClient<AppRouter>({ url, token: 'token-ada' });
await using grace = createDuplexClient<AppRouter>({ url, token: 'token-grace' });

const pong: 'pong' = await ada.ping.query();
const room = await ada.chat.createRoom.mutate({ name: 'Consumers', visibility: 'private' });
await ada.chat.invite.mutate({ roomId: room.id, userId: 'grace' });
await grace.chat.joinRoom.mutate({ roomId: room.id });

let markLive = () => {};
const live = new Promise<void>((resolve) => {
  markLive = resolve;
});
const received = new Promise<{ id: string; text: string | null }>((resolve, reject) => {
  grace.chat.onEvent.subscribe(
    { roomId: room.id },
    {
      onStarted: () => markLive(),
      onData: ({ data }) => {
        if (!isGap(data) && data.type === 'message.created') resolve(data.message);
      },
      onError: reject,
    },
  );
});
await live;
const sent = await ada.chat.send.mutate({
  roomId: room.id,
  clientMsgId: crypto.randomUUID(),
  text: 'hello',
});
const message = await received;
console.log(JSON.stringify({ pong, text: message.text, sameId: message.id === sent.id }));
