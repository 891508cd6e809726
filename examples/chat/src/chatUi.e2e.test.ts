import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createDuplexClient } from '@duplex/client';
import {
  type AxeViolation,
  axeViolations,
  chromiumAvailable,
  onScreen,
  useChromium,
} from '@duplex/tests/browser';
import type { Locator, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  act,
  activeRoomOf,
  buildWebApp,
  type ChatPage,
  cleanups,
  desktop,
  drawerState,
  focusedClass,
  idsOf,
  messageOf,
  type OpenPageOptions,
  openPage,
  openRoom,
  phone,
  startChat,
  textsOf,
  waitOpen,
  waitOpts,
} from './e2eHelpers';
import type { AppRouter } from './server/router';

/**
 * The web chat as a person sees it, at a laptop's 1280×800 and a phone's 390×844: what is on
 * screen (bounding boxes against the viewport, not DOM presence), offline and back, drafts,
 * the phone's drawer, keyboard and touch, markdown, and axe-core's accessibility rules. One
 * server and one browser for the file; each test has users and rooms of its own.
 */
const hasChromium = chromiumAvailable("the chat UI's browser suite");

type ChatApp = Awaited<ReturnType<typeof startChat>>;
type ChatClient = ReturnType<typeof createDuplexClient<AppRouter>>;

const sizes = [
  { label: '1280×800', shot: 'desktop', opts: { viewport: desktop } },
  { label: '390×844', shot: 'phone', opts: { viewport: phone, mobile: true } },
] as const satisfies readonly { label: string; shot: string; opts: OpenPageOptions }[];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

let serial = 0;
/** A name no other test of this file uses, e.g. `Ada 3`. */
const unique = (name: string) => `${name} ${++serial}`;
/** The id sign-in makes of a name (as `userIdOf` on the server). */
const idOf = (name: string) => name.toLowerCase().replace(/[\s_-]+/g, '-');

