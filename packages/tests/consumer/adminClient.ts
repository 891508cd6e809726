// The admin procedures of packages/admin/README.md's server (adminServer.ts) through the
// installed typed client: an ordinary user is refused, the operator signs in and gets an
// overview frame in which its node reports.
import { createDuplexClient } from '@duplex/client';
import type { AppRouter } from './adminServer.js';

const url = `${process.env.SERVER_URL}/trpc`;
await using ada = createDuplexClient<AppRouter>({ url, token: 'ada-token' });
await using operator = createDuplexClient<AppRouter>({ url, token: process.env.OPERATOR_TOKEN });

const refused = await ada.admin.whoami.query().then(
  () => 'allowed',
  (error: { data?: { code?: string } | null }) => error.data?.code ?? 'no code',
);
const whoami = await operator.admin.whoami.query();
const nodeId: string | null = whoami.nodeId;

// The node reported itself when attached, before anyone connected, and reports again every
// 2 s: wait for the first frame that counts both clients.
let seen = 'no frame';
const frame = await new Promise<{ nodes: string[]; websocket: number; historyEntries: number }>(
  (resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no frame counting both: ${seen}`)), 10_000);
    const sub = operator.admin.overview.subscribe(undefined, {
      onData: (overview) => {
        seen = JSON.stringify(overview.nodes.map((n) => [n.nodeId, n.connections]));
        const node = overview.nodes.find((n) => n.nodeId === nodeId);
        if (!node || node.connections.websocket < 2) return;
        clearTimeout(timer);
        sub.unsubscribe();
        resolve({
          nodes: overview.nodes.map((n) => n.nodeId),
          websocket: node.connections.websocket,
          historyEntries: overview.history.length,
        });
      },
      onError: reject,
    });
  },
);
console.log(JSON.stringify({ refused, whoami, frame }));
