import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ChatLimits } from '@duplex/chat';
import type { Broker } from '@duplex/server';
import type { Browser, BrowserContext, Locator, Page, WebSocketRoute } from 'playwright-core';
import { build } from 'vite';
import { expect } from 'vitest';
import { createChatApp } from './server/app';

/** Waits on a page; well inside the 30 s test timeout, so a failure shows its diff. */
export const waitOpts = { timeout: 10_000, interval: 50 };
/**
 * A restart waits on the client's default backoff (full jitter, 500 ms doubling) while the new
 * server opens its database, so the reconnect gets longer than other waits.
 */
export const reconnectWaitOpts = { timeout: 20_000, interval: 50 };

/** Everything a test opened, for the test file to close after each test in reverse order. */
export const cleanups: (() => Promise<unknown>)[] = [];

/** Where this test file's build of the web app is, once built. */
let webDir: string | undefined;

/**
 * Builds the web app into a directory of this test file's own (files run in parallel, and a
 * shared `dist` would be emptied under another file's server); {@link startChat} serves it.
 * Returns that directory.
 */
export async function buildWebApp(): Promise<string> {
  webDir ??= await mkdtemp(join(tmpdir(), 'duplex-chat-web-'));
  await build({
    configFile: fileURLToPath(new URL('../vite.config.ts', import.meta.url)),
    // The config's `root` is relative to the cwd, which is the repository root under vitest.
    root: fileURLToPath(new URL('./web', import.meta.url)),
    build: { outDir: webDir, emptyOutDir: true },
    logLevel: 'warn',
  });
  return webDir;
}

export interface ChatServerOptions {
  /** `0` for a free port; a previous server's port to restart on it. */
  port?: number;
  /** PGlite's directory, or `null` for an in-memory database. */
  dataDir?: string | null;
  broker?: Broker;
  /** The chat module's limits, e.g. a higher send rate to fill a room quickly. */
  chatLimits?: Partial<ChatLimits>;
}

/** The chat app on 127.0.0.1; `close()` is safe to call again from the cleanups. */
export async function startChat(opts: ChatServerOptions = {}) {
  const app = await createChatApp({
    dataDir: opts.dataDir ?? null,
    staticDir: webDir ?? null,
    ...(opts.broker ? { broker: opts.broker } : {}),
    ...(opts.chatLimits ? { chatLimits: opts.chatLimits } : {}),
  });
  let closing: Promise<void> | null = null;
  const close = () => {
    closing ??= app.close();
    return closing;
  };
  cleanups.push(close);
  const { url } = await app.server.listen(opts.port ?? 0, '127.0.0.1');
  return { app, url, port: Number(new URL(url).port), close };
}

/**
 * Chromium logs every refused connection: while a server restarts, that is the client retrying
 * its socket, and probing plain HTTP before it would fall back to it. Offline (a test's
 * `context.setOffline`), the same attempts fail as disconnected.
 */
const refusedConnection =
  /^(WebSocket connection to '.*' failed: .*|Failed to load resource: )net::ERR_(CONNECTION_REFUSED|INTERNET_DISCONNECTED)$/;

export interface ChatPage {
  name: string;
  context: BrowserContext;
  page: Page;
  /** Uncaught errors, unhandled rejections and console errors in the page. */
  errors: string[];
  /** The page's sockets to the server, oldest first, when opened with `routeSockets`. */
  sockets: WebSocketRoute[];
}

/** A laptop's window and a phone's (an iPhone 12–15's CSS pixels), as the layout tests use. */
export const desktop = { width: 1280, height: 800 } as const;
export const phone = { width: 390, height: 844 } as const;

export interface OpenPageOptions {
  /** @default desktop; a width under 760 gets the phone layout. */
  viewport?: { width: number; height: number };
  /** Emulates a phone: touch, no hover, the mobile viewport meta. @default false */
  mobile?: boolean;
  /**
   * Routes the page's sockets through the test (see {@link ChatPage.sockets}), so a test can
   * drop one as a network blip would.
   */
  routeSockets?: boolean;
}