// Each test drives a page through many steps: 60 s, for a machine busy with the other suites.
describe.skipIf(!hasChromium)('the web chat as a person sees it', { timeout: 60_000 }, () => {
  const browser = useChromium(buildWebApp);
  let chat: ChatApp;
  beforeAll(async () => {
    // Sends are rate-limited per user (5 a second): raised so a test fills a room at once.
    chat = await startChat({ chatLimits: { sendsPerSecond: 10_000, sendBurst: 10_000 } });
    // Shared by the file's tests: closed after all of them, not after each.
    cleanups.splice(cleanups.indexOf(chat.close), 1);
  });
  afterAll(async () => {
    await chat?.close();
  });

  /** The typed client in Node, signed in as `name`: another person, or a bot. */
  const clientOf = (name: string): ChatClient => {
    const client = createDuplexClient<AppRouter>({
      url: new URL('/trpc', chat.url).href,
      token: encodeURIComponent(name),
    });
    cleanups.push(() => client.$close());
    return client;
  };
  /** A public room `owner` creates, that each of `members` joins. */
  const roomOf = async (owner: ChatClient, name: string, members: ChatClient[] = []) => {
    const room = await owner.chat.createRoom.mutate({ name, visibility: 'public' });
    for (const member of members) await member.chat.joinRoom.mutate({ roomId: room.id });
    return room.id;
  };
  let sent = 0;
  const say = (client: ChatClient, roomId: string, text: string) =>
    client.chat.send.mutate({ roomId, clientMsgId: `seed-${++sent}`, text });

  /** Ada (the page's user) and Grace (a client in Node) in a room of their own. */
  const twoInARoom = async () => {
    const ada = unique('Ada');
    const adaClient = clientOf(ada);
    const graceName = unique('Grace');
    const grace = clientOf(graceName);
    const room = unique('Room');
    const roomId = await roomOf(grace, room, [adaClient]);
    return { ada, adaClient, grace, graceName, room, roomId };
  };

  for (const { label, shot, opts } of sizes) {
    it(`keeps the header, composer and newest message on screen: 60 messages, scrolled up, offline and back (${label})`, async () => {
      const { ada, adaClient, grace, graceName, roomId } = await twoInARoom();
      const elsewhere = unique('Elsewhere');
      const elsewhereId = await roomOf(grace, elsewhere, [adaClient]);
      for (let i = 1; i <= 60; i++) {
        const text =
          i % 7 === 0
            ? `Message ${i}: a longer one, to take a few lines on a phone. It goes on for a while, so that the list is much taller than any screen.`
            : `Message ${i}`;
        await say(i % 2 ? grace : adaClient, roomId, text);
      }
      const user = await openPage(browser(), chat.url, ada, true, { ...opts, routeSockets: true });
      await expect.poll(() => lastTextOf(user), waitOpts).toBe('Message 60');
      await expectShellOnScreen(user);
      await reviewShot(user.page, `long-${shot}`);

      // A message arriving while the user is at the bottom comes into view.
      await say(grace, roomId, 'Message 61');
      await expect.poll(() => lastTextOf(user), waitOpts).toBe('Message 61');
      await expectShellOnScreen(user);
      // Screen readers are told: a polite log of new messages, not the history loaded.
      const told = user.page.locator('.messages-frame [role="log"]');
      await expect.poll(() => told.textContent(), waitOpts).toBe(`${graceName}: Message 61`);

      // A message in another room moves that room up the list, and nothing here: not the room
      // shown, not the scroll position, not the focus in the composer.
      const input = user.page.locator('.compose-text');
      await input.focus();
      await say(grace, elsewhereId, 'Meanwhile, elsewhere');
      const badge = user.page.locator(`.badge[data-room="${elsewhere}"]`);
      await expect.poll(() => badge.textContent(), waitOpts).toBe('1');
      await expect(lastTextOf(user)).resolves.toBe('Message 61');
      await expectShellOnScreen(user);
      await expect(input.evaluate((box) => box === document.activeElement)).resolves.toBe(true);

      // Scrolled up to read: new messages don't move the view; a button says they came.
      await user.page.locator('.messages').evaluate((list) => {
        list.scrollTop = list.scrollHeight / 3;
      });
      await say(grace, roomId, 'Message 62');
      const jump = user.page.locator('button.jump');
      await expect.poll(() => jump.textContent(), waitOpts).toContain('New message');
      await expectOnScreen(user.page, jump);
      await reviewShot(user.page, `jump-${shot}`);
      expect(await onScreen(user.page, newest(user))).not.toBe('on screen');
      await jump.click();
      await expect.poll(() => onScreen(user.page, newest(user)), waitOpts).toBe('on screen');
      await expect(jump.count()).resolves.toBe(0);
      await expectShellOnScreen(user);

      // Offline: the banner floats over the messages; nothing moves.
      const composer = user.page.locator('form.composer');
      const before = await composer.boundingBox();
      await goOffline(user);
      const banner = user.page.locator('.banner[data-status="offline"]');
      await expectOnScreen(user.page, banner);
      await expectShellOnScreen(user);
      await reviewShot(user.page, `offline-${shot}`);
      expect(await composer.boundingBox()).toEqual(before);

      // Back online: the same, and the page itself never scrolled.
      await goOnline(user);
      await say(grace, roomId, 'Message 63');
      await expect.poll(() => lastTextOf(user), waitOpts).toBe('Message 63');
      await expectShellOnScreen(user);
      expect(await composer.boundingBox()).toEqual(before);
      expect(user.errors).toEqual([]);
    });

    it(`shows a message sent offline as pending, then sent in place, once; text typed meanwhile stays (${label})`, async () => {
      const { ada, grace, roomId } = await twoInARoom();
      await say(grace, roomId, 'Are you there?');
      const user = await openPage(browser(), chat.url, ada, true, { ...opts, routeSockets: true });
      await expect.poll(() => textsOf(user), waitOpts).toEqual(['Are you there?']);

      await goOffline(user);
      const input = user.page.locator('.compose-text');
      await input.fill('Sent while offline');
      await input.press('Enter');
      const mine = messageOf(user, 'Sent while offline');
      await expect.poll(() => mine.count(), waitOpts).toBe(1);
      await expect(mine.getAttribute('data-pending')).resolves.toBe('true');
      await expect(mine.locator('.pending-note').textContent()).resolves.toContain('Sending');
      await expectOnScreen(user.page, mine);
      await reviewShot(user.page, `pending-${shot}`);
      await expect(input.inputValue()).resolves.toBe('');
      // Typed while the send waits: it must still be there when the send goes through.
      await input.pressSequentially('Typed while waiting');
      const pendingRow = await mine.elementHandle();

      await goOnline(user);
      await expect.poll(() => mine.getAttribute('data-pending'), waitOpts).toBe(null);
      await expect(mine.locator('time').count()).resolves.toBe(1);
      // Confirmed in place: the same element, now with the stored message's id.
      expect(await pendingRow!.evaluate((row) => row.isConnected)).toBe(true);
      expect(await pendingRow!.evaluate((row) => (row as HTMLElement).dataset.id)).toMatch(/^\d+$/);
      await expect(input.inputValue()).resolves.toBe('Typed while waiting');
      // Once: on this page, and in the room's history.
      await expect
        .poll(() => textsOf(user), waitOpts)
        .toEqual(['Are you there?', 'Sent while offline']);
      expect(new Set(await idsOf(user)).size).toBe(2);
      const history = await grace.chat.history.query({ roomId });
      expect(history.map((m) => m.text).sort()).toEqual(['Are you there?', 'Sent while offline']);
      expect(user.errors).toEqual([]);
    });

    it(`keeps a room's draft across a reload and a room switch (${label})`, async () => {
      const { ada, adaClient, room, roomId } = await twoInARoom();
      const other = unique('Other');
      await roomOf(adaClient, other);
      const user = await openPage(browser(), chat.url, ada, true, opts);
      await openRoom(user, room);
      const input = user.page.locator('.compose-text');
      await input.pressSequentially('Half a thought');
      await user.page.reload();
      await waitOpen(user);
      await openRoom(user, room);
      await expect.poll(() => input.inputValue(), waitOpts).toBe('Half a thought');
      await expectOnScreen(user.page, input);

      await openRoom(user, other);
      await expect.poll(() => input.inputValue(), waitOpts).toBe('');
      await openRoom(user, room);
      await expect.poll(() => input.inputValue(), waitOpts).toBe('Half a thought');
      // Sending clears it, for good.
      await input.press('Enter');
      await expect.poll(() => textsOf(user), waitOpts).toEqual(['Half a thought']);
      await user.page.reload();
      await waitOpen(user);
      await openRoom(user, room);
      await expect(input.inputValue()).resolves.toBe('');
      expect(
        await user.page.evaluate(
          (id) => localStorage.getItem(id),
          `duplex-chat:draft:${idOf(ada)}:${roomId}`,
        ),
      ).toBe(null);
      expect(user.errors).toEqual([]);
    });
  }

  it('on a phone, opens the drawer and reaches every room action from it', async () => {
    const ada = unique('Ada');
    const adaClient = clientOf(ada);
    const grace = clientOf(unique('Grace'));
    const first = unique('First');
    const second = unique('Second');
    const toJoin = unique('Joinable');
    await roomOf(adaClient, first);
    await roomOf(adaClient, second);
    await roomOf(grace, toJoin);
    const user = await openPage(browser(), chat.url, ada, true, { viewport: phone, mobile: true });
    const { page } = user;
    const sidebar = page.locator('.sidebar');
    const menu = page.locator('.menu-button');
    await expectOnScreen(page, menu);
    await expect(sidebar.isVisible()).resolves.toBe(false);

    const openDrawer = async () => {
      await menu.click();
      await expect.poll(() => drawerState(page), waitOpts).toBe('open');
      // The focus moves into the drawer.
      await expect
        .poll(() => page.evaluate(() => !!document.activeElement?.closest('.sidebar')), waitOpts)
        .toBe(true);
    };
    const expectClosed = async () => {
      await expect.poll(() => drawerState(page), waitOpts).toBe('closed');
      await expect.poll(() => focusedClass(page), waitOpts).toContain('menu-button');
    };

    await openDrawer();
    // Every room action is there, on screen: rooms, discover, new room, the bell, sign-out.
    for (const control of [
      page.locator('.room', { hasText: first }),
      page.locator('.room', { hasText: second }),
      page.locator('.discover', { hasText: toJoin }).getByRole('button', { name: 'Join' }),
      page.getByRole('textbox', { name: 'New room name' }),
      page.getByRole('checkbox', { name: 'Private' }),
      page.getByRole('button', { name: 'Create' }),
      page.locator('button.bell'),
      page.getByRole('button', { name: 'Sign out' }),
    ])
      await expectOnScreen(page, control);
    await reviewShot(page, 'drawer-phone');
    // The room behind is out of reach while the drawer is open.
    await expect(page.locator('main').evaluate((main) => main.hasAttribute('inert'))).resolves.toBe(
      true,
    );

    // Escape closes it, and so does a tap beside it; the focus goes back to the menu button.
    await page.keyboard.press('Escape');
    await expectClosed();
    await openDrawer();
    await page.mouse.click(phone.width - 20, phone.height / 2);
    await expectClosed();

    // Choosing a room closes it.
    await openDrawer();
    await page.locator('.room', { hasText: second }).click();
    await expectClosed();
    await expect
      .poll(() => page.locator('.room-header h1').textContent(), waitOpts)
      .toBe(`# ${second}`);

    // Joining from Discover.
    await openDrawer();
    await page
      .locator('.discover', { hasText: toJoin })
      .getByRole('button', { name: 'Join' })
      .click();
    await expectClosed();
    await expect
      .poll(() => page.locator('.room-header h1').textContent(), waitOpts)
      .toBe(`# ${toJoin}`);

    // Creating a private room; the Private box is clear again afterwards.
    const secret = unique('Secret');
    await openDrawer();
    await page.getByRole('textbox', { name: 'New room name' }).fill(secret);
    await page.getByRole('checkbox', { name: 'Private' }).check();
    await page.getByRole('button', { name: 'Create' }).click();
    await expectClosed();
    await expect
      .poll(() => page.locator('.room-header h1').textContent(), waitOpts)
      .toBe(`Private: ${secret}`);
    await openDrawer();
    await expect(page.getByRole('checkbox', { name: 'Private' }).isChecked()).resolves.toBe(false);

    // The bell opens the notifications over the drawer; Escape closes them, back to the bell.
    await page.locator('button.bell').click();
    const panel = page.locator('.notif-panel');
    await expectOnScreen(page, panel);
    await reviewShot(page, 'notifications-phone');
    await page.keyboard.press('Escape');
    await expect.poll(() => panel.count(), waitOpts).toBe(0);
    await expect.poll(() => focusedClass(page), waitOpts).toContain('bell');
    await expect(drawerState(page)).resolves.toBe('open');

    // Signing out.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await expectOnScreen(page, page.locator('.signin-card'));
    expect(user.errors).toEqual([]);
  });

  it('closes the notification panel on Escape and on a press outside, back to the bell', async () => {
    const ada = unique('Ada');
    const user = await openPage(browser(), chat.url, ada);
    const { page } = user;
    await chat.app.notifier.notify({ to: idOf(ada), category: 'deploy', title: 'Deploy started' });
    const bell = page.locator('button.bell');
    const panel = page.locator('.notif-panel');
    await expect
      .poll(() => bell.getAttribute('aria-label'), waitOpts)
      .toBe('Notifications, 1 unread');

    await bell.click();
    await expectOnScreen(page, panel);
    await reviewShot(page, 'notifications-desktop');
    // The focus moves into the panel.
    await expect
      .poll(() => page.evaluate(() => !!document.activeElement?.closest('.notif-panel')), waitOpts)
      .toBe(true);
    await page.keyboard.press('Escape');
    await expect.poll(() => panel.count(), waitOpts).toBe(0);
    await expect.poll(() => focusedClass(page), waitOpts).toContain('bell');

    await bell.click();
    await expectOnScreen(page, panel);
    await page.locator('.empty, .room-header').first().click();
    await expect.poll(() => panel.count(), waitOpts).toBe(0);
    await expect.poll(() => focusedClass(page), waitOpts).toContain('bell');

    // The bell toggles it too.
    await bell.click();
    await expectOnScreen(page, panel);
    await bell.click();
    await expect.poll(() => panel.count(), waitOpts).toBe(0);
    expect(user.errors).toEqual([]);
  });

  it('reaches message actions by keyboard on a laptop and by tap on a phone', async () => {
    const { ada, adaClient, grace, roomId } = await twoInARoom();
    await say(grace, roomId, 'From Grace');
    await say(adaClient, roomId, 'From Ada');

    // Keyboard: Tab reaches a message's "…" button, which shows the actions; Tab goes on into them.
    const laptop = await openPage(browser(), chat.url, ada);
    await expect.poll(() => textsOf(laptop), waitOpts).toEqual(['From Grace', 'From Ada']);
    const graces = messageOf(laptop, 'From Grace');
    const thumbsUp = graces.locator('.actions button[title="React 👍"]');
    await expect(thumbsUp.isVisible()).resolves.toBe(false);
    await graces.locator('.more-button').focus();
    await expect.poll(() => thumbsUp.isVisible(), waitOpts).toBe(true);
    await laptop.page.keyboard.press('Tab');
    await expect
      .poll(
        () => laptop.page.evaluate(() => document.activeElement?.getAttribute('title')),
        waitOpts,
      )
      .toBe('React 👍');
    await laptop.page.keyboard.press('Enter');
    await expect
      .poll(() => graces.locator('.reaction').allTextContents(), waitOpts)
      .toEqual(['👍 1']);
    // Enter on "…" opens the actions for good; Escape folds them, back on "…".
    const adas = messageOf(laptop, 'From Ada');
    await adas.locator('.more-button').focus();
    await laptop.page.keyboard.press('Enter');
    await expect(adas.locator('.more-button').getAttribute('aria-expanded')).resolves.toBe('true');
    await laptop.page.keyboard.press('Escape');
    await expect
      .poll(() => adas.locator('.more-button').getAttribute('aria-expanded'), waitOpts)
      .toBe('false');
    await expect.poll(() => focusedClass(laptop.page), waitOpts).toContain('more-button');
    await laptop.context.close();

    // Touch: no hover; the "…" button is always there, and a tap shows the actions.
    const phoneUser = await openPage(browser(), chat.url, ada, true, {
      viewport: phone,
      mobile: true,
    });
    const mine = messageOf(phoneUser, 'From Ada');
    await expect.poll(() => mine.count(), waitOpts).toBe(1);
    const more = mine.locator('.more-button');
    await expectOnScreen(phoneUser.page, more);
    await expect(mine.locator('.actions button[title="Edit"]').isVisible()).resolves.toBe(false);
    await more.tap();
    await expectOnScreen(phoneUser.page, mine.locator('.actions button[title="Edit"]'));
    await reviewShot(phoneUser.page, 'actions-phone');
    await mine.locator('.actions button[title="Edit"]').tap();
    const edit = phoneUser.page.locator('.messages input.edit');
    await edit.fill('From Ada, edited');
    await edit.press('Enter');
    await expect
      .poll(() => textsOf(phoneUser), waitOpts)
      .toEqual(['From Grace', 'From Ada, edited']);
    await act(messageOf(phoneUser, 'From Ada, edited'), 'Delete');
    await expect
      .poll(() => textsOf(phoneUser), waitOpts)
      .toEqual(['From Grace', 'This message was deleted.']);
    expect(phoneUser.errors).toEqual([]);
  });

  it('renders a bot reply as sanitized markdown, all of it', async () => {
    const { ada, grace, roomId } = await twoInARoom();
    const bot = clientOf(unique('Duplex Bot'));
    await bot.chat.joinRoom.mutate({ roomId });
    const question = await say(grace, roomId, '@bot how do limits compare?');
    const long = Array.from({ length: 60 }, (_, i) => `word${i}`).join(' ');
    const reply = [
      'Here is how they compare:\n\n',
      '| Limit | Default |\n|---|---|\n| sends per second | 5 |\n| text length | 4000 |\n\n',
      '```ts\nconst server = createDuplexServer({ router });\nserver.listen(3000);\n```\n\n',
      '- first point\n- second point\n\n',
      'Raw HTML stays text: <img src=x onerror="window.__pwned = 1"> and <script>window.__pwned = 2</script>\n\n',
      '[a bad link](javascript:window.__pwned=3) and [a good one](https://example.com/docs)\n\n',
      `${long} THE END.`,
    ];
    const stream = await bot.chat.startStream.mutate({
      roomId,
      clientMsgId: 'reply-1',
      replyTo: question.id,
    });
    const user = await openPage(browser(), chat.url, ada);
    const streamed = user.page.locator('.messages .text.streamed');
    for (const [seq, text] of reply.entries()) {
      await bot.chat.appendStream.mutate({ messageId: stream.id, seq, text });
      // Markdown from the first chunks on: the table shows while the reply still streams.
      if (seq === 1) await expect.poll(() => streamed.locator('table').count(), waitOpts).toBe(1);
    }
    await bot.chat.finishStream.mutate({ messageId: stream.id });
    await expect.poll(() => streamed.getAttribute('data-stream'), waitOpts).toBe('done');
    await reviewShot(user.page, 'markdown-desktop');

    await expect(streamed.locator('th').allTextContents()).resolves.toEqual(['Limit', 'Default']);
    await expect(streamed.locator('tbody tr').count()).resolves.toBe(2);
    await expect(streamed.locator('pre code').textContent()).resolves.toBe(
      'const server = createDuplexServer({ router });\nserver.listen(3000);\n',
    );
    await expect(streamed.locator('li').allTextContents()).resolves.toEqual([
      'first point',
      'second point',
    ]);
    // Nothing runs, nothing loads: the HTML is shown as text, the javascript: link is dead.
    await expect(streamed.locator('img, script, [onerror]').count()).resolves.toBe(0);
    await expect(streamed.textContent()).resolves.toContain(
      '<img src=x onerror="window.__pwned = 1">',
    );
    await expect(
      streamed.locator('a').evaluateAll((links) => links.map((a) => a.getAttribute('href'))),
    ).resolves.toEqual([null, 'https://example.com/docs']);
    await expect(streamed.locator('a').last().getAttribute('rel')).resolves.toContain('noopener');
    await user.page.locator('.messages').evaluate((list) => {
      list.scrollTop = 0;
    });
    await streamed.getByText('a bad link').click();
    await expect(user.page.evaluate(() => (window as { __pwned?: number }).__pwned)).resolves.toBe(
      undefined,
    );
    // Nothing cut: the whole reply is there and the bubble shows it all.
    await expect(streamed.textContent()).resolves.toContain(`${long} THE END.`);
    const clipped = await streamed.evaluate((el) => el.scrollHeight > el.clientHeight + 1);
    expect(clipped).toBe(false);
    expect(user.errors).toEqual([]);
  });

  it('invites by name, saying who was invited and when nobody has that name', async () => {
    const ada = unique('Ada');
    const grace = unique('Grace');
    const graceClient = clientOf(grace);
    await roomOf(graceClient, unique('Somewhere')); // the chat has seen Grace
    const user = await openPage(browser(), chat.url, ada);
    const { page } = user;
    const secret = unique('Secret');
    await page.getByRole('textbox', { name: 'New room name' }).fill(secret);
    await page.getByRole('checkbox', { name: 'Private' }).check();
    await page.getByRole('button', { name: 'Create' }).click();
    await expect.poll(() => activeRoomOf(user), waitOpts).toBe(secret);
    await expect(page.getByRole('checkbox', { name: 'Private' }).isChecked()).resolves.toBe(false);

    await page.getByRole('button', { name: 'Invite' }).click();
    const field = page.getByRole('textbox', { name: `Invite to ${secret}` });
    await expectOnScreen(page, field);
    // As typed, display name and all: the server resolves it as sign-in does.
    await field.fill(grace);
    await field.press('Enter');
    const result = page.locator('.invite-result');
    await expect.poll(() => result.textContent(), waitOpts).toBe(`Invited ${grace}`);
    await reviewShot(page, 'invite-desktop');
    await field.fill('Nobody By This Name');
    await field.press('Enter');
    await expect.poll(() => result.getAttribute('class'), waitOpts).toBe('invite-result error');
    expect(await result.textContent()).not.toBe('');
    await page.keyboard.press('Escape');
    await expect.poll(() => field.count(), waitOpts).toBe(0);
    expect(user.errors).toEqual([]);
  });

  for (const { label, shot, opts } of sizes) {
    it(`finds no serious or critical accessibility violations (axe-core) on the main screens (${label})`, async () => {
      const { ada, adaClient, grace, roomId } = await twoInARoom();
      await say(grace, roomId, 'Morning! Ready for the release?');
      await say(adaClient, roomId, 'Yes, tagging it now.');
      const bot = clientOf(unique('Duplex Bot'));
      await bot.chat.joinRoom.mutate({ roomId });
      const reply = await bot.chat.startStream.mutate({ roomId, clientMsgId: 'axe-reply' });
      await bot.chat.appendStream.mutate({
        messageId: reply.id,
        seq: 0,
        text: '| a | b |\n|---|---|\n| 1 | 2 |\n\n```sh\nnpm start\n```',
      });
      await bot.chat.finishStream.mutate({ messageId: reply.id });
      await chat.app.notifier.notify({
        to: idOf(ada),
        category: 'deploy',
        title: 'Deploy finished',
      });

      const found: Record<string, AxeViolation[]> = {};
      const check = async (screen: string, page: Page) => {
        found[screen] = await axeViolations(page);
        await reviewShot(page, `axe-${screen}-${shot}`);
      };
      const signIn = await openPage(browser(), chat.url, ada, false, opts);
      await signIn.page.locator('.signin-card input').waitFor();
      await check('sign-in', signIn.page);

      const user = await openPage(browser(), chat.url, ada, true, opts);
      const { page } = user;
      await expect.poll(() => textsOf(user), waitOpts).toHaveLength(3);
      await expect.poll(() => page.locator('.message.bot table').count(), waitOpts).toBe(1);
      await check('room', page);
      if (opts.viewport === phone) {
        await page.locator('.menu-button').click();
        await expect.poll(() => drawerState(page), waitOpts).toBe('open');
        await check('drawer', page);
      }
      await page.locator('button.bell').click();
      await page.locator('.notif-panel .notif').first().waitFor();
      await check('notifications', page);
      await page.getByRole('button', { name: 'Preferences' }).click();
      await page.locator('.prefs').waitFor();
      await check('preferences', page);
      console.log(
        `axe-core at ${label}, serious and critical violations: ${JSON.stringify(found)}`,
      );
      expect(found).toEqual(Object.fromEntries(Object.keys(found).map((screen) => [screen, []])));
    });
  }
});

