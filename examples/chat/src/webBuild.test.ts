import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { buildWebApp, cleanups, startChat } from './e2eHelpers';

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe('the production build of the web app', () => {
  it('ships no source maps, and the server answers 404 for one', async () => {
    const dir = await buildWebApp();
    const files = (await readdir(dir, { recursive: true })).map((file) =>
      file.replaceAll('\\', '/'),
    );
    const scripts = files.filter((file) => file.endsWith('.js'));
    expect(scripts.length).toBeGreaterThan(0);
    expect(files.filter((file) => file.endsWith('.map'))).toEqual([]);
    for (const script of scripts) {
      expect(await readFile(join(dir, script), 'utf8')).not.toContain('sourceMappingURL');
    }

    const { url } = await startChat();
    const script = scripts[0]!;
    expect((await fetch(new URL(script, url))).status).toBe(200);
    const map = await fetch(new URL(`${script}.map`, url));
    expect(map.status).toBe(404);
    await map.body?.cancel();
  });
});