/** A browser context of its own (own localStorage) with the chat page open. */
export async function openPage(
  browser: Browser,
  url: string,
  name: string,
  signedIn = true,
  opts: OpenPageOptions = {},
) {
  const context = await browser.newContext({
    viewport: opts.viewport ?? desktop,
    ...(opts.mobile ? { isMobile: true, hasTouch: true } : {}),
  });
  cleanups.push(() => context.close());
  const sockets: WebSocketRoute[] = [];
  if (opts.routeSockets) {
    await context.routeWebSocket(/\/trpc/, (socket) => {
      socket.connectToServer();
      sockets.push(socket);
    });
  }
  if (signedIn) {
    await context.addInitScript((n) => localStorage.setItem('duplex-chat:name', n), name);
  }
  // Well inside the 30 s test timeout, so a stuck click or wait fails with its own message.
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
  const user: ChatPage = { name, context, page, errors, sockets };
  if (signedIn) await waitOpen(user);
  return user;
}

/** Waits for the socket to be open. */
export async function waitOpen({ page }: ChatPage) {
  await expect.poll(() => page.locator('.conn').getAttribute('data-state'), waitOpts).toBe('open');
}

/**
 * Joins a room from the Discover list and waits until the room is open and its event stream
 * runs: the server publishes who is online when the stream starts, so seeing oneself online
 * means events published from now on reach this page.
 */
export async function joinFromDiscover(user: ChatPage, room: string) {
  await user.page
    .locator('.discover')
    .filter({ hasText: `# ${room}` })
    .getByRole('button', { name: 'Join' })
    .click();
  await expect.poll(() => activeRoomOf(user), waitOpts).toBe(room);
  await expect.poll(() => onlineOf(user), waitOpts).toContain(user.name);
}

