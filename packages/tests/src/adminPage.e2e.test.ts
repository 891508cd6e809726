import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createRedisBroker } from '@duplex/redis';
import { redisAvailable, startTestRedis } from '@duplex/redis/testing';
import { type Broker, createMemoryBroker, type DuplexNodeStats } from '@duplex/server';
import type { Browser, Locator, Page } from 'playwright-core';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  buildAdminPage,
  type LoadClient,
  operatorSecret,
  startAdminPageServer,
  startLoad,
} from './adminPageFixtures';
import { axeViolations, chromiumAvailable, onScreen, screenshotPath, useChromium } from './browser';

/**
 * The dashboard page (`@duplex/admin`'s `src/page`, built by vite) in Chromium against a real
 * Duplex server with the admin mounted, under load from real `@duplex/client` clients: what an
 * operator sees on screen at 1280×800 and 390×844 matches the server's own counters; its
 * disconnect actions close the right sockets, whose clients come back and resume; it rides out
 * a server restart without a reload; anyone but an operator sees the sign-in form and nothing
 * else.
 */
const hasChromium = chromiumAvailable("the admin page's browser suite");
const hasRedis = hasChromium && redisAvailable("the admin page's Redis case");

const waitOpts = { timeout: 10_000, interval: 100 };
/** A restart waits on the page's backoff (≤ 5 s) and the new node's first report. */
const restartWaitOpts = { timeout: 20_000, interval: 100 };

const sizes = [
  { label: '1280×800', shot: 'desktop', viewport: { width: 1280, height: 800 }, mobile: false },
  { label: '390×844', shot: 'phone', viewport: { width: 390, height: 844 }, mobile: true },
] as const;
type Size = (typeof sizes)[number];

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/**
 * Chromium logs each refused connection while a server restarts (the client retrying its
 * socket, and probing plain HTTP for a fallback).
 */
const refusedConnection =
  /^(WebSocket connection to '.*' failed: .*|Failed to load resource: .*net::ERR_CONNECTION_REFUSED.*)$/;

/** A browser context of its own (own sessionStorage) with the dashboard's page open. */
async function openPage(browser: Browser, url: string, size: Size) {
  const context = await browser.newContext({
    viewport: size.viewport,
    ...(size.mobile ? { isMobile: true, hasTouch: true } : {}),
  });
  cleanups.push(() => context.close());
  context.setDefaultTimeout(10_000);
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  page.on('console', (message) => {
    if (message.type() === 'error' && !refusedConnection.test(message.text())) {
      errors.push(message.text());
    }
  });
  await page.goto(url);
  return { page, errors };
}

