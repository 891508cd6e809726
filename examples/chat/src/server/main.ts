import { createChatApp } from './app';

const app = await createChatApp({ dataDir: process.env.DUPLEX_DATA_DIR ?? '.data/chat' });
const { url } = await app.server.listen(
  Number(process.env.PORT ?? 3000),
  process.env.HOST ?? '127.0.0.1',
);
console.log(
  `Duplex chat running at ${url} (data in ${process.env.DUPLEX_DATA_DIR ?? '.data/chat'}; Ctrl+C to stop)`,
);

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
