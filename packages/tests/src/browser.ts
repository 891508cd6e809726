import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, chromium, type Locator, type Page } from 'playwright-core';
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

/**
 * 'on screen' when the element is wholly inside the viewport and on top at its center, else
 * why not. With `scroll`, it is first scrolled into view (a long page); without, it must be in
 * view as the page stands (a header or composer that must never leave the screen).
 */
export async function onScreen(
  page: Page,
  locator: Locator,
  opts: { scroll?: boolean } = {},
): Promise<string> {
  if (opts.scroll) await locator.scrollIntoViewIfNeeded();
  const box = await locator.boundingBox();
  const view = page.viewportSize()!;
  if (!box) return 'not rendered';
  const inside =
    box.x >= -0.5 &&
    box.y >= -0.5 &&
    box.x + box.width <= view.width + 0.5 &&
    box.y + box.height <= view.height + 0.5;
  if (!inside) return `outside the ${view.width}×${view.height} viewport: ${JSON.stringify(box)}`;
  const onTop = await locator.evaluate((el) => {
    const r = el.getBoundingClientRect();
    const hit = document.elementFromPoint(r.x + r.width / 2, r.y + r.height / 2);
    return hit !== null && (el.contains(hit) || hit.contains(el));
  });
  return onTop ? 'on screen' : 'covered by another element';
}

/** One accessibility rule an axe-core run found broken. */
export interface AxeViolation {
  id: string;
  impact: string | null | undefined;
  help: string;
  targets: string[];
}

let axeSource: string | null = null;

/**
 * axe-core's serious and critical violations on the page as it is now. axe is evaluated, not
 * added as a `<script>`, so a page whose Content-Security-Policy allows no inline script can be
 * checked too. Transitions (a drawer sliding in) get 300 ms to finish first, so colors are
 * measured as shown.
 */
export async function axeViolations(page: Page): Promise<AxeViolation[]> {
  await page.waitForTimeout(300);
  axeSource ??= readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
  if (!(await page.evaluate(() => 'axe' in window))) await page.evaluate(axeSource);
  return page.evaluate(async () => {
    const { axe } = window as unknown as { axe: typeof import('axe-core') };
    const results = await axe.run(document, { resultTypes: ['violations'] });
    return results.violations
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => ({
        id: v.id,
        impact: v.impact,
        help: v.help,
        targets: v.nodes.slice(0, 5).map((n) => String(n.target)),
      }));
  });
}
