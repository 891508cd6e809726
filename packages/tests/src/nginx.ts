import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Debian's nginx; proxy suites never download one. */
export const nginxPath = '/usr/sbin/nginx';

/**
 * Whether the proxy suites can run. Without nginx they are skipped with a warning, except under
 * `DUPLEX_REQUIRE_ALL_SUITES=1` (CI), where a missing nginx fails the run.
 */
export function nginxAvailable(suite: string): boolean {
  if (existsSync(nginxPath)) return true;
  const reason = `${suite} needs nginx at ${nginxPath}, which is missing`;
  if (process.env.DUPLEX_REQUIRE_ALL_SUITES === '1') {
    throw new Error(`${reason} (DUPLEX_REQUIRE_ALL_SUITES=1 makes every suite mandatory)`);
  }
  console.warn(`SKIPPED: ${reason}; install nginx (apt-get install nginx-light) to run it.`);
  return false;
}

/** A free TCP port on 127.0.0.1 (nginx cannot listen on port 0 and tell us which it got). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export interface NginxOptions {
  /** The Duplex server behind the proxy. */
  upstreamPort: number;
  /**
   * Pass WebSocket upgrades (`proxy_http_version 1.1` and the `Upgrade`/`Connection` headers).
   * Without it this is nginx's default proxying, which strips the upgrade.
   */
  websocket: boolean;
}

/** nginx in front of a Duplex server, on a free loopback port, its files in a temporary directory. */
export async function startNginx(opts: NginxOptions) {
  const dir = await mkdtemp(join(tmpdir(), 'duplex-nginx-'));
  const port = await freePort();
  const configFor = (websocket: boolean) => `
${process.getuid?.() === 0 ? 'user root;' : ''}
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path ${dir}/client_body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  map $http_upgrade $connection_upgrade { default upgrade; '' close; }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://127.0.0.1:${opts.upstreamPort};
      ${
        websocket
          ? `proxy_http_version 1.1;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection $connection_upgrade;
      proxy_read_timeout 60s;`
          : ''
      }
    }
  }
}
`;
  await writeFile(join(dir, 'nginx.conf'), configFor(opts.websocket));
  const child: ChildProcess = spawn(
    nginxPath,
    ['-p', dir, '-c', join(dir, 'nginx.conf'), '-g', 'daemon off;'],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.on('data', (chunk) => {
    stderr += chunk;
  });
  // Ready once it accepts connections.
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`nginx exited: ${stderr}`);
    const ok = await fetch(`http://127.0.0.1:${port}/healthz`).then(
      () => true,
      () => false,
    );
    if (ok) break;
    if (Date.now() > deadline) throw new Error(`nginx did not start: ${stderr}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    /** Rewrites the configuration and reloads it (SIGHUP); new connections get the new one. */
    async reconfigure(next: { websocket: boolean }) {
      await writeFile(join(dir, 'nginx.conf'), configFor(next.websocket));
      child.kill('SIGHUP');
      await new Promise((resolve) => setTimeout(resolve, 300));
    },
    async [Symbol.asyncDispose]() {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
      await rm(dir, { recursive: true, force: true });
    },
  };
}
