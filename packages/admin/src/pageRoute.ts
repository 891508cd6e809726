import { createReadStream, readFileSync, statSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { dirname, extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DuplexRoute } from '@duplex/server';

/** Options of {@link DuplexAdmin.routes}. */
export interface AdminRoutesOptions {
  /**
   * Where the page is served: `<path>/` (and `<path>` redirects there).
   * @default '/admin'
   */
  path?: string;
  /**
   * The admin router's key in the app's router, written into the page.
   * @default 'admin'
   */
  mount?: string;
  /**
   * The WebSocket endpoint the page connects to, written into the page.
   * @default '' (the page's origin + `/trpc`)
   */
  url?: string;
  /**
   * Put before the token the operator types, written into the page: the chat example's
   * operator signs in as `admin:<token>`, so it passes `'admin:'` and the operator pastes the
   * token alone.
   * @default ''
   */
  tokenPrefix?: string;
  /**
   * The built page's directory.
   * @default `dist/page` of the installed `@duplex/admin`
   */
  dir?: string;
}

/** Defaults of {@link AdminRoutesOptions}. */
export const adminRoutesDefaults = { path: '/admin' } as const;

const contentTypes: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

/**
 * The page is code, not data (every figure comes through the authorized procedures), so it is
 * served to anyone; these keep it from being framed or from loading anything but itself.
 */
const securityHeaders = {
  'Content-Security-Policy':
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self' ws: wss:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
};

/** `dist/page` beside the package's `package.json`, found from source, `dist/` or a bundle. */
export function defaultPageDir(): string {
  try {
    const manifest = createRequire(import.meta.url).resolve('@duplex/admin/package.json');
    return join(dirname(manifest), 'dist/page');
  } catch {
    // Bundled where the package is not installed: `src/` and `dist/` both sit in the package.
    return fileURLToPath(new URL('../dist/page', import.meta.url));
  }
}

const escapeAttribute = (value: string) =>
  value.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');

/** `index.html` with the page's `<meta name="duplex-admin-…">` settings filled in. */
function configuredIndex(html: string, settings: Record<string, string>): string {
  let out = html;
  for (const [name, value] of Object.entries(settings)) {
    out = out.replace(
      new RegExp(`(<meta\\s+name="duplex-admin-${name}"\\s+content=")[^"]*(")`),
      (_, head: string, tail: string) => `${head}${escapeAttribute(value)}${tail}`,
    );
  }
  return out;
}

const isFile = (path: string) => statSync(path, { throwIfNoEntry: false })?.isFile() ?? false;

/** Serves the prebuilt dashboard page; 503 with a hint while it is not built. */
export function createAdminPageRoute(opts: AdminRoutesOptions = {}): DuplexRoute {
  const prefix = (opts.path ?? adminRoutesDefaults.path).replace(/\/+$/, '');
  if (!prefix.startsWith('/')) {
    throw new Error(`createDuplexAdmin: routes({ path }) must start with /, not ${prefix}`);
  }
  const root = resolve(opts.dir ?? defaultPageDir());
  const settings = {
    path: opts.mount ?? 'admin',
    url: opts.url ?? '',
    'token-prefix': opts.tokenPrefix ?? '',
  };
  const send = (res: ServerResponse, status: number, text: string, headers = {}) => {
    res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', ...headers });
    res.end(text);
  };
  return {
    prefix,
    handle(req: IncomingMessage, res: ServerResponse) {
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        return send(res, 405, 'Method not allowed', { Allow: 'GET, HEAD' });
      }
      const url = new URL(req.url ?? '/', 'http://localhost');
      // The page's asset URLs are relative (`./assets/…`): they need the trailing slash.
      if (url.pathname === prefix) {
        res.writeHead(308, { Location: `${prefix}/${url.search}` });
        res.end();
        return;
      }
      const index = join(root, 'index.html');
      if (!isFile(index)) {
        return send(
          res,
          503,
          'The admin page is not built: run `npm run build:page -w @duplex/admin`\n',
        );
      }
      let relative: string;
      try {
        relative = decodeURIComponent(url.pathname.slice(prefix.length + 1));
      } catch {
        return send(res, 400, 'Bad request');
      }
      let file = resolve(root, relative || 'index.html');
      if (relative.includes('\0') || (file !== root && !file.startsWith(root + sep))) {
        return send(res, 404, 'Not found');
      }
      if (!isFile(file)) {
        // A path without an extension is a view of the page (`/admin/connections`).
        if (extname(relative) !== '') return send(res, 404, 'Not found');
        file = index;
      }
      const isAsset = relative.startsWith('assets/');
      res.writeHead(200, {
        'Content-Type': contentTypes[extname(file)] ?? 'application/octet-stream',
        // Vite names assets by content hash; index.html must be asked for again each time.
        'Cache-Control': isAsset ? 'public, max-age=31536000, immutable' : 'no-cache',
        ...securityHeaders,
      });
      if (req.method === 'HEAD') {
        res.end();
        return;
      }
      if (file === index) {
        res.end(configuredIndex(readFileSync(index, 'utf8'), settings));
        return;
      }
      const stream = createReadStream(file);
      stream.on('error', () => res.destroy());
      res.once('close', () => stream.destroy());
      stream.pipe(res);
    },
  };
}
