// A chat server as an app outside the Duplex repo writes it: the chat module on embedded PGlite.
import { createChatRouter, createSqlChatStore } from '@duplex/chat';
import {
  type Authenticate,
  createDuplexServer,
  createMemoryBroker,
  initDuplex,
} from '@duplex/server';
import { createPgliteDatabase } from '@duplex/sql';

export interface User {
  id: string;
  name: string;
}

const duplex = initDuplex<User>();
const store = await createSqlChatStore(await createPgliteDatabase({ dataDir: '.data/chat' }));

const broker = createMemoryBroker();

const users: Record<string, User> = {
  'token-ada': { id: 'ada', name: 'Ada' },
  'token-grace': { id: 'grace', name: 'Grace' },
};

export const appRouter = duplex.router({
  chat: createChatRouter(duplex, {
    store,
    broker,
    // Invites name people by id or display name, found among the app's own accounts.
    resolveUser: (typed) =>
      Object.values(users).find((u) => u.id === typed || u.name === typed) ?? null,
  }),
  ping: duplex.procedure.query(() => 'pong' as const),
});
export type AppRouter = typeof appRouter;
const authenticate: Authenticate<User> = ({ connectionParams }) => {
  const user = connectionParams?.token ? users[connectionParams.token] : undefined;
  return user ? { user } : null;
};

const server = createDuplexServer({ router: appRouter, authenticate, broker });
const { url } = await server.listen(0);
console.log(`listening ${url}`);
process.once('SIGTERM', () => void server.close().then(() => process.exit(0)));
