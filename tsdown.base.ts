import { defineConfig, type UserConfig } from 'tsdown';

/**
 * How every publishable Duplex package builds: ESM + bundled `.d.ts` per entry, dependencies and
 * peers left external (tsdown reads them from package.json), then publint and
 * @arethetypeswrong/cli on the result. A package's `tsdown.config.ts` names only its entries.
 */
export function duplexPackage(entry: string[], overrides: UserConfig = {}) {
  return defineConfig({
    entry,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    dts: true,
    sourcemap: true,
    clean: true,
    fixedExtension: false,
    // The declaration pass dominates every build; its timing note is noise, not a warning.
    checks: { pluginTimings: false },
    // The repo's tsconfig resolves sibling packages to their sources (`@duplex/source`), so
    // declarations build in any order; siblings stay external all the same.
    tsconfig: '../../tsconfig.json',
    // `#websocket`/`#eventsource` are package `imports`: resolved by the consumer's runtime or
    // bundler (browser or Node), never at build time.
    deps: { neverBundle: [/^#/], onlyBundle: false },
    publint: { strict: true },
    attw: { profile: 'esm-only', level: 'error' },
    failOnWarn: true,
    ...overrides,
  });
}
