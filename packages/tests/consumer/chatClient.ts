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

const received = new Promise<string>((resolve, reject) => {
  let started = () => {};
  const live = new Promise<void>((r) => {
    started = r;
  });
  grace.chat.onEvent.subscribe(
    { roomId: room.id },
    {
      onStarted: () => started(),
      onData: ({ data }) => {
        if (!isGap(data) && data.type === 'message.created') resolve(data.message.text ?? '');
      },
      onError: reject,
    },
  );
  void live.then(() =>
    ada.chat.send.mutate({ roomId: room.id, clientMsgId: crypto.randomUUID(), text: 'hello' }),
  );
});
const text = await received;
console.log(JSON.stringify({ pong, text }));
