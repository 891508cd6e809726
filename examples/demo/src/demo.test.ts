import { readFileSync } from 'node:fs';
import { type Broker, createMemoryBroker, type DuplexServer } from '@duplex/server';
import {
  chromiumAvailable,
  launchChromium,
  screenshotPath,
  useChromium,
} from '@duplex/tests/browser';
import { makeSelfSignedCert } from '@duplex/tests/tls';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildPage, createDemoServer } from './app';

const hasChromium = chromiumAvailable("the demo's browser suite");

/** Shown in place of a board message when the page renders a gap notice. */
const GAP = '(gap)';
/** Waits on the page; well inside the 30 s test timeout, so a failure shows its diff. */
const waitOpts = { timeout: 10_000, interval: 50 };

/** Everything a test opened, closed after it in reverse order, even when the test timed out. */
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function startServer(port = 0, broker?: Broker) {
  const server: DuplexServer = createDemoServer({ tickMs: 250, ...(broker ? { broker } : {}) });
  cleanups.push(() => server.close({ drainTimeoutMs: 0 }));
  const { url } = await server.listen(port, '127.0.0.1');
  return { server, url, port: Number(new URL(url).port) };
}

interface DemoPage {
  context: BrowserContext;
  page: Page;
  /** Uncaught errors and unhandled rejections in the page. */
  errors: string[];
}

/**
 * A new user (own context, so own localStorage and guest name) with the page open, live, and
 * subscribed. 'Live' only means the socket is open; the first clock tick shows the subscriptions
 * are running (the page subscribes to the board right after the clock, on the same socket), so a
 * message posted from now on reaches this page.
 */
async function openDemo(browser: Browser, url: string, name?: string): Promise<DemoPage> {
  const context = await browser.newContext({ viewport: { width: 1000, height: 620 } });
  cleanups.push(() => context.close());
  if (name !== undefined) {
    await context.addInitScript((n) => localStorage.setItem('duplex-demo:name', n), name);
  }
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  await page.goto(url);
  await expect.poll(() => page.locator('#status').textContent(), waitOpts).toBe('Live');
  await expect.poll(() => page.locator('#clock').textContent(), waitOpts).not.toBe('--:--:--');
  return { context, page, errors };
}

async function post({ page }: DemoPage, text: string) {
  await page.locator('#text').fill(text);
  await page.locator('#text').press('Enter');
}

/** The board, top to bottom: each message's text, or {@link GAP} for a gap notice. */
function boardOf({ page }: DemoPage): Promise<string[]> {
  return page.$$eval(
    '#board li',
    (items, gap) =>
      items.map((li) =>
        li.classList.contains('gap') ? gap : (li.querySelector('.text')?.textContent ?? ''),
      ),
    GAP,
  );
}

/** Starts recording every value `#status[data-state]` takes. */
async function recordStates({ page }: DemoPage) {
  await page.evaluate(() => {
    const status = document.querySelector('#status') as HTMLElement;
    const previous: (string | null)[] = [];
    new MutationObserver((records) => {
      for (const record of records) previous.push(record.oldValue);
    }).observe(status, { attributeFilter: ['data-state'], attributeOldValue: true });
    Object.assign(window, {
      statesSeen: () => [...previous, status.dataset.state ?? null],
    });
  });
}

/** The states recorded since {@link recordStates}, repeats of the same state collapsed. */
async function statesOf({ page }: DemoPage): Promise<(string | null)[]> {
  const states = await page.evaluate(() =>
    (window as unknown as { statesSeen: () => (string | null)[] }).statesSeen(),
  );
  return states.filter((state, i) => i === 0 || state !== states[i - 1]);
}

