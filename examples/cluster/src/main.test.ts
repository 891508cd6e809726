import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

describe('npm start in examples/cluster', () => {
  it('tells the user clearly when redis-server is missing', async () => {
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        '--conditions=@duplex/source',
        fileURLToPath(new URL('./main.ts', import.meta.url)),
      ],
      {
        env: { ...process.env, REDIS_SERVER: '/nonexistent/redis-server', REDIS_URL: '' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    const code = await new Promise((resolve) => child.once('exit', resolve));
    expect(code).toBe(1);
    expect(stderr).toContain(
      'The cluster needs redis-server, and "/nonexistent/redis-server" was not found.',
    );
    expect(stderr).toContain('sudo apt-get install redis-server');
  });
});
