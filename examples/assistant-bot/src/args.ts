import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

/** What the bot runs with, once its command line is parsed. */
export interface BotArgs {
  url: string;
  name: string;
  docs: string;
  state: string;
}

/** The result of {@link parseBotArgs}: options to run with, the help, or a usage error. */
export type ParsedBotArgs =
  | { kind: 'run'; args: BotArgs }
  | { kind: 'help' }
  | { kind: 'usage'; message: string };

/** Where the chat server listens by default: `npm start` on `PORT` (3000 when unset). */
export const defaultUrl = (env: NodeJS.ProcessEnv = process.env) =>
  `ws://127.0.0.1:${env.PORT ?? 3000}/trpc`;

const defaultDocs = fileURLToPath(new URL('../../../docs', import.meta.url));

export const botHelp = `The assistant bot: answers "@bot <question>" in the Duplex chat (npm start) from the docs.

Usage: npm run bot -- [options]

  --url <ws url>     the chat server; default ws://127.0.0.1:$PORT/trpc, the port the server
                     listens on ($PORT, 3000 when unset)
  --name <name>      the bot's display name (default "Duplex Bot"); it answers @bot and
                     @<name>, e.g. @Duplex_Bot
  --docs <dir>       the Markdown it answers from (default the repository's docs/)
  --state <file>     where it keeps its resume cursors across restarts
                     (default .data/assistant-bot.json)
  -h, --help         this help

Ask it in any public room: "@bot how does reconnection work?"`;

/** Parses the bot's arguments (without `node` and the script). Never exits. */
export function parseBotArgs(args: string[], env: NodeJS.ProcessEnv = process.env): ParsedBotArgs {
  let values: ReturnType<typeof parse>['values'];
  try {
    values = parse(args).values;
  } catch (error) {
    return { kind: 'usage', message: (error as Error).message };
  }
  if (values.help) return { kind: 'help' };
  return {
    kind: 'run',
    args: {
      url: values.url ?? defaultUrl(env),
      name: values.name,
      docs: values.docs,
      state: values.state,
    },
  };
}

const parse = (args: string[]) =>
  parseArgs({
    args,
    strict: true,
    allowPositionals: false,
    options: {
      url: { type: 'string' },
      name: { type: 'string', default: 'Duplex Bot' },
      docs: { type: 'string', default: defaultDocs },
      state: { type: 'string', default: '.data/assistant-bot.json' },
      help: { type: 'boolean', short: 'h' },
    },
  });