/** The name of the room shown, from the sidebar's active entry. */
export async function activeRoomOf({ page }: ChatPage): Promise<string | null> {
  const names = await page.locator('.room.active .room-name').allTextContents();
  return names.length === 1 ? names[0]!.replace(/^(# |Private: )/, '') : null;
}

/** Who the room header lists as online, sorted by name, e.g. `['Ada', 'Grace']`. */
export async function onlineOf({ page }: ChatPage): Promise<string[]> {
  const header = (await page.locator('.room-header .muted').textContent()) ?? '';
  const names = header.split(' online: ')[1];
  return names ? names.split(', ').sort() : [];
}

/** Types a message (key by key, as a person does, so typing signals go out) and sends it. */
export async function send({ page }: ChatPage, text: string) {
  const input = page.locator('.compose-text');
  await input.pressSequentially(text);
  await page.locator('form.composer').getByRole('button', { name: 'Send' }).click();
  await expect.poll(() => input.inputValue(), waitOpts).toBe('');
}

/** The room's messages, oldest first: the text of each (empty for an image alone). */
export function textsOf({ page }: ChatPage): Promise<string[]> {
  return page.$$eval('.messages .message', (items) =>
    items.map((item) => item.querySelector('.text')?.textContent ?? ''),
  );
}

/** The room's messages, oldest first: each one's `data-id`. */
export function idsOf({ page }: ChatPage): Promise<string[]> {
  return page.$$eval('.messages .message', (items) =>
    items.map((item) => (item as HTMLElement).dataset.id ?? ''),
  );
}

/** The message whose text is `text`. */
export function messageOf({ page }: ChatPage, text: string) {
  return page.locator('.messages .message').filter({
    has: page.locator('.text', { hasText: new RegExp(`^${escapeRegExp(text)}$`) }),
  });
}

/**
 * Clicks one of a message's actions by its title ('React 👍', 'Edit', 'Delete'): shown by
 * hovering with a mouse, or on a touch screen by tapping the message's "…" button.
 */
export async function act(message: Locator, title: string) {
  const button = message.locator(`.actions button[title="${title}"]`);
  await message.hover();
  if (!(await button.isVisible())) await message.locator('.more-button').click();
  await button.click();
}

/** 'open' when the drawer is wholly on screen, 'closed' when it is hidden, else 'moving'. */
export async function drawerState(page: Page): Promise<string> {
  const sidebar = page.locator('.sidebar');
  if (!(await sidebar.isVisible())) return 'closed';
  const box = await sidebar.boundingBox();
  return box && box.x >= -0.5 ? 'open' : 'moving';
}

export const focusedClass = (page: Page) =>
  page.evaluate(() => document.activeElement?.getAttribute('class') ?? '');

/** Shows room `name`: from the sidebar, or on a phone from the drawer. */
export async function openRoom(user: ChatPage, name: string) {
  const { page } = user;
  const menu = page.locator('.menu-button');
  if (await menu.isVisible()) {
    await menu.click();
    await expect.poll(() => drawerState(page), waitOpts).toBe('open');
  }
  await page.locator('.room', { hasText: name }).click();
  await expect.poll(() => activeRoomOf(user), waitOpts).toBe(name);
  await expect.poll(() => drawerState(page), waitOpts).not.toBe('moving');
}

/**
 * Starts recording every value `.conn[data-state]` takes, and every banner shown
 * (`.banner[data-status]`, `null` while there is none).
 */
export async function recordStatus({ page }: ChatPage) {
  await page.evaluate(() => {
    const conn = document.querySelector('.conn') as HTMLElement;
    const main = document.querySelector('.main') as HTMLElement;
    const banner = () => main.querySelector<HTMLElement>('.banner')?.dataset.status ?? null;
    const states = [conn.dataset.state ?? null];
    const banners = [banner()];
    new MutationObserver(() => {
      if (conn.dataset.state !== states.at(-1)) states.push(conn.dataset.state ?? null);
    }).observe(conn, { attributeFilter: ['data-state'] });
    new MutationObserver(() => {
      if (banner() !== banners.at(-1)) banners.push(banner());
    }).observe(main, { subtree: true, childList: true, attributeFilter: ['data-status'] });
    Object.assign(window, { statusSeen: () => ({ states, banners }) });
  });
}

/** The states and banners recorded since {@link recordStatus}, each change once. */
export function statusOf({ page }: ChatPage) {
  return page.evaluate(() =>
    (
      window as unknown as { statusSeen: () => { states: string[]; banners: (string | null)[] } }
    ).statusSeen(),
  );
}

/**
 * Types `draft` into the composer a key at a time until `watcher` sees the typing line. A page
 * sends a typing signal at most every 2 s, so a short burst right after another message may
 * send none; a person typing on sends one soon enough.
 */
export async function typeUntilSeen(typist: ChatPage, watcher: ChatPage, draft: string) {
  const input = typist.page.locator('.compose-text');
  let typed = 0;
  await expect
    .poll(
      async () => {
        if (typed < draft.length) await input.pressSequentially(draft[typed++]!);
        return watcher.page.locator('.typing').textContent();
      },
      { timeout: 10_000, interval: 150 },
    )
    .toBe(`${typist.name} is typing…`);
}

/** The natural width of each `img.attachment` in the room: 0 until it has loaded. */
export function loadedImagesOf({ page }: ChatPage): Promise<number[]> {
  return page.$$eval('.messages img.attachment', (images) =>
    images.map((img) => (img as HTMLImageElement).naturalWidth),
  );
}

/**
 * A PNG of a small latency chart, drawn by the browser itself so the screenshot shows a
 * realistic image (a 1x1 pixel would be invisible).
 */
export async function renderChartPng(browser: Browser): Promise<Buffer> {
  const page = await browser.newPage({ viewport: { width: 360, height: 200 } });
  try {
    const bars = [38, 52, 44, 61, 35, 29, 24, 22, 20, 21, 19, 18];
    await page.setContent(`
      <body style="margin:0;font:12px system-ui,sans-serif;background:#fff">
        <div id="chart" style="width:360px;height:200px;padding:14px 16px;box-sizing:border-box">
          <div style="font-weight:600;color:#1c2230">p99 latency (ms), last 12 h</div>
          <div style="display:flex;align-items:flex-end;gap:8px;height:140px;margin-top:12px;border-bottom:1px solid #d6dbe6">
            ${bars
              .map(
                (v, i) =>
                  `<div style="flex:1;height:${v * 2}px;border-radius:4px 4px 0 0;background:${i < 6 ? '#f2b33d' : '#4458d6'}"></div>`,
              )
              .join('')}
          </div>
        </div>
      </body>`);
    return await page.locator('#chart').screenshot({ type: 'png' });
  } finally {
    await page.close();
  }
}

function escapeRegExp(text: string) {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
