import { existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll } from 'vitest';

/** Debian's Chromium; browser suites never download a browser. */
export const chromiumPath = '/usr/bin/chromium';

/**
 * Whether a browser suite can run. Without Chromium it is skipped with a warning, except under
 * `DUPLEX_REQUIRE_ALL_SUITES=1` (CI), where a missing browser fails the run.
 */
export function chromiumAvailable(suite: string): boolean {
  if (existsSync(chromiumPath)) return true;
  const reason = `${suite} needs Chromium at ${chromiumPath}, which is missing`;
  if (process.env.DUPLEX_REQUIRE_ALL_SUITES === '1') {
    throw new Error(`${reason} (DUPLEX_REQUIRE_ALL_SUITES=1 makes every suite mandatory)`);
  }
  console.warn(`SKIPPED: ${reason}; install chromium to run it.`);
  return false;
}

/** Headless Chromium with the flags every browser suite uses, and any `extraArgs`. */
export function launchChromium(extraArgs: readonly string[] = []): Promise<Browser> {
  return chromium.launch({
    executablePath: chromiumPath,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      ...extraArgs,
    ],
  });
}

/**
 * Where a test writes a screenshot: into `docs/images/<name>` when
 * `DUPLEX_UPDATE_SCREENSHOTS=1`, else into a temporary directory so a test run leaves the
 * working tree alone.
 */
export function screenshotPath(name: string): string {
  const path =
    process.env.DUPLEX_UPDATE_SCREENSHOTS === '1'
      ? fileURLToPath(new URL(`../../../docs/images/${name}`, import.meta.url))
      : join(tmpdir(), `duplex-screenshot-${process.pid}-${name}`);
  mkdirSync(dirname(path), { recursive: true });
  return path;
}

/**
 * Launches Chromium once for the enclosing `describe` (after `prepare`, e.g. building the page)
 * and closes it after; returns the browser's getter.
 */
export function useChromium(prepare?: () => Promise<unknown>): () => Browser {
  let browser: Browser | undefined;
  beforeAll(async () => {
    await prepare?.();
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
  });
  return () => {
    if (!browser) throw new Error('Chromium is not running: call the getter inside a test');
    return browser;
  };
}
