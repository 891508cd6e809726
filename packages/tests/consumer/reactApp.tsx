// A React app as an app outside the Duplex repo writes it: TanStack Query over the Duplex client
// through @duplex/react, one query and one live subscription.
import { createDuplexClient } from '@duplex/client';
import { createDuplexReact, useConnectionStatus, useLiveSubscription } from '@duplex/react';
import { QueryClient, QueryClientProvider, useMutation, useQuery } from '@tanstack/react-query';
import { StrictMode, useState } from 'react';
import { createRoot } from 'react-dom/client';
import type { LiveRouter } from './reactServer.js';

const { DuplexProvider, useTRPC } = createDuplexReact<LiveRouter>();

function News() {
  const trpc = useTRPC();
  const status = useConnectionStatus();
  const greeting = useQuery(trpc.greeting.queryOptions({ name: 'Ada' }));
  const [news, setNews] = useState<string[]>([]);
  const live = useLiveSubscription(trpc.onNews.subscriptionOptions({}), {
    onData: (event) => setNews((seen) => [...seen, event.data.text]),
  });
  const announce = useMutation(trpc.announce.mutationOptions());
  const year: number | undefined = greeting.data?.at.getUTCFullYear();
  return (
    <main>
      <p id="status">{status.state}</p>
      <p id="greeting">
        {greeting.data?.text} {year}
      </p>
      <p id="live">{live.status}</p>
      <ul id="news">
        {news.map((text, i) => (
          <li key={`${i}:${text}`}>{text}</li>
        ))}
      </ul>
      <button type="button" onClick={() => announce.mutate({ text: 'live from the server' })}>
        Announce
      </button>
    </main>
  );
}

function App() {
  const [queryClient] = useState(() => new QueryClient());
  return (
    <QueryClientProvider client={queryClient}>
      <DuplexProvider
        queryClient={queryClient}
        client={() => createDuplexClient<LiveRouter>({ url: `${location.origin}/trpc` })}
      >
        <News />
      </DuplexProvider>
    </QueryClientProvider>
  );
}

const root = document.getElementById('root');
if (root)
  createRoot(root).render(
    <StrictMode>
      <App />
    </StrictMode>,
  );
