import { botHelp, parseBotArgs } from './args';
import { startAssistantBot } from './bot';
import { createDocsBrain } from './brain';

const parsed = parseBotArgs(process.argv.slice(2));
if (parsed.kind === 'help') {
  console.log(botHelp);
  process.exit(0);
}
if (parsed.kind === 'usage') {
  console.error(`${parsed.message}\nRun with --help for the options.`);
  process.exit(2);
}
const { args } = parsed;

const bot = await startAssistantBot({
  url: args.url,
  name: args.name,
  brain: createDocsBrain({ docsDir: args.docs }),
  stateFile: args.state,
  log: (line) => console.log(`[bot] ${line}`),
});
console.log(
  `[bot] signed in as ${bot.me.name} at ${args.url}; ask it with @bot in any public room`,
);
const stop = async () => {
  await bot.close();
  process.exit(0);
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
