/**
 * `@duplex/react` in real Chromium: a React 19 app in StrictMode (fixtures/reactApp.tsx) over a
 * real server that restarts on the same port, asserting what the page shows.
 */
import { createMemoryBroker } from '@duplex/server';
import type { Browser, Page } from 'playwright-core';
import { afterEach, describe, expect, it } from 'vitest';
import { chromiumAvailable, useChromium } from './browser';
import { buildReactApp, deferred, startFeedServer } from './reactFixtures';

const hasChromium = chromiumAvailable('the @duplex/react browser suite');
const waitOpts = { timeout: 10_000, interval: 25 };
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Chromium logs each refused connection while the server is down: the client retrying. */
const refused =
  /^(WebSocket connection to '.*' failed: .*|Failed to load resource: )net::ERR_CONNECTION_REFUSED$/;

let appDir = '';

async function openApp(browser: Browser, url: string, view: string) {
  const context = await browser.newContext();
  cleanups.push(() => context.close());
  context.setDefaultTimeout(10_000);
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  page.on('console', (message) => {
    if (message.type() !== 'error' || refused.test(message.text())) return;
    errors.push(message.text());
  });
  await page.goto(`${url}/?${view}`);
  return { page, errors };
}

const textOf = (page: Page, selector: string) => page.locator(selector).textContent();
const feedOf = (page: Page) => page.locator('#feed li').allTextContents();
const statusLog = (page: Page) =>
  page.evaluate(() => (window as unknown as { statusLog: string[] }).statusLog);
const subscriptionOps = (page: Page) =>
  page.evaluate(
    () => (window as unknown as { counts: { subscriptionOps: number } }).counts.subscriptionOps,
  );
