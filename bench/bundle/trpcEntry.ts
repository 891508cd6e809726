// The same app on stock tRPC: createWSClient + wsLink + superjson.
import { createTRPCClient, createWSClient, wsLink } from '@trpc/client';
import superjson from 'superjson';
import type { BundleRouter } from './router';

const client = createTRPCClient<BundleRouter>({
  links: [
    wsLink({ client: createWSClient({ url: 'ws://localhost:3000/trpc' }), transformer: superjson }),
  ],
});
client.greeting.query({ name: 'x' }).then((v) => console.log(v));
client.onEvent.subscribe({}, { onData: (event) => console.log(event.data) });
