import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startAssistantBot } from './bot';
import { createDocsBrain } from './brain';

const { values } = parseArgs({
  options: {
    url: { type: 'string', default: 'ws://127.0.0.1:3000/trpc' },
    name: { type: 'string', default: 'Duplex Bot' },
    docs: { type: 'string', default: fileURLToPath(new URL('../../../docs', import.meta.url)) },
    state: { type: 'string', default: '.data/assistant-bot.json' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (values.help) {
  console.log(
    'Usage: duplex-assistant-bot [--url ws://127.0.0.1:3000/trpc] [--name "Duplex Bot"] [--docs ./docs] [--state .data/assistant-bot.json]\nAsk it in any public room: "@bot how does reconnection work?"',
  );
  process.exit(0);
}

const bot = await startAssistantBot({
  url: values.url,
  name: values.name,
  brain: createDocsBrain({ docsDir: values.docs }),
  stateFile: values.state,
  log: (line) => console.log(`[bot] ${line}`),
});
console.log(`[bot] signed in as ${bot.me.name}; ask it with @bot in any public room`);
const stop = async () => {
  await bot.close();
  process.exit(0);
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
