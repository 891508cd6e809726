/**
 * Duplex as a stranger installs it: every package packed to a tarball, installed into a project
 * in a temporary folder outside this repository (no workspace links, no `@duplex/source`
 * condition), with tRPC at the oldest and the newest version of the supported range.
 */
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromiumAvailable, launchChromium } from './browser';
import {
  type ConsumerVersions,
  codeBlocksOf,
  consumerVersions,
  dependencyClosure,
  newestTrpcVersion,
  oldestTrpcVersion,
  type Packed,
  packDuplex,
  run,
  startProcess,
} from './consumerKit';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const fixtures = fileURLToPath(new URL('../consumer/', import.meta.url));
const keep = process.env.DUPLEX_KEEP_CONSUMER === '1';
const hasChromium = chromiumAvailable("the consumer's React page");

/** The compiler's error lines for one tsconfig of the consumer: none when it passes. */
async function typeErrors(dir: string, tsconfig: string): Promise<string[]> {
  const outcome = await run('npx', ['tsc', '-p', tsconfig, '--pretty', 'false'], {
    cwd: dir,
    timeoutMs: 120_000,
  }).then(
    () => '',
    (error: Error) => error.message,
  );
  return outcome.split('\n').filter((line) => /\): error TS\d+/.test(line));
}

/**
 * tRPC 11.22's own `adapters/ws` declarations (`import ws from 'ws'`, then `ws.WebSocket`) fail
 * under `skipLibCheck: false` with today's `@types/ws`, in any tRPC app that imports
 * `@trpc/client`; 11.25 imports the names instead. docs/getting-started.md says so.
 */
function knownTrpcDeclarationError(trpcVersion: string, line: string): boolean {
  return (
    trpcVersion.startsWith('11.22.') &&
    /^node_modules\/@trpc\/server\/dist\/ws-[\w-]+\.d\.mts\(\d+,\d+\): error TS2694: Namespace 'WebSocket' has no exported member/.test(
      line,
    )
  );
}

let workDir: string;
let packed: Packed[];
let versions: ConsumerVersions;
const trpcVersions = [oldestTrpcVersion, await newestTrpcVersion()];
/**
 * @duplex/react supports React 18.2+ and 19: the oldest tRPC end runs on React 18, the newest on
 * the React the repo runs (19), so both majors render the same component in Chromium.
 */
const react18 = {
  react: '18.3.1',
  reactDom: '18.3.1',
  typesReact: '18.3.32',
  typesReactDom: '18.3.7',
};
const reactFor = (trpc: string) => (trpc === oldestTrpcVersion ? react18 : versions);

beforeAll(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'duplex-consumer-'));
  versions = await consumerVersions(repoRoot);
  packed = await packDuplex(repoRoot, join(workDir, 'tarballs'));
  for (const p of packed)
    console.log(
      `[consumer] ${p.filename}: ${p.size} bytes packed, ${p.unpackedSize} unpacked, ${p.entryCount} files`,
    );
}, 300_000);

afterAll(async () => {
  if (workDir && !keep) await rm(workDir, { recursive: true, force: true });
});

it('packs every package with its build, sources and README, and no tests', () => {
  expect(packed.map((p) => p.name).sort()).toEqual([
    '@duplex/admin',
    '@duplex/chat',
    '@duplex/client',
    '@duplex/notifications',
    '@duplex/protocol',
    '@duplex/react',
    '@duplex/redis',
    '@duplex/server',
    '@duplex/sql',
  ]);
  for (const p of packed) {
    const paths = p.files.map((f) => f.path);
    expect(paths).toContain('dist/index.js');
    expect(paths).toContain('dist/index.d.ts');
    expect(paths).toContain('README.md');
    expect(paths.filter((path) => /\.test(-d)?\.tsx?$/.test(path))).toEqual([]);
  }
  // The dashboard's page, built by its `prepack` (vite), ships beside the router.
  const admin = packed.find((p) => p.name === '@duplex/admin')!.files.map((f) => f.path);
  expect(admin).toContain('dist/page/index.html');
  expect(admin.filter((path) => /^dist\/page\/assets\/index-[\w-]+\.js$/.test(path))).toHaveLength(
    1,
  );
  expect(admin.filter((path) => /^dist\/page\/assets\/index-[\w-]+\.css$/.test(path))).toHaveLength(
    1,
  );
  // No source maps for the page: whoever loads it would get its whole source. Nor its sources:
  // nothing shipped refers to them, and they cannot be built without the repo's vite config.
  expect(admin.filter((path) => path.startsWith('dist/page/') && path.endsWith('.map'))).toEqual(
    [],
  );
  expect(admin.filter((path) => path.startsWith('src/page/'))).toEqual([]);
  expect(admin).toContain('src/adminRouter.ts');
});