async function expectOnScreen(page: Page, locator: Locator) {
  await expect.poll(() => onScreen(page, locator), waitOpts).toBe('on screen');
}

const newest = ({ page }: ChatPage) => page.locator('.messages .message').last();
const lastTextOf = async (user: ChatPage) => (await textsOf(user)).at(-1) ?? null;

/** Header, composer and the newest message are on screen, and the page itself never scrolls. */
async function expectShellOnScreen(user: ChatPage) {
  const { page } = user;
  await expectOnScreen(page, page.locator('.room-header'));
  await expectOnScreen(page, page.locator('.compose-text'));
  await expectOnScreen(page, page.locator('form.composer button.send'));
  await expectOnScreen(page, newest(user).locator('.bubble'));
  await expect(
    page.evaluate(() => ({
      scrollY: window.scrollY,
      fits: document.documentElement.scrollHeight <= window.innerHeight,
    })),
  ).resolves.toEqual({ scrollY: 0, fits: true });
}

/** Drops the page's socket with the network off: the app waits for the network. */
async function goOffline(user: ChatPage) {
  await user.context.setOffline(true);
  await user.sockets.at(-1)!.close({ code: 1001, reason: 'Network lost' });
  await expect
    .poll(() => user.page.locator('.conn').getAttribute('data-state'), waitOpts)
    .toBe('offline');
}

async function goOnline(user: ChatPage) {
  await user.context.setOffline(false);
  await waitOpen(user);
}

/** Writes a screenshot for review when DUPLEX_REVIEW_SCREENSHOTS names a directory. */
export async function reviewShot(page: Page, name: string) {
  const dir = process.env.DUPLEX_REVIEW_SCREENSHOTS;
  if (!dir) return;
  mkdirSync(dir, { recursive: true });
  await page.screenshot({ path: join(dir, `${name}.png`), animations: 'disabled' });
}
