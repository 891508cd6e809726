import { buildPage, createDemoServer } from './app';

await buildPage();
const server = createDemoServer();
const { url } = await server.listen(
  Number(process.env.PORT ?? 3000),
  process.env.HOST ?? '127.0.0.1',
);
console.log(`Duplex demo running at ${url} (Ctrl+C to stop)`);

const shutdown = async () => {
  console.log('Shutting down…');
  await server.close({ drainTimeoutMs: 1_000 });
  process.exit(0);
};
process.once('SIGINT', shutdown);
process.once('SIGTERM', shutdown);
