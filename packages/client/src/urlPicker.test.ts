import { describe, expect, it } from 'vitest';
import { createUrlPicker, type DuplexUrlContext } from './urlPicker';

describe('createUrlPicker', () => {
  it('stays on a single endpoint, turned into ws(s)', async () => {
    const next = createUrlPicker('http://a:3000/trpc');
    expect([await next(), await next()]).toEqual(['ws://a:3000/trpc', 'ws://a:3000/trpc']);
  });

  it('moves to the next endpoint on every reconnect, round and round', async () => {
    const next = createUrlPicker(['ws://a/trpc', 'https://b/trpc', 'ws://c/trpc']);
    const urls = [];
    for (let i = 0; i < 5; i++) urls.push(await next());
    expect(urls).toEqual([
      'ws://a/trpc',
      'wss://b/trpc',
      'ws://c/trpc',
      'ws://a/trpc',
      'wss://b/trpc',
    ]);
  });

  it('asks a function before every attempt, telling it the previous URL', async () => {
    const seen: DuplexUrlContext[] = [];
    const next = createUrlPicker(async (context) => {
      seen.push(context);
      return context.connection === 0 ? 'ws://a/trpc' : 'ws://b/trpc';
    });
    expect([await next(), await next()]).toEqual(['ws://a/trpc', 'ws://b/trpc']);
    expect(seen).toEqual([
      { connection: 0, previousUrl: null },
      { connection: 1, previousUrl: 'ws://a/trpc' },
    ]);
  });

  it('refuses bad endpoints up front with a clear error', () => {
    expect(() => createUrlPicker([])).toThrow(/lists no endpoint/);
    expect(() => createUrlPicker(['ws://a/trpc', 'ftp://b'])).toThrow(/ws, wss, http or https/);
    expect(() => createUrlPicker('nope')).toThrow(/invalid url "nope"/);
  });

  it('rejects an attempt whose function returns a bad endpoint', async () => {
    await expect(createUrlPicker(() => 'file:///x')()).rejects.toThrow(/not file:/);
  });
});