async function signIn(page: Page, token: string) {
  await page.getByLabel('Operator token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

/** Opens the page, signs the operator in and waits for the first figures. */
async function openDashboard(browser: Browser, url: string, size: Size) {
  const opened = await openPage(browser, url, size);
  await signIn(opened.page, `admin:${operatorSecret}`);
  await expect.poll(() => connState(opened.page), waitOpts).toBe('open');
  await expect
    .poll(() => opened.page.locator('[data-metric="connections"] .value').isVisible(), waitOpts)
    .toBe(true);
  return opened;
}

const connState = (page: Page) => page.locator('.conn').getAttribute('data-state');

/** The text of an element after scrolling it into view, or why it is not on screen. */
async function visibleText(page: Page, locator: Locator): Promise<string> {
  const where = await onScreen(page, locator, { scroll: true });
  return where === 'on screen' ? ((await locator.textContent()) ?? '') : `(${where})`;
}

const toNumber = (text: string) => (/^[\d,.]+$/.test(text) ? Number(text.replace(/,/g, '')) : text);

/** The overview's figures as shown on screen. */
async function shownFigures(page: Page) {
  const metric = (id: string, part = '.value') =>
    visibleText(page, page.locator(`[data-metric="${id}"] ${part}`)).then(toNumber);
  return {
    connections: await metric('connections'),
    usersOnline: await metric('users'),
    subscriptions: await metric('subscriptions'),
    calls: await metric('calls', '.total'),
    errors: await metric('errors'),
  };
}

/** The same figures from the server's own inspector (`errors`: every error since it started). */
function serverFigures(stats: DuplexNodeStats) {
  return {
    connections: stats.connections.websocket + stats.connections.http,
    usersOnline: stats.usersOnline,
    subscriptions: stats.subscriptions,
    calls: stats.calls,
    errors: Object.values(stats.errorsByCode).reduce((a, b) => a + b, 0),
  };
}

/** `GET /metrics` of the server serving `pageUrl`: a sample's value, summed over its labels. */
async function scrapeMetrics(pageUrl: string) {
  const text = await (await fetch(new URL('/metrics', pageUrl))).text();
  return (name: string) => {
    let total = 0;
    for (const line of text.split('\n')) {
      const match = line.match(/^([a-z_]+)(?:\{[^}]*\})? ([\d.e+-]+)$/);
      if (match?.[1] === name) total += Number(match[2]);
    }
    return total;
  };
}

/**
 * The page itself never scrolls sideways (tables scroll inside their card). Measured against the
 * viewport asked for: on a phone, content wider than the screen widens the layout viewport.
 */
async function expectNoPageOverflow(page: Page) {
  const { width } = page.viewportSize()!;
  await expect(
    page.evaluate(() => ({
      scrollX: window.scrollX,
      innerWidth: window.innerWidth,
      scrollWidth: document.documentElement.scrollWidth,
    })),
  ).resolves.toEqual({ scrollX: 0, innerWidth: width, scrollWidth: width });
}

async function openTab(page: Page, name: string) {
  await page.getByRole('tab', { name }).click();
  await expect
    .poll(() => page.getByRole('tabpanel').getAttribute('aria-labelledby'), waitOpts)
    .toBe(`tab-${name.toLowerCase()}`);
}

/** Writes a screenshot for review when DUPLEX_REVIEW_SCREENSHOTS names a directory. */
async function reviewShot(page: Page, name: string) {
  const dir = process.env.DUPLEX_REVIEW_SCREENSHOTS;
  if (!dir) return;
  mkdirSync(dir, { recursive: true });
  await page.screenshot({ path: join(dir, `admin-${name}.png`), animations: 'disabled' });
}

const connectionIdOf = (c: LoadClient) => c.client.connectionId.query();

const updatingScreenshots = process.env.DUPLEX_UPDATE_SCREENSHOTS === '1';

/** Calls and publishes whose rate rises and falls for `ms`, some calls failing. */
async function unevenTraffic(clients: readonly LoadClient[], ms: number) {
  const start = Date.now();
  for (let tick = 0; Date.now() - start < ms; tick++) {
    const share = 0.2 + 0.8 * Math.abs(Math.sin(tick / 25));
    const busy = clients.filter(() => Math.random() < share);
    await Promise.all(
      busy.map((c, i) =>
        i % 7 === 6
          ? c.client.fail.mutate().catch(() => undefined)
          : c.client.echo.query({ text: 'tick' }),
      ),
    );
    if (tick % 3 === 0) await clients[0]!.client.publish.mutate({ n: tick });
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe.skipIf(!hasChromium)('the admin page in Chromium', () => {
  let pageDir = '';
  const browser = useChromium(async () => {
    pageDir = await buildAdminPage();
  });

  /** A server with the admin mounted and `users` load clients that made their calls. */
  async function loadedServer(
    users: number,
    twice: readonly string[] = [],
    opts: { broker?: Broker } = {},
  ) {
    const app = await startAdminPageServer(pageDir, opts);
    cleanups.push(() => app.close());
    const load = await startLoad(app.wsUrl, { users, callsEach: 10, twice });
    cleanups.push(() => load.close());
    return { app, load };
  }

  for (const size of sizes) {
    it(`shows the server's own counters on screen, in every view (${size.label})`, async () => {
      const { app, load } = await loadedServer(24);
      const { page, errors } = await openDashboard(browser(), app.pageUrl, size);

      await vi.waitFor(async () => {
        expect(await shownFigures(page)).toEqual(serverFigures(app.server.inspector.stats()));
      }, waitOpts);
      // And with what the server tells Prometheus.
      await vi.waitFor(async () => {
        const shown = await shownFigures(page);
        const metrics = await scrapeMetrics(app.pageUrl);
        expect({ connections: shown.connections, subscriptions: shown.subscriptions }).toEqual({
          connections: metrics('duplex_connections'),
          subscriptions: metrics('duplex_subscriptions'),
        });
      }, waitOpts);
      // The figures are the load's, not an empty server's: 24 users and the operator.
      const stats = app.server.inspector.stats();
      expect(stats.usersOnline).toBe(25);
      expect(stats.calls).toBeGreaterThanOrEqual(24 * 10);
      expect(Object.values(stats.errorsByCode)).toContain(24 * 2);
      await expectNoPageOverflow(page);
      expect(await axeViolations(page), `axe-core on the overview at ${size.label}`).toEqual([]);

      // More calls while the page is open: the rate shows them, the totals keep up.
      const busy = load.clients.slice(0, 6);
      const burst = (async () => {
        const until = Date.now() + 3_000;
        while (Date.now() < until) {
          await Promise.all(busy.map((c) => c.client.echo.query({ text: 'again' })));
        }
      })();
      await expect
        .poll(
          () => visibleText(page, page.locator('[data-metric="calls"] .value')).then(toNumber),
          waitOpts,
        )
        .toBeGreaterThan(0);
      await burst;
      await vi.waitFor(async () => {
        expect(await shownFigures(page)).toEqual(serverFigures(app.server.inspector.stats()));
      }, waitOpts);

      // After the burst the charts have a few seconds of shape: the screenshots for docs/.
      await page.locator('.content').evaluate((el) => el.scrollTo(0, 0));
      await reviewShot(page, `overview-${size.shot}`);
      if (size.mobile) {
        await page.screenshot({ path: screenshotPath('admin-mobile.png'), animations: 'disabled' });
      }

      await openTab(page, 'Procedures');
      await vi.waitFor(async () => {
        const procs = app.server.inspector.stats().procedures;
        const row = (path: string) => page.locator(`tr[data-path="${path}"]`);
        const calls = (path: string) => procs.find((p) => p.path === path)?.calls ?? -1;
        expect(await visibleText(page, row('echo').locator('td').nth(1))).toBe(
          calls('echo').toLocaleString('en-US'),
        );
        expect(await visibleText(page, row('fail').locator('td').nth(3))).toBe(String(24 * 2));
      }, waitOpts);
      expect(await axeViolations(page), `axe-core on procedures at ${size.label}`).toEqual([]);
      await reviewShot(page, `procedures-${size.shot}`);

      await openTab(page, 'Channels');
      await vi.waitFor(async () => {
        const channel = app.server.inspector.stats().channels.find((c) => c.channel === 'numbers');
        expect(channel?.subscribers).toBe(24);
        const row = page.locator('tr[data-channel="numbers"]');
        expect(await visibleText(page, row.locator('td').first())).toBe('24');
        expect(channel?.lastEventId).toBeTruthy();
        expect(await visibleText(page, row.locator('td').nth(3))).toBe(channel?.lastEventId);
      }, waitOpts);

      expect(await axeViolations(page), `axe-core on channels at ${size.label}`).toEqual([]);
      await reviewShot(page, `channels-${size.shot}`);

      await openTab(page, 'Broker');
      await expect
        .poll(() => page.locator('.broker-card dd').first().textContent(), waitOpts)
        .toBe('memory');
      await expectNoPageOverflow(page);
      expect(await axeViolations(page), `axe-core on the broker at ${size.label}`).toEqual([]);
      await reviewShot(page, `broker-${size.shot}`);
      expect(errors).toEqual([]);
      expect(app.errors).toEqual([]);
    });

    it(`disconnects the chosen connection and user; their clients come back and resume (${size.label})`, async () => {
      const { app, load } = await loadedServer(6, ['u2']);
      const { page, errors } = await openDashboard(browser(), app.pageUrl, size);
      // By keyboard, as the tabs pattern has it: the arrow keys move between tabs.
      await page.getByRole('tab', { name: 'Overview' }).focus();
      await page.keyboard.press('ArrowRight');
      await expect
        .poll(() => page.evaluate(() => document.activeElement?.textContent), waitOpts)
        .toBe('Connections');
      await expect
        .poll(() => page.getByRole('tabpanel').getAttribute('aria-labelledby'), waitOpts)
        .toBe('tab-connections');
      const [u3] = load.clients.filter((c) => c.userId === 'u3');
      const before = await Promise.all(load.clients.map(connectionIdOf));
      const u3Id = before[load.clients.indexOf(u3!)]!;

      await page.getByRole('searchbox', { name: 'User' }).fill('u3');
      const rows = page.locator('tbody tr[data-connection]');
      await expect
        .poll(
          () => rows.evaluateAll((r) => r.map((e) => (e as HTMLElement).dataset.connection)),
          waitOpts,
        )
        .toEqual([u3Id]);
      expect(await onScreen(page, rows.first().locator('th'), { scroll: true })).toBe('on screen');
      await rows
        .first()
        .getByRole('button', { name: /^Disconnect connection/ })
        .click();
      await expectNoPageOverflow(page);
      const dialog = page.getByRole('dialog');
      expect(await onScreen(page, dialog, { scroll: true })).toBe('on screen');
      expect(await axeViolations(page), `axe-core on the confirm dialog at ${size.label}`).toEqual(
        [],
      );
      await reviewShot(page, `confirm-${size.shot}`);
      // Escape cancels: nothing is sent.
      await page.keyboard.press('Escape');
      await expect.poll(() => dialog.count(), waitOpts).toBe(0);
      await rows
        .first()
        .getByRole('button', { name: /^Disconnect connection/ })
        .click();
      await dialog.getByRole('button', { name: 'Disconnect' }).click();
      await expect
        .poll(
          () => page.getByRole('status').filter({ hasText: 'Disconnect sent' }).isVisible(),
          waitOpts,
        )
        .toBe(true);

      // u3's socket closed by an operator (4403), its client back on a new connection …
      await expect.poll(() => u3!.closeCodes, waitOpts).toEqual([4403]);
      await expect.poll(() => connectionIdOf(u3!), waitOpts).not.toBe(u3Id);
      const after = await Promise.all(load.clients.map(connectionIdOf));
      // … and no one else's.
      load.clients.forEach((c, i) => {
        if (c !== u3) expect(after[i], c.userId).toBe(before[i]);
      });
      expect(load.clients.filter((c) => c.closeCodes.length > 0)).toEqual([u3]);
      // Its subscription resumed: an event published now reaches it.
      await load.clients[0]!.client.publish.mutate({ n: 1000 });
      await expect.poll(() => u3!.received.includes(1000), waitOpts).toBe(true);
      // The table follows: the new connection replaces the old.
      const u3New = after[load.clients.indexOf(u3!)]!;
      await expect
        .poll(
          () => rows.evaluateAll((r) => r.map((e) => (e as HTMLElement).dataset.connection)),
          waitOpts,
        )
        .toEqual([u3New]);

      // Every connection of u2 (two), and no one else's.
      await page.getByRole('searchbox', { name: 'User' }).fill('u2');
      await expect.poll(() => rows.count(), waitOpts).toBe(2);
      await rows.first().getByRole('button', { name: 'Disconnect user u2' }).click();
      await page.getByRole('dialog').getByRole('button', { name: 'Disconnect' }).click();
      const u2s = load.clients.filter((c) => c.userId === 'u2');
      for (const c of u2s) await expect.poll(() => c.closeCodes, waitOpts).toEqual([4403]);
      expect(
        load.clients
          .filter((c) => c.closeCodes.length > 0)
          .map((c) => c.userId)
          .sort(),
      ).toEqual(['u2', 'u2', 'u3']);
      await load.clients[0]!.client.publish.mutate({ n: 1001 });
      for (const c of u2s) await expect.poll(() => c.received.includes(1001), waitOpts).toBe(true);
      await expectNoPageOverflow(page);

      // The overview counts the three closes by their code, as the server does.
      expect(app.server.inspector.stats().closesByCode).toEqual({ '4403': 3 });
      await openTab(page, 'Overview');
      await expect
        .poll(() => visibleText(page, page.locator('[data-metric="closes"] .detail')), waitOpts)
        .toBe('4403 ×3');
      expect(await visibleText(page, page.locator('[data-metric="closes"] .value'))).toBe('3');
      expect(errors).toEqual([]);
      expect(app.errors).toEqual([]);
    });
  }

  for (const size of sizes) {
    it(`shows who is present, each connection's calls/s, and hides the dashboard's own channels (${size.label})`, async () => {
      const { app, load } = await loadedServer(4);
      const [busy, idle] = load.clients;
      for (const c of load.clients.slice(0, 3)) c.client.room.subscribe({ roomId: 'lobby' }, {});
      const { page, errors } = await openDashboard(browser(), app.pageUrl, size);

      await openTab(page, 'Channels');
      const lobby = page.locator('tr[data-channel="room:lobby"]');
      await expect
        .poll(() => visibleText(page, lobby.locator('td.present .count')), waitOpts)
        .toBe('3');
      // Who, on expand, by keyboard.
      await lobby.locator('td.present summary').focus();
      await page.keyboard.press('Enter');
      await expect
        .poll(() => lobby.locator('td.present li').allTextContents(), waitOpts)
        .toEqual(['User u0', 'User u1', 'User u2']);
      // No one joins `numbers` (its presence is read all the same): 0.
      expect(await visibleText(page, page.locator('tr[data-channel="numbers"] td.present'))).toBe(
        '0',
      );
      // The dashboard's own channels are hidden until asked for.
      const own = page.locator('tr[data-channel^="duplex.admin."]');
      expect(await own.count()).toBe(0);
      const toggle = page.getByRole('checkbox', { name: "Show the dashboard's own channels" });
      expect(await onScreen(page, toggle, { scroll: true })).toBe('on screen');
      await toggle.check();
      await expect
        .poll(
          () => own.evaluateAll((rows) => rows.map((r) => (r as HTMLElement).dataset.channel)),
          waitOpts,
        )
        .toContain('duplex.admin.reports');
      await expectNoPageOverflow(page);
      expect(
        await axeViolations(page),
        `axe-core on channels with presence at ${size.label}`,
      ).toEqual([]);
      await reviewShot(page, `channels-presence-${size.shot}`);
      await toggle.uncheck();
      await expect.poll(() => own.count(), waitOpts).toBe(0);

      // One client calls without a pause: its row shows its calls/s, an idle one's shows 0.
      await openTab(page, 'Connections');
      const busyId = await connectionIdOf(busy!);
      const idleId = await connectionIdOf(idle!);
      const rate = (id: string) =>
        visibleText(page, page.locator(`tr[data-connection="${id}"] td[data-rate="calls"]`));
      let calling = true;
      const calls = (async () => {
        while (calling) await busy!.client.echo.query({ text: 'busy' });
      })();
      try {
        await expect.poll(() => rate(busyId).then(toNumber), waitOpts).toBeGreaterThan(0);
        await expect.poll(() => rate(idleId), waitOpts).toBe('0');
      } finally {
        calling = false;
        await calls;
      }
      await expectNoPageOverflow(page);
      expect(errors).toEqual([]);
      expect(app.errors).toEqual([]);
    });
  }

  it('survives a server restart on the same port without a reload', async () => {
    const size = sizes[0];
    const first = await loadedServer(5);
    const { page, errors } = await openDashboard(browser(), first.app.pageUrl, size);
    const nodeA = first.app.server.inspector.nodeId;
    await expect
      .poll(() => page.locator(`tr[data-node="${nodeA}"]`).isVisible(), waitOpts)
      .toBe(true);
    await page.evaluate(() => Object.assign(window, { sameDocument: true }));
    // The Connections view's subscription has to come back by itself too.
    await openTab(page, 'Connections');
    const listedNodes = () =>
      page
        .locator('tbody tr[data-connection] td:nth-of-type(2)')
        .evaluateAll((cells) => cells.map((c) => (c as HTMLElement).title));
    await expect.poll(listedNodes, waitOpts).toEqual(Array(6).fill(nodeA));

    await first.app.close();
    await expect
      .poll(() => page.locator('.banner[data-status="reconnecting"]').isVisible(), waitOpts)
      .toBe(true);
    expect(await onScreen(page, page.locator('.banner'), { scroll: true })).toBe('on screen');
    await reviewShot(page, 'reconnecting');

    const second = await startAdminPageServer(pageDir, { port: first.app.port });
    cleanups.push(() => second.close());
    const nodeB = second.server.inspector.nodeId;
    expect(nodeB).not.toBe(nodeA);
    await expect.poll(() => connState(page), restartWaitOpts).toBe('open');
    await expect.poll(() => page.locator('.banner').count(), waitOpts).toBe(0);
    // The five load clients and the page, now on the new node.
    await expect.poll(listedNodes, restartWaitOpts).toEqual(Array(6).fill(nodeB));
    await openTab(page, 'Overview');
    // The new node's figures, history and all, through the resubscribed overview.
    await expect
      .poll(() => page.locator(`tr[data-node="${nodeB}"]`).isVisible(), restartWaitOpts)
      .toBe(true);
    await expect.poll(() => page.locator(`tr[data-node="${nodeA}"]`).count(), waitOpts).toBe(0);
    await vi.waitFor(async () => {
      expect(await shownFigures(page)).toEqual(serverFigures(second.server.inspector.stats()));
    }, restartWaitOpts);
    // The five load clients came back too.
    expect(second.server.inspector.stats().usersOnline).toBe(6);
    expect(
      await page.evaluate(() => (window as unknown as { sameDocument?: boolean }).sameDocument),
    ).toBe(true);
    expect(errors).toEqual([]);
  });

  it('shows each node of a cluster and their total, or one node alone when selected', {
    timeout: updatingScreenshots ? 90_000 : 30_000,
  }, async () => {
    const broker = createMemoryBroker();
    cleanups.push(() => broker.close());
    const a = await loadedServer(10, [], { broker });
    const b = await loadedServer(6, [], { broker });
    const { page, errors } = await openDashboard(browser(), a.app.pageUrl, sizes[0]);
    const figuresOf = (app: typeof a.app) => serverFigures(app.server.inspector.stats());
    const summed = () => {
      const [x, y] = [figuresOf(a.app), figuresOf(b.app)];
      return Object.fromEntries(
        Object.keys(x).map((k) => [k, x[k as keyof typeof x] + y[k as keyof typeof y]]),
      );
    };
    await vi.waitFor(async () => {
      expect(await shownFigures(page)).toEqual(summed());
    }, waitOpts);
    for (const app of [a.app, b.app]) {
      const row = page.locator(`tr[data-node="${app.server.inspector.nodeId}"]`);
      expect(await onScreen(page, row, { scroll: true })).toBe('on screen');
    }
    // A line per node beside the total.
    expect(await page.locator('[data-metric="users"] .legend span').allTextContents()).toHaveLength(
      3,
    );
    await page.locator('.content').evaluate((el) => el.scrollTo(0, 0));
    await reviewShot(page, 'cluster');
    if (updatingScreenshots) {
      // For docs/ only: half a minute of uneven traffic, so the charts have a shape to show.
      await unevenTraffic([...a.load.clients, ...b.load.clients], 30_000);
      await vi.waitFor(async () => {
        expect(await shownFigures(page)).toEqual(summed());
      }, waitOpts);
    }
    // The desktop screenshot for docs/: two nodes show each node's line beside the total.
    await page.screenshot({ path: screenshotPath('admin.png'), animations: 'disabled' });

    await page.getByRole('combobox', { name: 'Node' }).selectOption(b.app.server.inspector.nodeId);
    await vi.waitFor(async () => {
      expect(await shownFigures(page)).toEqual(figuresOf(b.app));
    }, waitOpts);
    await openTab(page, 'Connections');
    const nodesListed = () =>
      page
        .locator('tbody tr[data-connection] td:nth-of-type(2)')
        .evaluateAll((cells) => [...new Set(cells.map((c) => (c as HTMLElement).title))]);
    await expect.poll(nodesListed, waitOpts).toEqual([b.app.server.inspector.nodeId]);
    expect(errors).toEqual([]);
  });

  it.runIf(hasRedis)(
    "shows each node's Redis broker: state, outages, publish latency, through an outage",
    async () => {
      const redis = await startTestRedis({ appendOnly: false });
      cleanups.push(async () => {
        await redis[Symbol.asyncDispose]();
      });
      const brokers = await Promise.all(
        [0, 1].map(() => createRedisBroker({ url: redis.url, onConnectionChange: () => {} })),
      );
      cleanups.push(() => Promise.all(brokers.map((broker) => broker.close())));
      const a = await loadedServer(4, [], { broker: brokers[0]! });
      const b = await loadedServer(4, [], { broker: brokers[1]! });
      const { page, errors } = await openDashboard(browser(), a.app.pageUrl, sizes[0]);
      await openTab(page, 'Broker');
      type App = typeof a.app;
      const fact = (app: App, name: string) =>
        page
          .locator(`.broker-card[data-node="${app.server.inspector.nodeId}"] .facts > div`)
          .filter({ has: page.locator('dt', { hasText: new RegExp(`^${name}$`) }) })
          .locator('dd');
      for (const app of [a.app, b.app]) {
        await expect.poll(() => fact(app, 'Kind').textContent(), waitOpts).toBe('redis');
        await expect.poll(() => fact(app, 'State').textContent(), waitOpts).toBe('ready');
        await expect.poll(() => fact(app, 'Outages').textContent(), waitOpts).toBe('0');
        // The admin's own reports go over Redis every 200 ms: publishes are timed.
        await expect
          .poll(() => fact(app, 'Publish p50').textContent(), waitOpts)
          .toMatch(/^[\d.]+ ms$/);
      }
      await reviewShot(page, 'broker-redis');

      // Reports travel over Redis: without it no frame comes, and the page says so.
      await redis.stop();
      const stale = page.locator('.banner[data-status="stale"]');
      await expect.poll(() => stale.isVisible(), restartWaitOpts).toBe(true);
      expect(await onScreen(page, stale, { scroll: true })).toBe('on screen');
      await reviewShot(page, 'broker-redis-down');
      await redis.start();
      await expect.poll(() => stale.count(), restartWaitOpts).toBe(0);
      for (const app of [a.app, b.app]) {
        await expect.poll(() => fact(app, 'State').textContent(), restartWaitOpts).toBe('ready');
        const outages = app.server.inspector.stats().broker.outages;
        expect(outages).toBeGreaterThanOrEqual(1);
        await expect
          .poll(() => fact(app, 'Outages').textContent(), restartWaitOpts)
          .toBe(String(outages));
      }
      expect(errors).toEqual([]);
    },
    90_000,
  );

  it('signs the operator out when the server stops authorizing them', async () => {
    const { app } = await loadedServer(2);
    const { page, errors } = await openDashboard(browser(), app.pageUrl, sizes[0]);
    app.revoked.add('ops');
    await expect
      .poll(() => page.getByRole('alert').textContent(), waitOpts)
      .toBe('Access denied: this token no longer belongs to an operator.');
    expect(await page.locator('.shell').count()).toBe(0);
    expect(await page.evaluate(() => sessionStorage.length)).toBe(0);
    expect(errors).toEqual([]);
  });

  for (const size of sizes) {
    it(`refuses anyone but an operator, and shows nothing but the sign-in (${size.label})`, async () => {
      const app = await startAdminPageServer(pageDir);
      cleanups.push(() => app.close());
      const { page, errors } = await openPage(browser(), app.pageUrl, size);
      const alert = page.getByRole('alert');
      const nothingElse = async () => ({
        shell: await page.locator('.shell, [role="tab"], .metric, table').count(),
        kept: await page.evaluate(() => sessionStorage.length),
      });

      // A signed-in user who is not an operator: FORBIDDEN.
      await signIn(page, 'user:eve');
      await expect
        .poll(() => alert.textContent(), waitOpts)
        .toBe('Access denied: this token does not belong to an operator.');
      expect(await onScreen(page, alert, { scroll: true })).toBe('on screen');
      expect(await nothingElse()).toEqual({ shell: 0, kept: 0 });
      expect(await axeViolations(page), `axe-core on the refusal at ${size.label}`).toEqual([]);
      await reviewShot(page, `refused-${size.shot}`);

      // A token the server does not accept at all: UNAUTHORIZED.
      await signIn(page, 'admin:wrong');
      await expect.poll(() => alert.textContent(), waitOpts).toBe('The server refused this token.');
      expect(await nothingElse()).toEqual({ shell: 0, kept: 0 });

      // A reload does not get past it either; the operator's token does.
      await page.reload();
      expect(await nothingElse()).toEqual({ shell: 0, kept: 0 });
      await signIn(page, `admin:${operatorSecret}`);
      await expect.poll(() => connState(page), waitOpts).toBe('open');
      expect(await page.evaluate(() => sessionStorage.length)).toBe(1);
      // The tab keeps the operator signed in across a reload, on one connection.
      await page.reload();
      await expect.poll(() => connState(page), waitOpts).toBe('open');
      const operatorSockets = () => app.server.inspector.connections({ userId: 'ops' }).length;
      await expect.poll(operatorSockets, waitOpts).toBe(1);
      expect(errors).toEqual([]);
    });
  }
});
