import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createDuplexClient } from '@duplex/client';
import { createChatApp } from '@duplex/example-chat/app';
import { type AppRouter, userIdOf as chatUserIdOf } from '@duplex/example-chat/router';
import type { NotificationEvent } from '@duplex/notifications';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveAdminToken } from './adminToken';
import { notifyHelp, parseNotifyArgs, userIdOf } from './notifyArgs';

const adminToken = 'test-token';
let app: Awaited<ReturnType<typeof createChatApp>>;
let url: string;
beforeAll(async () => {
  app = await createChatApp({ dataDir: null, adminToken, staticDir: null });
  const { port } = await app.server.listen(0, '127.0.0.1');
  url = `ws://127.0.0.1:${port}/trpc`;
});
afterAll(() => app?.close());

/** Runs the real CLI (`npm run notify` runs the same file) to its exit. */
function runCli(args: string[], env: Record<string, string> = {}) {
  const cwd = fileURLToPath(new URL('..', import.meta.url));
  const { DUPLEX_ADMIN_TOKEN: _, DUPLEX_DATA_DIR: __, ...inherited } = process.env;
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', '--conditions=@duplex/source', 'src/main.ts', ...args],
    { cwd, env: { ...inherited, NODE_NO_WARNINGS: '1', ...env } },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
    child.once('exit', (code) => resolve({ code, stdout, stderr })),
  );
}

// Each run starts a Node process with tsx (seconds on a busy machine), so they overlap.
/** A port nothing listens on: picked by the OS, then released. */
async function freePort() {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe.concurrent('notify CLI', () => {
  it('sends to several users, and a subscribed user receives it live', async ({ expect }) => {
    const dataDir = await mkdtemp(join(tmpdir(), 'duplex-notify-cli-'));
    await using _dir = { [Symbol.asyncDispose]: () => rm(dataDir, { recursive: true }) };
    // What examples/chat's main.ts writes on start; the CLI finds it through DUPLEX_DATA_DIR.
    await writeFile(join(dataDir, 'admin-token'), `${adminToken}\n`, { mode: 0o600 });

    await using ada = createDuplexClient<AppRouter>({ url, token: 'Ada' });
    const events: NotificationEvent[] = [];
    let started!: () => void;
    const subscribed = new Promise<void>((resolve) => (started = resolve));
    const sub = ada.notifications.onNotification.subscribe(
      {},
      { onStarted: () => started(), onData: ({ data }) => events.push(data as NotificationEvent) },
    );
    await subscribed;

    const run = await runCli(
      [
        ...['--url', url, '--to', 'Ada', '--to', 'grace,ada', '--title', 'Deploy at 5'],
        ...['--body', 'Expect a short outage', '--priority', 'high', '--category', 'ops'],
        ...['--link', '/#room=general'],
      ],
      { DUPLEX_DATA_DIR: dataDir },
    );
    expect(run.stderr).toBe('');
    expect(run).toMatchObject({ code: 0, stdout: 'sent to 2 (pushed live to 2)\n' });
    await expect.poll(() => events.length).toBe(1);
    expect(events[0]).toMatchObject({
      type: 'notification.created',
      unreadCount: 1,
      notification: {
        userId: 'ada',
        category: 'ops',
        priority: 'high',
        title: 'Deploy at 5',
        body: 'Expect a short outage',
        link: '/#room=general',
      },
    });
    sub.unsubscribe();

    await using grace = createDuplexClient<AppRouter>({ url, token: 'Grace' });
    const feed = await grace.notifications.feed.query({});
    expect(feed.items.map((n) => n.title)).toEqual(['Deploy at 5']);
  });

  it('reaches the server on the port in PORT when no --url is given', async ({ expect }) => {
    const run = await runCli(['--to', 'Linus', '--title', 'via PORT', '--token', adminToken], {
      PORT: new URL(url).port,
    });
    expect(run.stderr).toBe('');
    expect(run).toMatchObject({ code: 0, stdout: expect.stringMatching(/^sent to 1 /) });
  });

  it('exits non-zero and says unauthorized when the server refuses the token', async ({
    expect,
  }) => {
    const run = await runCli(['--url', url, '--to', 'ada', '--title', 'hi', '--token', 'wrong']);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/unauthorized.*--token/i);
    expect(run.stdout).toBe('');
  });

  it('exits non-zero with the limit in the message when the title is too long', async ({
    expect,
  }) => {
    const run = await runCli(['--url', url, '--to', 'ada', '--title', 'x'.repeat(201)], {
      DUPLEX_ADMIN_TOKEN: adminToken,
    });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('Title too long: at most 200 characters');
  });

  it('gives up on an unreachable server after --timeout', async ({ expect }) => {
    const port = await freePort();
    const started = Date.now();
    const run = await runCli(
      ['--url', `ws://127.0.0.1:${port}/trpc`, '--to', 'ada', '--title', 'hi', '--timeout', '1'],
      { DUPLEX_ADMIN_TOKEN: adminToken },
    );
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`Cannot reach the server at ws://127.0.0.1:${port}/trpc`);
    expect(Date.now() - started).toBeLessThan(15_000);
  });
});

