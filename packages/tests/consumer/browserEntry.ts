// What a browser app bundles: the client, one query and one subscription.
import { createDuplexClient, isGap } from '@duplex/client';
import type { AppRouter } from './chatServer.js';

const client = createDuplexClient<AppRouter>({
  url: `${location.origin}/trpc`,
  token: 'token-ada',
});
const rooms = await client.chat.rooms.query();
client.chat.onEvent.subscribe(
  { roomId: rooms.mine[0]?.room.id ?? 'general' },
  { onData: ({ data }) => console.log(isGap(data) ? 'gap' : data.type) },
);
