import { parseArgs } from 'node:util';

/** What the terminal chat runs with, once its command line is parsed. */
export interface ChatArgs {
  url: string;
  name: string;
  room: string;
}

/** The result of {@link parseChatArgs}: options to run with, the help, or a usage error. */
export type ParsedChatArgs =
  | { kind: 'run'; args: ChatArgs }
  | { kind: 'help' }
  | { kind: 'usage'; message: string };

/** Where the chat server listens by default: `npm start` on `PORT` (3000 when unset). */
export const defaultUrl = (env: NodeJS.ProcessEnv = process.env) =>
  `ws://127.0.0.1:${env.PORT ?? 3000}/trpc`;

export const chatHelp = `The Duplex chat in a terminal: joins a room of the chat server (npm start), prints its
history and live messages, and sends each line you type.

Usage: duplex-chat --name <your name> [options]

  --name <name>      required: who you are (the development sign-in trusts it)
  --room <id>        the room to join (default general)
  --url <ws url>     the chat server; default ws://127.0.0.1:$PORT/trpc, the port the server
                     listens on ($PORT, 3000 when unset)
  -h, --help         this help

Commands: /rooms lists rooms, /join <id> switches, /quit leaves.`;

/** Parses the terminal chat's arguments (without `node` and the script). Never exits. */
export function parseChatArgs(
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
): ParsedChatArgs {
  let values: ReturnType<typeof parse>['values'];
  try {
    values = parse(args).values;
  } catch (error) {
    return { kind: 'usage', message: (error as Error).message };
  }
  if (values.help) return { kind: 'help' };
  if (!values.name?.trim()) return { kind: 'usage', message: 'Missing --name <your name>' };
  return {
    kind: 'run',
    args: { url: values.url ?? defaultUrl(env), name: values.name, room: values.room },
  };
}

const parse = (args: string[]) =>
  parseArgs({
    args,
    strict: true,
    allowPositionals: false,
    options: {
      url: { type: 'string' },
      name: { type: 'string' },
      room: { type: 'string', default: 'general' },
      help: { type: 'boolean', short: 'h' },
    },
  });