describe('notify CLI arguments', () => {
  it('splits commas, repeats --to, and turns display names into chat user ids', () => {
    const parsed = parseNotifyArgs(['--to', 'Ada Lovelace,grace', '--to', 'Linus', '--title', 't']);
    expect(parsed).toMatchObject({
      kind: 'send',
      command: { input: { to: ['ada-lovelace', 'grace', 'linus'], priority: 'normal' } },
    });
  });

  it('converts names as the chat sign-in does, with its own userIdOf', () => {
    const parsed = parseNotifyArgs(['--to', 'Ada_Lovelace, GRACE  hopper', '--title', 't']);
    expect(parsed).toMatchObject({ command: { input: { to: ['ada-lovelace', 'grace-hopper'] } } });
    expect(userIdOf).toBe(chatUserIdOf);
  });

  it('defaults the URL to the port in PORT, then 3000; --url wins', () => {
    const send = ['--to', 'ada', '--title', 't'];
    expect(parseNotifyArgs(send, { PORT: '4123' })).toMatchObject({
      command: { url: 'ws://127.0.0.1:4123/trpc' },
    });
    expect(parseNotifyArgs(send, {})).toMatchObject({
      command: { url: 'ws://127.0.0.1:3000/trpc' },
    });
    expect(parseNotifyArgs([...send, '--url', 'ws://h/trpc'], { PORT: '4123' })).toMatchObject({
      command: { url: 'ws://h/trpc' },
    });
    expect(notifyHelp).toContain('ws://127.0.0.1:$PORT/trpc');
  });

  it('answers bad usage with a message instead of sending', () => {
    expect(parseNotifyArgs(['--title', 't'])).toEqual({
      kind: 'usage',
      message: 'Missing --to <user>',
    });
    expect(parseNotifyArgs(['--to', 'a', '--title', 't', '--priority', 'max'])).toMatchObject({
      kind: 'usage',
      message: expect.stringContaining('low, normal, high, urgent'),
    });
    expect(parseNotifyArgs(['--to', 'a', '--title', 't', '--data', '[1]'])).toMatchObject({
      kind: 'usage',
    });
  });

  it('takes the token from --token, then the environment, then the token file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'duplex-notify-token-'));
    await using _dir = { [Symbol.asyncDispose]: () => rm(dir, { recursive: true }) };
    await writeFile(join(dir, 'admin-token'), 'from-file\n');
    const env = { DUPLEX_ADMIN_TOKEN: 'from-env', DUPLEX_DATA_DIR: dir };
    expect(resolveAdminToken({ token: 'from-flag', env }).token).toBe('from-flag');
    expect(resolveAdminToken({ env }).token).toBe('from-env');
    expect(resolveAdminToken({ env: { DUPLEX_DATA_DIR: dir } })).toEqual({
      token: 'from-file',
      source: join(dir, 'admin-token'),
    });
    expect(() => resolveAdminToken({ tokenFile: join(dir, 'missing'), env: {} })).toThrow(
      /No operator token.*missing/,
    );
  });
});
