import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createDuplexClient, idempotent } from '@duplex/client';
import { createChatApp } from '@duplex/example-chat/app';
import type { AppRouter } from '@duplex/example-chat/router';
import { createMemoryBroker } from '@duplex/server';
import { afterEach, describe, expect, it } from 'vitest';
import { chatHelp, parseChatArgs } from './chatArgs';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/**
 * Runs the real CLI (`npm start` of this example) and collects its output lines: on `url`, or
 * with no `--url` and `PORT` set to `{ port }`.
 */
function runCli(server: string | { port: number }, name: string) {
  const cwd = fileURLToPath(new URL('..', import.meta.url));
  const { PORT: _, ...inherited } = process.env;
  const child: ChildProcessWithoutNullStreams = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      '--conditions=@duplex/source',
      'src/main.ts',
      ...(typeof server === 'string' ? ['--url', server] : []),
      '--name',
      name,
    ],
    {
      cwd,
      env: {
        ...inherited,
        NODE_NO_WARNINGS: '1',
        ...(typeof server === 'string' ? {} : { PORT: String(server.port) }),
      },
    },
  );
  const lines: string[] = [];
  let buffered = '';
  child.stdout.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    const parts = buffered.split('\n');
    buffered = parts.pop() ?? '';
    lines.push(...parts);
  });
  child.stderr.on('data', (chunk: Buffer) => lines.push(`stderr: ${chunk.toString().trim()}`));
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill();
      }),
  );
  return { child, lines, type: (line: string) => child.stdin.write(`${line}\n`) };
}

describe('terminal chat', () => {
  it('chats with a web user and survives a server restart without losing or repeating messages', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'duplex-chat-cli-'));
    cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
    const broker = createMemoryBroker();
    cleanups.push(() => broker.close());
    let app = await createChatApp({ dataDir, broker });
    const { port } = await app.server.listen(0, '127.0.0.1');
    cleanups.push(() => app.close());
    const url = `ws://127.0.0.1:${port}/trpc`;

    const web = createDuplexClient<AppRouter>({
      url,
      token: 'Grace',
      reconnect: { delayMs: () => 20 },
    });
    cleanups.push(() => web.$close());
    await web.chat.joinRoom.mutate({ roomId: 'general' });
    await web.chat.send.mutate(
      { roomId: 'general', clientMsgId: 'g1', text: 'hello from the web' },
      idempotent,
    );

    const cli = runCli(url, 'Ada');
    await expect
      .poll(() => cli.lines.join('\n'), { timeout: 20_000 })
      .toContain('Grace: hello from the web');
    cli.type('hi from the terminal');
    await expect
      .poll(
        async () =>
          (await web.chat.history.query({ roomId: 'general', limit: 5 })).map((m) => m.text),
        { timeout: 5_000 },
      )
      .toContain('hi from the terminal');

    await app.close();
    app = await createChatApp({ dataDir, broker });
    await app.server.listen(port, '127.0.0.1');
    await expect.poll(() => cli.lines.join('\n'), { timeout: 10_000 }).toContain('… back online');
    await web.chat.send.mutate(
      { roomId: 'general', clientMsgId: 'g2', text: 'after the restart' },
      idempotent,
    );
    await expect
      .poll(() => cli.lines.join('\n'), { timeout: 10_000 })
      .toContain('Grace: after the restart');
    const chat = cli.lines
      .filter((l) => /^\[\d\d:\d\d\] /.test(l))
      .map((l) => l.replace(/^\[\d\d:\d\d\] /, ''));
    expect(chat).toEqual([
      'Grace: hello from the web',
      'Ada: hi from the terminal',
      'Grace: after the restart',
    ]);
    expect(cli.lines.filter((l) => l.startsWith('stderr') || l.startsWith('!'))).toEqual([]);
  }, 60_000);
});

describe('terminal chat arguments', () => {
  it('connects to the port in PORT when no --url is given, as the server listens on it', async () => {
    const app = await createChatApp({ dataDir: null, staticDir: null });
    cleanups.push(() => app.close());
    const { port } = await app.server.listen(0, '127.0.0.1');
    const cli = runCli({ port }, 'Ada');
    await expect
      .poll(() => cli.lines.join('\n'), { timeout: 20_000 })
      .toContain('— joined #general');
  }, 30_000);

  it('defaults the URL to PORT, then 3000; --url wins', () => {
    const run = (args: string[], env: NodeJS.ProcessEnv) => parseChatArgs(args, env);
    expect(run(['--name', 'Ada'], { PORT: '4123' })).toEqual({
      kind: 'run',
      args: { url: 'ws://127.0.0.1:4123/trpc', name: 'Ada', room: 'general' },
    });
    expect(run(['--name', 'Ada', '--room', 'x'], {})).toEqual({
      kind: 'run',
      args: { url: 'ws://127.0.0.1:3000/trpc', name: 'Ada', room: 'x' },
    });
    expect(
      run(['--name', 'Ada', '--url', 'ws://example.test/trpc'], { PORT: '4123' }),
    ).toMatchObject({ args: { url: 'ws://example.test/trpc' } });
    expect(chatHelp).toContain('ws://127.0.0.1:$PORT/trpc');
  });

  it('answers bad usage and --help without connecting', () => {
    expect(parseChatArgs([], {})).toEqual({ kind: 'usage', message: 'Missing --name <your name>' });
    expect(parseChatArgs(['--name', 'Ada', '--bogus'], {})).toMatchObject({ kind: 'usage' });
    expect(parseChatArgs(['-h'], {})).toEqual({ kind: 'help' });
  });
});
