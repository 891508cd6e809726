import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { initPgliteDataDir } from '@duplex/sql';

const dataDir = process.env.DUPLEX_DATA_DIR ?? '.data/chat';
// A first start creates the database (PGlite's initdb: seconds of CPU, in a child process) while
// the app's modules load; later starts find it there.
const [{ createChatApp }] = await Promise.all([import('./app'), initPgliteDataDir(dataDir)]);
const app = await createChatApp({
  dataDir,
  ...(process.env.DUPLEX_ADMIN_TOKEN ? { adminToken: process.env.DUPLEX_ADMIN_TOKEN } : {}),
});
// Where `examples/notify-cli` finds the operator's token; readable by this user only.
const tokenFile = join(dataDir, 'admin-token');
mkdirSync(dataDir, { recursive: true });
writeFileSync(tokenFile, app.adminToken, { mode: 0o600 });

const { url } = await app.server.listen(
  Number(process.env.PORT ?? 3000),
  process.env.HOST ?? '127.0.0.1',
);
console.log(`Duplex chat running at ${url} (data in ${dataDir}; Ctrl+C to stop)`);
console.log(
  `Send a notification: npm run notify -- --to <name> --title "Hello" (token in ${tokenFile})`,
);
console.log(`Operator dashboard: ${url}${app.adminPath} (sign in with the token in ${tokenFile})`);

let stopping = false;
const shutdown = async () => {
  if (stopping) return;
  stopping = true;
  console.log('Shutting down…');
  await app.close();
  process.exit(0);
};
process.once('SIGINT', shutdown);
process.once('SIGTERM', shutdown);