/** A gauge from the server's `/metrics`. */
async function gauge(httpUrl: string, name: string): Promise<number> {
  const text = await (await fetch(`${httpUrl}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return Number(line?.split(' ')[1]);
}
/** A moment to prove that something does not happen. */
const quietMs = 300;

async function serve(opts: Parameters<typeof startFeedServer>[1] = {}) {
  const server = await startFeedServer(appDir, opts);
  cleanups.push(() => server[Symbol.asyncDispose]());
  return server;
}

describe.skipIf(!hasChromium)('@duplex/react in Chromium (StrictMode)', () => {
  const browser = useChromium(async () => {
    appDir = await buildReactApp();
  });

  it('reports open, reconnecting and open again across a server restart', async () => {
    const server = await serve();
    const { page, errors } = await openApp(browser(), server.httpUrl, 'status');
    await expect.poll(() => textOf(page, '#status'), waitOpts).toBe('open');
    await server.stop();
    await expect.poll(() => textOf(page, '#status'), waitOpts).toBe('reconnecting');
    await server.start();
    await expect.poll(() => textOf(page, '#status'), waitOpts).toBe('open');
    expect(await statusLog(page)).toEqual(['connecting', 'open', 'reconnecting', 'open']);
    expect(errors.join('\n')).toBe('');
  });

  it('keeps a live query exact across a restart, without fetching it again', async () => {
    const server = await serve();
    await server.publish('a');
    const { page, errors } = await openApp(browser(), server.httpUrl, 'feed');
    await expect.poll(() => textOf(page, '#feed-live'), waitOpts).toBe('live');
    await expect.poll(() => feedOf(page), waitOpts).toEqual(['a']);
    await server.publish('b');
    await expect.poll(() => feedOf(page), waitOpts).toEqual(['a', 'b']);

    await server.stop();
    await expect.poll(() => textOf(page, '#feed-live'), waitOpts).toBe('reconnecting');
    await server.publish('c');
    await server.publish('d');
    await server.start();
    await expect.poll(() => textOf(page, '#feed-live'), waitOpts).toBe('live');
    await expect.poll(() => feedOf(page), waitOpts).toEqual(['a', 'b', 'c', 'd']);
    await server.publish('e');
    await expect.poll(() => feedOf(page), waitOpts).toEqual(['a', 'b', 'c', 'd', 'e']);
    // The stream replayed what the page missed; the query ran once, when the page opened.
    expect(server.state.listCalls).toBe(1);
    expect(errors.join('\n')).toBe('');
  });

  it('refetches a live query exactly once after a gap, and shows every item once in order', async () => {
    const server = await serve({ broker: createMemoryBroker({ maxEventsPerChannel: 2 }) });
    await server.publish('a');
    const { page, errors } = await openApp(browser(), server.httpUrl, 'feed');
    await expect.poll(() => textOf(page, '#feed-live'), waitOpts).toBe('live');
    await expect.poll(() => feedOf(page), waitOpts).toEqual(['a']);
    expect(server.state.listCalls).toBe(1);

    await server.stop();
    await expect.poll(() => textOf(page, '#feed-live'), waitOpts).toBe('reconnecting');
    // Five events while the page is away, with room for two: the resume is past retention.
    for (const text of ['b', 'c', 'd', 'e', 'f']) await server.publish(text);
    await server.start();
    await expect.poll(() => feedOf(page), waitOpts).toEqual(['a', 'b', 'c', 'd', 'e', 'f']);
    await expect.poll(() => textOf(page, '#feed-live'), waitOpts).toBe('live');
    await new Promise((resolve) => setTimeout(resolve, quietMs));
    expect(server.state.listCalls).toBe(2);
    await server.publish('g');
    await expect.poll(() => feedOf(page), waitOpts).toEqual(['a', 'b', 'c', 'd', 'e', 'f', 'g']);
    expect(server.state.listCalls).toBe(2);
    expect(errors.join('\n')).toBe('');
  });

  it('confirms an optimistic send made while the server is down exactly once after it returns', async () => {
    const server = await serve();
    await server.publish('a');
    const { page, errors } = await openApp(browser(), server.httpUrl, 'feed');
    await expect.poll(() => textOf(page, '#feed-live'), waitOpts).toBe('live');
    await expect.poll(() => feedOf(page), waitOpts).toEqual(['a']);

    await server.stop();
    await expect.poll(() => textOf(page, '#status'), waitOpts).toBe('reconnecting');
    await page.locator('#send').click();
    // Shown at once, pending.
    await expect.poll(() => feedOf(page), waitOpts).toEqual(['a', 'sent 1']);
    await expect(page.locator('#feed li[data-pending=true]').count()).resolves.toBe(1);
    await expect(textOf(page, '#send-status')).resolves.toBe('pending');

    await server.start();
    await expect.poll(() => textOf(page, '#send-status'), waitOpts).toBe('success');
    await expect.poll(() => page.locator('#feed li[data-pending=true]').count(), waitOpts).toBe(0);
    await expect.poll(() => textOf(page, '#feed-live'), waitOpts).toBe('live');
    await new Promise((resolve) => setTimeout(resolve, quietMs));
    expect(await feedOf(page)).toEqual(['a', 'sent 1']);
    expect(server.state.items.map((item) => item.text)).toEqual(['a', 'sent 1']);
    expect(errors.join('\n')).toBe('');
  });

  it('confirms an optimistic send cut off by a restart exactly once, sent again on the new socket', async () => {
    const server = await serve();
    await server.publish('a');
    const { page, errors } = await openApp(browser(), server.httpUrl, 'feed');
    await expect.poll(() => textOf(page, '#feed-live'), waitOpts).toBe('live');
    const addGate = deferred();
    server.state.addGate = addGate.promise;
    await page.locator('#send').click();
    await expect.poll(() => server.state.addCalls, waitOpts).toBe(1);
    await expect.poll(() => feedOf(page), waitOpts).toEqual(['a', 'sent 1']);

    await server.restart();
    // The first call still runs on the old server; the client sent it again on the new socket.
    await expect.poll(() => server.state.addCalls, waitOpts).toBe(2);
    addGate.resolve();
    await expect.poll(() => textOf(page, '#send-status'), waitOpts).toBe('success');
    await expect.poll(() => page.locator('#feed li[data-pending=true]').count(), waitOpts).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, quietMs));
    expect(await feedOf(page)).toEqual(['a', 'sent 1']);
    expect(server.state.items.map((item) => item.text)).toEqual(['a', 'sent 1']);
    expect(errors.join('\n')).toBe('');
  });

  it('shows the list and an optimistic send made while the list is still loading', async () => {
    const server = await serve();
    await server.publish('a');
    const listGate = deferred();
    server.state.listGate = listGate.promise;
    const { page, errors } = await openApp(browser(), server.httpUrl, 'feed');
    await expect.poll(() => server.state.listCalls, waitOpts).toBe(1);
    const addGate = deferred();
    server.state.addGate = addGate.promise;
    await page.locator('#send').click();
    await expect.poll(() => server.state.addCalls, waitOpts).toBe(1);
    // The list loads while the send is still pending: the send did not cancel the first load.
    listGate.resolve();
    await expect.poll(() => feedOf(page), waitOpts).toEqual(['a']);
    await expect(textOf(page, '#send-status')).resolves.toBe('pending');
    addGate.resolve();
    await expect.poll(() => feedOf(page), waitOpts).toEqual(['a', 'sent 1']);
    await expect.poll(() => textOf(page, '#send-status'), waitOpts).toBe('success');
    expect(server.state.items.map((item) => item.text)).toEqual(['a', 'sent 1']);
    expect(errors.join('\n')).toBe('');
  });

  it('fetches a gap again after an optimistic send cancelled its refetch', async () => {
    const server = await serve({ broker: createMemoryBroker({ maxEventsPerChannel: 2 }) });
    await server.publish('a');
    const { page, errors } = await openApp(browser(), server.httpUrl, 'feed');
    await expect.poll(() => feedOf(page), waitOpts).toEqual(['a']);
    await server.stop();
    await expect.poll(() => textOf(page, '#feed-live'), waitOpts).toBe('reconnecting');
    for (const text of ['b', 'c', 'd', 'e', 'f']) await server.publish(text);
    const listGate = deferred();
    server.state.listGate = listGate.promise;
    await server.start();
    // The gap's refetch is under way (held) when the send cancels it.
    await expect.poll(() => server.state.listCalls, waitOpts).toBe(2);
    await page.locator('#send').click();
    await expect.poll(() => textOf(page, '#send-status'), waitOpts).toBe('success');
    listGate.resolve();
    await expect
      .poll(() => feedOf(page), waitOpts)
      .toEqual(['a', 'b', 'c', 'd', 'e', 'f', 'sent 1']);
    expect(server.state.listCalls).toBe(3);
    expect(errors.join('\n')).toBe('');
  });

  it('leaves no subscription on the server after unmounting one the server has not started', async () => {
    const server = await serve();
    const gate = deferred();
    server.state.gate = gate.promise;
    const { page, errors } = await openApp(browser(), server.httpUrl, 'pending');
    await expect.poll(() => textOf(page, '#status'), waitOpts).toBe('open');
    await expect.poll(() => server.server.metrics.subscriptions, waitOpts).toBe(1);
    await expect(textOf(page, '#pending-live')).resolves.toBe('connecting');
    await page.locator('#unmount').click();
    await expect(textOf(page, '#pending-live')).resolves.toBe('unmounted');
    gate.resolve();
    await expect.poll(() => server.server.metrics.subscriptions, waitOpts).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, quietMs));
    expect(server.server.metrics.subscriptions).toBe(0);
    await expect(textOf(page, '#status')).resolves.toBe('open');
    expect(errors.join('\n')).toBe('');
  });

  it('closes the socket and its subscriptions when the provider unmounts', async () => {
    const server = await serve();
    const { page, errors } = await openApp(browser(), server.httpUrl, 'feed');
    await expect.poll(() => textOf(page, '#feed-live'), waitOpts).toBe('live');
    expect(await gauge(server.httpUrl, 'duplex_connections{transport="websocket"}')).toBe(1);
    await page.locator('#unmount-provider').click();
    await expect(textOf(page, '#status')).resolves.toBe('unmounted');
    await expect
      .poll(() => gauge(server.httpUrl, 'duplex_connections{transport="websocket"}'), waitOpts)
      .toBe(0);
    expect(await gauge(server.httpUrl, 'duplex_subscriptions')).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, quietMs));
    expect(server.server.metrics.connectionsOpened).toBe(1);
    expect(errors.join('\n')).toBe('');
  });

  it('opens no socket for a render React throws away', async () => {
    const server = await serve();
    const { page, errors } = await openApp(browser(), server.httpUrl, 'suspend');
    await expect.poll(() => textOf(page, '#status'), waitOpts).toBe('open');
    await new Promise((resolve) => setTimeout(resolve, quietMs));
    expect(server.server.metrics.connectionsOpened).toBe(1);
    expect(await gauge(server.httpUrl, 'duplex_connections{transport="websocket"}')).toBe(1);
    expect(errors.join('\n')).toBe('');
  });

  it('opens one WebSocket per provider and one subscription per live hook under StrictMode', async () => {
    const server = await serve();
    await server.publish('a');
    const { page, errors } = await openApp(browser(), server.httpUrl, 'feed&sub&composed');
    await expect.poll(() => textOf(page, '#feed-live'), waitOpts).toBe('live');
    await expect.poll(() => feedOf(page), waitOpts).toEqual(['a']);
    // Mounted on an open socket, where a subscription StrictMode started and stopped at once
    // would reach the server.
    await page.locator('#show-sub').click();
    await expect.poll(() => textOf(page, '#sub-live'), waitOpts).toBe('live');
    await new Promise((resolve) => setTimeout(resolve, quietMs));
    expect(server.server.metrics.connectionsOpened).toBe(1);
    // The client was asked for two: StrictMode's first mount of each hook asked for none.
    expect(await subscriptionOps(page)).toBe(2);
    expect(server.state.feedSubscribes).toBe(2);
    expect(server.server.metrics.subscriptions).toBe(2);
    expect(server.state.listCalls).toBe(1);
    await server.publish('b');
    await expect.poll(() => feedOf(page), waitOpts).toEqual(['a', 'b']);
    expect(errors.join('\n')).toBe('');
  });

  it('folds an event that arrives while the query loads into its answer', async () => {
    const server = await serve();
    await server.publish('a');
    const listGate = deferred();
    server.state.listGate = listGate.promise;
    const { page, errors } = await openApp(browser(), server.httpUrl, 'feed');
    // The query read ['a'] and waits; the stream is live, so 'b' reaches the page first.
    await expect.poll(() => server.state.listCalls, waitOpts).toBe(1);
    await server.publish('b');
    await expect.poll(() => textOf(page, '#feed-live'), waitOpts).toBe('live');
    await new Promise((resolve) => setTimeout(resolve, quietMs));
    listGate.resolve();
    await expect.poll(() => feedOf(page), waitOpts).toEqual(['a', 'b']);
    await new Promise((resolve) => setTimeout(resolve, quietMs));
    expect(await feedOf(page)).toEqual(['a', 'b']);
    expect(server.state.listCalls).toBe(1);
    expect(errors.join('\n')).toBe('');
  });
});
