import { readFileSync } from 'node:fs';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root, found from this file so the CLI works from any directory. */
export const repoRoot = fileURLToPath(new URL('../../..', import.meta.url));
/** Where root `npm start` runs the chat server (npm runs workspace scripts in the workspace). */
const chatDir = join(repoRoot, 'examples/chat');

/** Where the token came from, for messages. */
export interface AdminToken {
  token: string;
  source: string;
}

/**
 * The operator token: `--token`, else `$DUPLEX_ADMIN_TOKEN`, else the first file that exists of
 * `--token-file`, `$DUPLEX_DATA_DIR/admin-token` (a relative dir is taken from `examples/chat`,
 * as the server resolves it there), `examples/chat/.data/chat/admin-token` (the chat server's
 * default when started by root `npm start`), and `.data/chat/admin-token` at the repo root (the
 * server started from the root with tsx). Throws, naming every place tried, when none has one.
 */
export function resolveAdminToken(opts: {
  token?: string | undefined;
  tokenFile?: string | undefined;
  env?: NodeJS.ProcessEnv;
}): AdminToken {
  const env = opts.env ?? process.env;
  if (opts.token) return { token: opts.token, source: '--token' };
  if (env.DUPLEX_ADMIN_TOKEN)
    return { token: env.DUPLEX_ADMIN_TOKEN, source: 'DUPLEX_ADMIN_TOKEN' };
  const files = opts.tokenFile
    ? [resolve(opts.tokenFile)]
    : [
        ...(env.DUPLEX_DATA_DIR
          ? [join(resolve(chatDir, env.DUPLEX_DATA_DIR), 'admin-token')]
          : []),
        join(chatDir, '.data/chat/admin-token'),
        join(repoRoot, '.data/chat/admin-token'),
      ];
  for (const file of files) {
    let token: string;
    try {
      token = readFileSync(file, 'utf8').trim();
    } catch {
      continue;
    }
    if (token) return { token, source: display(file) };
  }
  throw new Error(
    `No operator token: pass --token or set DUPLEX_ADMIN_TOKEN, or start the chat server ` +
      `(npm start), which writes one to ${files.map(display).join(' or ')}`,
  );
}

const display = (file: string) => {
  const rel = relative(repoRoot, file);
  return rel.startsWith('..') || isAbsolute(rel) ? file : rel;
};
