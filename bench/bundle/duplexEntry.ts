// A browser app on the Duplex client: one query and one subscription.
import { createDuplexClient } from '@duplex/client';
import type { BundleRouter } from './router';

const client = createDuplexClient<BundleRouter>({ url: 'ws://localhost:3000/trpc' });
client.greeting.query({ name: 'x' }).then((v) => console.log(v));
client.onEvent.subscribe({}, { onData: (event) => console.log(event.data) });