describe.skipIf(!hasChromium)('demo in Chromium', () => {
  const browser = useChromium(buildPage);

  it('goes live, ticks the clock and shows a posted message with its author', async () => {
    const { server, url } = await startServer();
    const user = await openDemo(browser(), url);
    const clock = user.page.locator('#clock');

    const firstTime = await clock.textContent();
    await expect.poll(() => clock.textContent(), waitOpts).not.toBe(firstTime);
    await expect.poll(() => user.page.locator('#connections').textContent(), waitOpts).toBe('1');
    expect(server.connections).toBe(1);

    await post(user, 'hello from the test');
    await expect.poll(() => boardOf(user), waitOpts).toEqual(['hello from the test']);
    await expect(user.page.locator('#text').inputValue()).resolves.toBe('');
    const me = await user.page.locator('#me').textContent();
    expect(me).toMatch(/^guest-[a-z0-9]+$/);
    const meta = await user.page.locator('#board li .meta').textContent();
    expect(meta?.startsWith(`${me} · `)).toBe(true);
    expect(user.errors).toEqual([]);
  });

  it('delivers a message from one user to another exactly once', async () => {
    const { server, url } = await startServer();
    const alice = await openDemo(browser(), url);
    const bob = await openDemo(browser(), url);
    const aliceName = await alice.page.locator('#me').textContent();
    expect(aliceName).not.toBe(await bob.page.locator('#me').textContent());
    expect(server.connections).toBe(2);

    await post(alice, 'one');
    await expect.poll(() => boardOf(bob), waitOpts).toEqual(['one']);
    // A second message behind the first: once it has arrived, a repeat of the first would have too.
    await post(alice, 'two');
    await expect.poll(() => boardOf(bob), waitOpts).toEqual(['one', 'two']);
    await expect.poll(() => boardOf(alice), waitOpts).toEqual(['one', 'two']);
    const authors = await bob.page.locator('#board li .meta').allTextContents();
    expect(authors.map((meta) => meta.split(' · ')[0])).toEqual([aliceName, aliceName]);
    expect([...alice.errors, ...bob.errors]).toEqual([]);
  });

  it('reconnects after the server restarts on the same port and shows the gap once', async () => {
    const first = await startServer();
    const alice = await openDemo(browser(), first.url);
    const bob = await openDemo(browser(), first.url);
    await post(alice, 'before 1');
    await expect.poll(() => boardOf(bob), waitOpts).toEqual(['before 1']);
    await post(bob, 'before 2');
    for (const user of [alice, bob]) {
      await expect.poll(() => boardOf(user), waitOpts).toEqual(['before 1', 'before 2']);
      await recordStates(user);
    }

    await first.server.close({ drainTimeoutMs: 0 });
    const second = await startServer(first.port);
    expect(second.url).toBe(first.url);
    const clockBefore = await bob.page.locator('#clock').textContent();

    for (const user of [alice, bob]) {
      await expect.poll(() => statesOf(user), waitOpts).toEqual(['open', 'reconnecting', 'open']);
      await expect(user.page.locator('#status').textContent()).resolves.toBe('Live');
      // The new server's broker cannot resume the old broker's cursor: one gap, no replay.
      await expect.poll(() => boardOf(user), waitOpts).toEqual(['before 1', 'before 2', GAP]);
    }
    // The gap shows the board subscription is live again on the new server; posting earlier
    // could miss a user who has not resubscribed yet.
    await post(alice, 'after 1');
    await expect
      .poll(() => boardOf(bob), waitOpts)
      .toEqual(['before 1', 'before 2', GAP, 'after 1']);
    await post(alice, 'after 2');
    const expected = ['before 1', 'before 2', GAP, 'after 1', 'after 2'];
    await expect.poll(() => boardOf(bob), waitOpts).toEqual(expected);
    await expect.poll(() => boardOf(alice), waitOpts).toEqual(expected);
    // The clock resumes too (its stream also reports a gap, which the page skips).
    await expect
      .poll(() => bob.page.locator('#clock').textContent(), waitOpts)
      .not.toBe(clockBefore);
    expect(second.server.connections).toBe(2);
    expect([...alice.errors, ...bob.errors]).toEqual([]);
  });

  it('loses nothing across a restart when the broker outlives the server', async () => {
    const broker = createMemoryBroker();
    cleanups.push(() => broker.close());
    const first = await startServer(0, broker);
    const alice = await openDemo(browser(), first.url);
    const bob = await openDemo(browser(), first.url);
    await post(alice, 'before');
    await expect.poll(() => boardOf(bob), waitOpts).toEqual(['before']);

    await first.server.close({ drainTimeoutMs: 0 });
    // Published while no server runs (as another node would): replayed on resume.
    for (const text of ['while down 1', 'while down 2']) {
      await broker.publish('board', {
        clientMsgId: text,
        author: 'other-node',
        text,
        at: new Date(),
      });
    }
    await startServer(first.port, broker);
    await post(bob, 'after');
    const expected = ['before', 'while down 1', 'while down 2', 'after'];
    await expect.poll(() => boardOf(alice), waitOpts).toEqual(expected);
    await expect.poll(() => boardOf(bob), waitOpts).toEqual(expected);
    expect([...alice.errors, ...bob.errors]).toEqual([]);
  });

  it('renders a board with a few messages for the docs screenshot', async () => {
    const { url } = await startServer();
    const ada = await openDemo(browser(), url, 'ada');
    const grace = await openDemo(browser(), url, 'grace');
    await expect(ada.page.locator('#me').textContent()).resolves.toBe('ada');

    const conversation: [DemoPage, string][] = [
      [ada, 'Hello, is the board live?'],
      [grace, 'It is: one WebSocket, typed end to end.'],
      [ada, 'And it resumes after a restart.'],
    ];
    const texts: string[] = [];
    for (const [user, text] of conversation) {
      await post(user, text);
      texts.push(text);
      await expect.poll(() => boardOf(ada), waitOpts).toEqual(texts);
    }
    const authors = await ada.page.locator('#board li .meta').allTextContents();
    expect(authors.map((meta) => meta.split(' · ')[0])).toEqual(['ada', 'grace', 'ada']);
    await expect.poll(() => ada.page.locator('#connections').textContent(), waitOpts).toBe('2');

    const path = screenshotPath('demo.png');
    await ada.page.screenshot({ path, animations: 'disabled' });
    const png = readFileSync(path);
    expect(png.subarray(1, 4).toString('latin1')).toBe('PNG');
    expect([...ada.errors, ...grace.errors]).toEqual([]);
  });
});

describe.skipIf(!hasChromium)('demo in Chromium over wss://', () => {
  let cert: Awaited<ReturnType<typeof makeSelfSignedCert>>;
  let browser: Browser;

  beforeAll(async () => {
    await buildPage();
    cert = await makeSelfSignedCert();
    // Trusts this one certificate's key; certificate errors in general stay errors.
    browser = await launchChromium([`--ignore-certificate-errors-spki-list=${cert.spkiHash}`]);
  });

  afterAll(async () => {
    await browser?.close();
    await cert?.remove();
  });

  it('loads the page over https and goes live over wss', async () => {
    const server = createDemoServer({ tls: { key: cert.key, cert: cert.cert } });
    cleanups.push(() => server.close({ drainTimeoutMs: 0 }));
    const { url } = await server.listen(0);
    expect(url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const ada = await openDemo(browser, url, 'ada');
    expect(await ada.page.evaluate(() => location.protocol)).toBe('https:');
    await post(ada, 'sent over wss');
    await expect.poll(() => boardOf(ada), waitOpts).toEqual(['sent over wss']);
    expect(server.connections).toBe(1);
    expect(ada.errors).toEqual([]);
  });
});
