#!/usr/bin/env -S npx tsx --conditions=@duplex/source
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { startChatCli } from './chatCli';

const { values } = parseArgs({
  options: {
    url: { type: 'string', default: 'ws://127.0.0.1:3000/trpc' },
    name: { type: 'string' },
    room: { type: 'string', default: 'general' },
  },
});
if (!values.name) {
  console.error(
    'Usage: duplex-chat --name <your name> [--room general] [--url ws://127.0.0.1:3000/trpc]',
  );
  process.exit(2);
}

const cli = await startChatCli({
  url: values.url,
  name: values.name,
  room: values.room,
  print: (line) => console.log(line),
});
const rl = createInterface({ input: process.stdin });
rl.on('line', async (line) => {
  if ((await cli.input(line)) === 'quit') rl.close();
});
rl.on('close', async () => {
  await cli.close();
  process.exit(0);
});