describe.each(trpcVersions)('a consumer on tRPC %s', (version) => {
  let dir: string;
  const trpcVersion = () => version;

  beforeAll(async () => {
    dir = join(workDir, `app-${trpcVersion()}`);
    await mkdir(dir, { recursive: true });
    const tarball = (name: string) =>
      `file:${join(workDir, 'tarballs', packed.find((p) => p.name === name)!.filename)}`;
    const manifest = {
      name: 'duplex-consumer',
      private: true,
      type: 'module',
      dependencies: {
        '@duplex/admin': tarball('@duplex/admin'),
        '@duplex/chat': tarball('@duplex/chat'),
        '@duplex/client': tarball('@duplex/client'),
        '@duplex/notifications': tarball('@duplex/notifications'),
        '@duplex/protocol': tarball('@duplex/protocol'),
        '@duplex/react': tarball('@duplex/react'),
        '@duplex/redis': tarball('@duplex/redis'),
        '@duplex/server': tarball('@duplex/server'),
        '@duplex/sql': tarball('@duplex/sql'),
        '@electric-sql/pglite': versions.pglite,
        '@trpc/client': trpcVersion(),
        '@trpc/server': trpcVersion(),
        '@tanstack/react-query': versions.tanstackReactQuery,
        '@trpc/tanstack-react-query': versions.trpcTanstackReactQuery,
        react: reactFor(trpcVersion()).react,
        'react-dom': reactFor(trpcVersion()).reactDom,
        zod: versions.zod,
      },
      devDependencies: {
        '@types/node': versions.typesNode,
        '@types/react': reactFor(trpcVersion()).typesReact,
        '@types/react-dom': reactFor(trpcVersion()).typesReactDom,
        esbuild: versions.esbuild,
        superjson: versions.superjson,
        tsx: versions.tsx,
        typescript: versions.typescript,
        vitest: versions.vitest,
        ws: versions.ws,
      },
      // What a React app adds for @duplex/react: the registry's @trpc/tanstack-react-query
      // (11.22.1) pins @trpc/client and @trpc/server exactly, so on any other 11.x npm would
      // install a second tRPC beside the app's, and the React hooks would run on one copy while
      // the Duplex client runs on the other. `$name` points it at the app's own version.
      overrides: {
        '@trpc/tanstack-react-query': {
          '@trpc/client': '$@trpc/client',
          '@trpc/server': '$@trpc/server',
        },
      },
    };
    await writeFile(join(dir, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
    await cp(fixtures, dir, { recursive: true });
    // docs/getting-started.md and the admin README, verbatim: each ```ts block that opens
    // with `// name.ts`.
    for (const doc of ['docs/getting-started.md', 'packages/admin/README.md']) {
      for (const block of codeBlocksOf(await readFile(join(repoRoot, doc), 'utf8'))) {
        await writeFile(join(dir, block.file), block.code);
      }
    }
    // The handler conformance suite, as it runs in this repo, now on the installed packages.
    await mkdir(join(dir, 'conformance'));
    for (const file of ['conformance.test.ts', 'conformanceFixtures.ts', 'helpers.ts']) {
      await cp(join(repoRoot, 'packages/tests/src', file), join(dir, 'conformance', file));
    }
    await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline'], {
      cwd: dir,
      timeoutMs: 300_000,
    });
  }, 360_000);

  it('installs the tRPC version under test, once', async () => {
    const { stdout } = await run('npm', ['ls', '--all', '--json', '@trpc/server', '@trpc/client'], {
      cwd: dir,
    });
    const found = new Set<string>();
    type Tree = { version?: string; dependencies?: Record<string, Tree> };
    const walk = (node: Tree) => {
      for (const [name, dep] of Object.entries(node.dependencies ?? {})) {
        if (name.startsWith('@trpc/')) found.add(`${name}@${dep.version}`);
        walk(dep);
      }
    };
    walk(JSON.parse(stdout));
    expect([...found].sort()).toEqual([
      `@trpc/client@${trpcVersion()}`,
      `@trpc/server@${trpcVersion()}`,
      `@trpc/tanstack-react-query@${versions.trpcTanstackReactQuery}`,
    ]);
  });

  it.each(['node16', 'bundler'])(
    'type-checks a server and clients under %s resolution, with skipLibCheck off',
    async (resolution) => {
      const errors = await typeErrors(dir, `tsconfig.${resolution}.json`);
      expect(errors.filter((line) => !knownTrpcDeclarationError(version, line))).toEqual([]);
    },
    130_000,
  );

  it('rejects wrong inputs and outputs through the installed client', async () => {
    await writeFile(
      join(dir, 'wrong.ts'),
      [
        "import { createDuplexClient } from '@duplex/client';",
        "import type { AppRouter } from './chatServer.js';",
        "const c = createDuplexClient<AppRouter>({ url: 'ws://127.0.0.1:1/trpc' });",
        'const n: number = await c.ping.query();',
        'await c.chat.history.query({ roomId: 1 });',
        'export { n };',
        '',
      ].join('\n'),
    );
    try {
      const errors = await typeErrors(dir, 'tsconfig.node16.json');
      expect(errors.filter((line) => !knownTrpcDeclarationError(version, line))).toEqual([
        expect.stringMatching(
          /^wrong\.ts\(4,7\): error TS2322: Type '(string|"pong")' is not assignable to type 'number'/,
        ),
        expect.stringMatching(
          /^wrong\.ts\(5,30\): error TS2322: Type 'number' is not assignable to type 'string'/,
        ),
      ]);
    } finally {
      await rm(join(dir, 'wrong.ts'));
    }
  }, 130_000);

  it('runs the getting-started app as the guide writes it', async () => {
    await using server = await startProcess('npx', ['tsx', 'server.ts'], {
      cwd: dir,
      env: { PORT: '0' },
    });
    const listening = await server.waitFor(/Listening on (http:\/\/\S+)/);
    const port = new URL(listening[1]!).port;
    // The guide's client dials port 3000; the test runs it against the port the OS gave.
    const clientCode = (await readFile(join(dir, 'client.ts'), 'utf8')).replace(
      'ws://127.0.0.1:3000/trpc',
      `ws://127.0.0.1:${port}/trpc`,
    );
    await writeFile(join(dir, 'clientOnPort.ts'), clientCode);
    await using client = await startProcess('npx', ['tsx', 'clientOnPort.ts'], { cwd: dir });
    await client.waitFor(/signed in as Alice/);
    await client.waitFor(/Alice: hello/);
  }, 60_000);

  it('sends a chat message on PGlite and receives it on a subscription', async () => {
    await using server = await startProcess('npx', ['tsx', 'chatServer.ts'], { cwd: dir });
    const [, url] = await server.waitFor(/listening (http:\/\/\S+)/);
    const { stdout } = await run('npx', ['tsx', 'chatClient.ts'], {
      cwd: dir,
      env: { SERVER_URL: url! },
      timeoutMs: 30_000,
    });
    expect(JSON.parse(stdout.trim().split('\n').at(-1)!)).toEqual({
      pong: 'pong',
      text: 'hello',
      sameId: true,
    });
  }, 60_000);

  it("serves the admin README's dashboard from the installed package, to its operator only", async () => {
    const operatorToken = `ops-${Math.random().toString(36).slice(2)}`;
    await using server = await startProcess('npx', ['tsx', 'adminServer.ts'], {
      cwd: dir,
      env: { PORT: '0', OPERATOR_TOKEN: operatorToken },
    });
    const [, pageUrl] = await server.waitFor(/Dashboard: (http:\/\/\S+\/admin\/)/);
    const installedPage = join(dir, 'node_modules/@duplex/admin/dist/page');
    const page = await fetch(pageUrl!);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');
    const html = await page.text();
    expect(html).toContain('<meta name="duplex-admin-path" content="admin" />');
    expect(html).toContain('<meta name="duplex-admin-url" content="" />');
    expect(html).toContain('<meta name="duplex-admin-token-prefix" content="" />');
    // The default settings leave the installed index.html as built.
    expect(html).toBe(await readFile(join(installedPage, 'index.html'), 'utf8'));
    const assets = [...html.matchAll(/(?:src|href)="\.\/(assets\/[\w.-]+\.(?:js|css))"/g)].map(
      (m) => m[1]!,
    );
    expect(assets).toHaveLength(2);
    for (const asset of assets) {
      const res = await fetch(new URL(asset, pageUrl));
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/(javascript|css)/);
      expect(Buffer.from(await res.arrayBuffer())).toEqual(
        await readFile(join(installedPage, asset)),
      );
    }
    const { stdout } = await run('npx', ['tsx', 'adminClient.ts'], {
      cwd: dir,
      env: { SERVER_URL: new URL(pageUrl!).origin, OPERATOR_TOKEN: operatorToken },
      timeoutMs: 30_000,
    });
    const outcome = JSON.parse(stdout.trim().split('\n').at(-1)!) as {
      refused: string;
      whoami: { userId: string; nodeId: string | null };
      frame: { nodes: string[]; websocket: number; historyEntries: number };
    };
    expect(outcome.refused).toBe('FORBIDDEN');
    expect(outcome.whoami).toEqual({ userId: 'ops', nodeId: expect.any(String) });
    // The node that answered whoami reports itself, with both clients' sockets.
    expect(outcome.frame.nodes).toEqual([outcome.whoami.nodeId]);
    expect(outcome.frame.websocket).toBe(2);
  }, 60_000);

  it('names the package to install when a driver is missing', async () => {
    const { stdout } = await run('npx', ['tsx', 'missingDriver.ts'], { cwd: dir });
    expect(stdout).toContain(
      'DriverMissingError createPostgresDatabase() needs the optional peer dependency pg',
    );
    expect(stdout).toContain('npm install pg');
  });

  it('bundles the client for browsers with no Node code', async () => {
    const { stdout } = await run('node', ['bundleBrowser.mjs'], { cwd: dir });
    const report = JSON.parse(stdout) as {
      nodeImports: string[];
      inputs: string[];
      minBytes: number;
      gzipBytes: number;
    };
    console.log(
      `[consumer] tRPC ${trpcVersion()}: browser bundle ${report.minBytes} B min, ${report.gzipBytes} B min+gzip`,
    );
    expect(report.nodeImports).toEqual([]);
    expect(
      report.inputs.filter((input) =>
        /node_modules\/(ws|eventsource|sirv|@duplex\/server)\//.test(input),
      ),
    ).toEqual([]);
    expect(
      report.inputs.some((input) =>
        input.includes('node_modules/@duplex/client/dist/webSocketBrowser.js'),
      ),
    ).toBe(true);
  });

  it.skipIf(!hasChromium)(
    'renders a React component with a query and a live subscription in Chromium',
    async () => {
      await run('node', ['bundleReact.mjs'], { cwd: dir });
      await using server = await startProcess('npx', ['tsx', 'reactServer.ts'], {
        cwd: dir,
        env: { STATIC_DIR: join(dir, 'web') },
      });
      const [, url] = await server.waitFor(/listening (http:\/\/\S+)/);
      const browser = await launchChromium();
      try {
        const page = await browser.newPage();
        const errors: string[] = [];
        page.on('pageerror', (error) => errors.push(error.message));
        page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
        await page.goto(url!);
        const installedReact = JSON.parse(
          await readFile(join(dir, 'node_modules/react/package.json'), 'utf8'),
        ) as { version: string };
        expect(installedReact.version).toBe(reactFor(version).react);
        const waitOpts = { timeout: 10_000, interval: 50 };
        await expect
          .poll(() => page.locator('#greeting').textContent(), waitOpts)
          .toBe('hello Ada 1970');
        await expect.poll(() => page.locator('#live').textContent(), waitOpts).toBe('live');
        await page.getByRole('button', { name: 'Announce' }).click();
        await expect
          .poll(() => page.locator('#news li').allTextContents(), waitOpts)
          .toEqual(['live from the server']);
        expect(errors).toEqual([]);
      } finally {
        await browser.close();
      }
    },
    60_000,
  );

  it('gives a browser app no server code in its dependency tree', async () => {
    const closure = await dependencyClosure(dir, '@duplex/client');
    expect(closure).toContain('@duplex/protocol');
    for (const serverOnly of ['@duplex/server', 'sirv', '@electric-sql/pglite', 'pg', 'ioredis']) {
      expect(closure).not.toContain(serverOnly);
    }
  });

  it('passes the handler conformance suite', async () => {
    await run('npx', ['vitest', 'run', '--root', 'conformance', '--reporter', 'dot'], {
      cwd: dir,
      timeoutMs: 240_000,
    });
  }, 250_000);
});
