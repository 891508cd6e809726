import { parseArgs } from 'node:util';
import { userIdOf } from '@duplex/example-chat/router';
import type { NotifyInput } from '@duplex/notifications';

export { userIdOf };

/** What the command line asks for, once parsed. */
export interface NotifyCommand {
  url: string;
  /** `--token`, when given; otherwise {@link resolveAdminToken} looks elsewhere. */
  token: string | undefined;
  tokenFile: string | undefined;
  timeoutMs: number;
  input: NotifyInput;
}

/** The result of {@link parseNotifyArgs}: a command to run, the help, or a usage error. */
export type ParsedArgs =
  | { kind: 'send'; command: NotifyCommand }
  | { kind: 'help' }
  | { kind: 'usage'; message: string };

export const notifyHelp = `Send a notification to users of the Duplex chat app (npm start).

Usage: npm run notify -- --to <user> [--to <user> | --to a,b] --title <text> [options]

  --to <user>          recipient; repeat or separate with commas. A chat user's id is the
                       display name lowercased with each run of spaces, "_" and "-" as one
                       "-" ("Ada Lovelace" is ada-lovelace), as sign-in makes it; names are
                       converted for you
  --title <text>       required; at most 200 characters
  --body <text>        at most 2000 characters
  --category <name>    default "system"; users can mute a category in their preferences
  --priority <p>       low | normal | high | urgent (default normal); only urgent is pushed
                       during a user's quiet hours
  --link <path|url>    "/#room=general" or an http(s) URL
  --data <json>        a JSON object for your app, at most 4096 bytes
  --dedupe-key <key>   sending again with the same key is a no-op for users who have it
  --url <ws url>       the chat server; default ws://127.0.0.1:$PORT/trpc, the port the
                       server listens on ($PORT, 3000 when unset)
  --token <token>      the operator token; else $DUPLEX_ADMIN_TOKEN; else the file the
                       server writes on start: --token-file, $DUPLEX_DATA_DIR/admin-token,
                       examples/chat/.data/chat/admin-token (root \`npm start\` runs the
                       server in examples/chat), then .data/chat/admin-token at the repo root
  --token-file <path>  read the token from this file
  --timeout <seconds>  give up when the server is unreachable this long (default 5)
  -h, --help           this help

Prints "sent to N (pushed live to M)": N notifications stored, M of them pushed live (the
rest wait in the feed, by each user's preferences). Exits 1 on errors, 2 on bad usage.`;

const priorities = ['low', 'normal', 'high', 'urgent'] as const;
const isPriority = (p: string): p is (typeof priorities)[number] =>
  (priorities as readonly string[]).includes(p);

/** Where the chat server listens by default: `npm start` on `PORT` (3000 when unset). */
export const defaultUrl = (env: NodeJS.ProcessEnv = process.env) =>
  `ws://127.0.0.1:${env.PORT ?? 3000}/trpc`;

/**
 * Parses the CLI's arguments (without `node` and the script); `env` gives `PORT`. Display names
 * become user ids with the chat app's own {@link userIdOf}. Never exits.
 */
export function parseNotifyArgs(args: string[], env: NodeJS.ProcessEnv = process.env): ParsedArgs {
  let values: ReturnType<typeof parse>['values'];
  try {
    values = parse(args).values;
  } catch (error) {
    return { kind: 'usage', message: (error as Error).message };
  }
  if (values.help) return { kind: 'help' };
  const to = (values.to ?? [])
    .flatMap((list) => list.split(','))
    .map(userIdOf)
    .filter((id) => id !== '');
  if (to.length === 0) return { kind: 'usage', message: 'Missing --to <user>' };
  if (values.title === undefined) return { kind: 'usage', message: 'Missing --title <text>' };
  const priority = values.priority ?? 'normal';
  if (!isPriority(priority)) {
    return { kind: 'usage', message: `--priority must be one of ${priorities.join(', ')}` };
  }
  const timeoutSeconds = Number(values.timeout ?? 5);
  if (!(timeoutSeconds > 0)) return { kind: 'usage', message: '--timeout must be seconds > 0' };
  let data: Record<string, unknown> | undefined;
  if (values.data !== undefined) {
    try {
      data = JSON.parse(values.data);
    } catch {
      return { kind: 'usage', message: '--data must be JSON' };
    }
    if (typeof data !== 'object' || data === null || Array.isArray(data)) {
      return { kind: 'usage', message: '--data must be a JSON object' };
    }
  }
  const input: NotifyInput = {
    to: to.length === 1 ? to[0]! : to,
    category: values.category,
    priority,
    title: values.title,
    ...(values.body === undefined ? {} : { body: values.body }),
    ...(values.link === undefined ? {} : { link: values.link }),
    ...(data === undefined ? {} : { data: data as NotifyInput['data'] }),
    ...(values['dedupe-key'] === undefined ? {} : { dedupeKey: values['dedupe-key'] }),
  };
  return {
    kind: 'send',
    command: {
      url: values.url ?? defaultUrl(env),
      token: values.token,
      tokenFile: values['token-file'],
      timeoutMs: timeoutSeconds * 1_000,
      input,
    },
  };
}

const parse = (args: string[]) =>
  parseArgs({
    args,
    strict: true,
    allowPositionals: false,
    options: {
      to: { type: 'string', multiple: true },
      title: { type: 'string' },
      body: { type: 'string' },
      category: { type: 'string', default: 'system' },
      priority: { type: 'string' },
      link: { type: 'string' },
      data: { type: 'string' },
      'dedupe-key': { type: 'string' },
      url: { type: 'string' },
      token: { type: 'string' },
      'token-file': { type: 'string' },
      timeout: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
