import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createChatApp } from '@duplex/example-chat/app';
import { afterEach, describe, expect, it } from 'vitest';
import { botHelp, parseBotArgs } from './args';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe('assistant bot arguments', () => {
  it('defaults the URL to the port in PORT, then 3000; --url wins', () => {
    expect(parseBotArgs([], { PORT: '4123' })).toMatchObject({
      kind: 'run',
      args: { url: 'ws://127.0.0.1:4123/trpc', name: 'Duplex Bot' },
    });
    expect(parseBotArgs(['--name', 'Ada Bot'], {})).toMatchObject({
      args: { url: 'ws://127.0.0.1:3000/trpc', name: 'Ada Bot' },
    });
    expect(parseBotArgs(['--url', 'ws://h:1/trpc'], { PORT: '4123' })).toMatchObject({
      args: { url: 'ws://h:1/trpc' },
    });
    expect(botHelp).toContain('ws://127.0.0.1:$PORT/trpc');
  });

  it('answers --help, and bad usage with a message', () => {
    expect(parseBotArgs(['-h'], {})).toEqual({ kind: 'help' });
    expect(parseBotArgs(['--bogus'], {})).toMatchObject({ kind: 'usage' });
    expect(parseBotArgs(['stray'], {})).toMatchObject({ kind: 'usage' });
  });

  it('signs in to the server on the port in PORT when no --url is given', async () => {
    const app = await createChatApp({ dataDir: null, staticDir: null });
    cleanups.push(() => app.close());
    const { port } = await app.server.listen(0, '127.0.0.1');
    const dir = await mkdtemp(join(tmpdir(), 'duplex-bot-args-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const { PORT: _, ...inherited } = process.env;
    const child = spawn(
      process.execPath,
      [
        ...['--import', 'tsx', '--conditions=@duplex/source', 'src/main.ts'],
        ...['--state', join(dir, 'state.json')],
      ],
      {
        cwd: fileURLToPath(new URL('..', import.meta.url)),
        env: { ...inherited, NODE_NO_WARNINGS: '1', PORT: String(port) },
      },
    );
    cleanups.push(
      () =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null) return resolve();
          child.once('exit', () => resolve());
          child.kill();
        }),
    );
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    await expect
      .poll(() => output, { timeout: 20_000 })
      .toContain(`signed in as Duplex Bot at ws://127.0.0.1:${port}/trpc`);
  }, 30_000);
});
