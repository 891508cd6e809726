import { defineConfig } from 'vitest/config';

/** Tests import workspace packages from source through this export condition. */
const resolve = { conditions: ['@duplex/source'] };

export default defineConfig({
  resolve,
  ssr: { resolve: { conditions: ['@duplex/source'] } },
  test: {
    projects: [
      {
        resolve,
        ssr: { resolve: { conditions: ['@duplex/source'] } },
        test: {
          name: 'unit',
          include: ['packages/*/src/**/*.test.{ts,tsx}'],
          exclude: ['packages/tests/**'],
          // Store suites open PGlite and run migrations in their hooks: seconds on a busy machine.
          testTimeout: 20_000,
          hookTimeout: 30_000,
          typecheck: {
            enabled: true,
            include: ['packages/*/src/**/*.test-d.{ts,tsx}'],
            tsconfig: './tsconfig.json',
          },
        },
      },
      {
        resolve,
        ssr: { resolve: { conditions: ['@duplex/source'] } },
        test: {
          name: 'integration',
          include: ['packages/tests/src/**/*.test.ts', 'examples/*/src/**/*.test.ts'],
          exclude: [
            'packages/tests/src/consumer.test.ts',
            'packages/tests/src/hostileProcess.test.ts',
          ],
          testTimeout: 30_000,
          hookTimeout: 30_000,
        },
      },
      {
        resolve,
        ssr: { resolve: { conditions: ['@duplex/source'] } },
        test: {
          // The core suites again on the stock tRPC handler (the default is Duplex's own), so
          // both stay green; the conformance suite compares the two directly.
          name: 'integration-stock',
          include: [
            'packages/tests/src/{auth,failover,fuzz,inspector,keepalive,limits,metrics,reconnect,roundtrip}.test.ts',
          ],
          env: { DUPLEX_TEST_HANDLER: 'stock' },
          testTimeout: 30_000,
          hookTimeout: 30_000,
        },
      },
      {
        resolve,
        ssr: { resolve: { conditions: ['@duplex/source'] } },
        test: {
          // Attacks from another process with memory bounds: run on their own after the others
          // (`npm test`), so the suites beside them do not move the server's memory or timing.
          name: 'hostile',
          include: ['packages/tests/src/hostileProcess.test.ts'],
          testTimeout: 60_000,
          hookTimeout: 30_000,
        },
      },
      {
        // Packs every package and installs the tarballs in a project outside the repo: run on
        // its own after the others (`npm test`), as it builds, installs and type-checks.
        test: {
          name: 'consumer',
          include: ['packages/tests/src/consumer.test.ts'],
          testTimeout: 60_000,
          hookTimeout: 360_000,
        },
      },
    ],
  },
});
