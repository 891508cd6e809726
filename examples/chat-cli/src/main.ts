#!/usr/bin/env -S npx tsx --conditions=@duplex/source
import { createInterface } from 'node:readline';
import { chatHelp, parseChatArgs } from './chatArgs';
import { startChatCli } from './chatCli';

const parsed = parseChatArgs(process.argv.slice(2));
if (parsed.kind === 'help') {
  console.log(chatHelp);
  process.exit(0);
}
if (parsed.kind === 'usage') {
  console.error(`${parsed.message}\nRun with --help for the options.`);
  process.exit(2);
}
const { args } = parsed;

const cli = await startChatCli({
  url: args.url,
  name: args.name,
  room: args.room,
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
