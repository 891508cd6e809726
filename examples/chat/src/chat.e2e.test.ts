import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDuplexClient } from '@duplex/client';
import { createMemoryBroker } from '@duplex/server';
import { chromiumAvailable, screenshotPath, useChromium } from '@duplex/tests/browser';
import type { Browser, WebSocketRoute } from 'playwright-core';
import { afterEach, describe, expect, it } from 'vitest';
import {
  act,
  activeRoomOf,
  buildWebApp,
  type ChatPage,
  cleanups,
  desktop,
  idsOf,
  joinFromDiscover,
  loadedImagesOf,
  messageOf,
  onlineOf,
  openPage,
  openRoom,
  phone,
  reconnectWaitOpts,
  recordStatus,
  renderChartPng,
  send,
  startChat,
  statusOf,
  textsOf,
  typeUntilSeen,
  waitOpen,
  waitOpts,
} from './e2eHelpers';
import type { AppRouter } from './server/router';

const hasChromium = chromiumAvailable("the chat's browser suite");

/** A valid 1x1 PNG. */
const tinyPng = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==',
  'base64',
);

/** The natural width of each image: 0 until it has loaded. */
const imgOf = (images: Element[]) => images.map((img) => (img as HTMLImageElement).naturalWidth);

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Ada and Grace, each in a context of their own, both in General with its stream running. */
async function adaAndGrace(browser: Browser, url: string) {
  const ada = await openPage(browser, url, 'Ada');
  const grace = await openPage(browser, url, 'Grace');
  await joinFromDiscover(ada, 'General');
  await joinFromDiscover(grace, 'General');
  await expect.poll(() => onlineOf(ada), waitOpts).toEqual(['Ada', 'Grace']);
  return { ada, grace };
}

describe.skipIf(!hasChromium)('chat in Chromium', () => {
  const browser = useChromium(buildWebApp);

  it('signs in, delivers text once each way, shows typing and an image', async () => {
    const { url } = await startChat();
    const ada = await openPage(browser(), url, 'Ada', false);
    const signIn = ada.page.locator('.signin-card');
    await expect(signIn.getByRole('button', { name: 'Join' }).isDisabled()).resolves.toBe(true);
    await signIn.locator('input').fill('Ada');
    await signIn.getByRole('button', { name: 'Join' }).click();
    await waitOpen(ada);
    await expect(ada.page.evaluate(() => localStorage.getItem('duplex-chat:name'))).resolves.toBe(
      'Ada',
    );
    const grace = await openPage(browser(), url, 'Grace');
    await joinFromDiscover(ada, 'General');
    await joinFromDiscover(grace, 'General');
    await expect.poll(() => onlineOf(ada), waitOpts).toEqual(['Ada', 'Grace']);

    const adaInput = ada.page.locator('textarea.compose-text');
    await adaInput.pressSequentially('Hi Grace');
    await expect
      .poll(() => grace.page.locator('.typing').textContent(), waitOpts)
      .toBe('Ada is typing…');
    await adaInput.press('Enter');
    await expect.poll(() => textsOf(grace), waitOpts).toEqual(['Hi Grace']);
    // The message ends the typing signal at once, not when it expires.
    await expect(grace.page.locator('.typing').textContent()).resolves.toBe('');

    const graceInput = grace.page.locator('textarea.compose-text');
    await graceInput.pressSequentially('Hi Ada');
    await expect
      .poll(() => ada.page.locator('.typing').textContent(), waitOpts)
      .toBe('Grace is typing…');
    await graceInput.press('Enter');
    // The reply comes behind the first message: once it is there, a repeat would be too.
    await expect.poll(() => textsOf(ada), waitOpts).toEqual(['Hi Grace', 'Hi Ada']);
    await expect.poll(() => textsOf(grace), waitOpts).toEqual(['Hi Grace', 'Hi Ada']);
    const authors = await grace.page.locator('.messages .message .meta strong').allTextContents();
    expect(authors).toEqual(['Ada', 'Grace']);

    await ada.page.locator('form.composer input[type=file]').setInputFiles({
      name: 'pixel.png',
      mimeType: 'image/png',
      buffer: tinyPng,
    });
    // A thumbnail of what is about to be sent, with a button that takes it back out.
    const thumbnails = ada.page.locator('form.composer .files img');
    await expect.poll(() => thumbnails.evaluateAll(imgOf), waitOpts).toEqual([1]);
    await ada.page.getByRole('button', { name: 'Remove pixel.png' }).click();
    await expect.poll(() => thumbnails.count(), waitOpts).toBe(0);
    await ada.page.locator('form.composer input[type=file]').setInputFiles({
      name: 'pixel.png',
      mimeType: 'image/png',
      buffer: tinyPng,
    });
    await expect.poll(() => thumbnails.evaluateAll(imgOf), waitOpts).toEqual([1]);
    await ada.page.locator('form.composer').getByRole('button', { name: 'Send' }).click();
    await expect.poll(() => loadedImagesOf(grace), waitOpts).toEqual([1]);
    await expect.poll(() => loadedImagesOf(ada), waitOpts).toEqual([1]);
    await expect.poll(() => textsOf(grace), waitOpts).toEqual(['Hi Grace', 'Hi Ada', '']);
    await expect(ada.page.locator('form.composer .files').count()).resolves.toBe(0);
    expect(new Set(await idsOf(grace)).size).toBe(3);
    expect([...ada.errors, ...grace.errors]).toEqual([]);
  });
  it('resumes after the server restarts on the same port, losing and repeating nothing', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'duplex-chat-e2e-'));
    cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
    // The broker outlives the server, as Redis would, so the resume log survives the restart.
    const broker = createMemoryBroker();
    cleanups.push(() => broker.close());
    const first = await startChat({ dataDir, broker });
    const { ada, grace } = await adaAndGrace(browser(), first.url);
    await send(ada, 'before 1');
    await expect.poll(() => textsOf(grace), waitOpts).toEqual(['before 1']);
    await send(grace, 'before 2');
    for (const user of [ada, grace]) {
      await expect.poll(() => textsOf(user), waitOpts).toEqual(['before 1', 'before 2']);
      await recordStatus(user);
    }

    // PGlite allows one process per directory: the first app closes its database first.
    await first.close();
    for (const user of [ada, grace]) {
      await expect
        .poll(() => user.page.locator('.banner').getAttribute('data-status'), waitOpts)
        .toBe('reconnecting');
    }
    // Sent while no server runs: the send waits for the connection and goes out once.
    await grace.page.locator('textarea.compose-text').fill('during');
    await grace.page.locator('textarea.compose-text').press('Enter');
    const second = await startChat({ dataDir, broker, port: first.port });
    expect(second.url).toBe(first.url);

    for (const user of [ada, grace]) {
      await expect
        .poll(async () => (await statusOf(user)).states, reconnectWaitOpts)
        .toEqual(['open', 'reconnecting', 'open']);
      await expect.poll(() => textsOf(user), waitOpts).toEqual(['before 1', 'before 2', 'during']);
    }
    await expect.poll(() => onlineOf(ada), waitOpts).toEqual(['Ada', 'Grace']);
    await send(ada, 'after 1');
    await expect.poll(() => textsOf(grace), waitOpts).toContain('after 1');
    await send(grace, 'after 2');
    const expected = ['before 1', 'before 2', 'during', 'after 1', 'after 2'];
    for (const user of [ada, grace]) {
      await expect.poll(() => textsOf(user), waitOpts).toEqual(expected);
      expect(new Set(await idsOf(user)).size).toBe(expected.length);
      // Whether 'Back online' has gone yet is the next test's business.
      const { banners } = await statusOf(user);
      expect(banners.filter((banner) => banner !== null)).toEqual(['reconnecting', 'back-online']);
    }
    // The data survived too: a page loaded now reads the same history from the new server.
    const late = await openPage(browser(), second.url, 'Ada');
    await expect.poll(() => activeRoomOf(late), waitOpts).toBe('General');
    await expect.poll(() => textsOf(late), waitOpts).toEqual(expected);
    expect([...ada.errors, ...grace.errors, ...late.errors]).toEqual([]);
  });

  it('hides the Back online banner a moment after the connection returns', async () => {
    const { url } = await startChat();
    const ada = await openPage(browser(), url, 'Ada');
    const sockets: WebSocketRoute[] = [];
    await ada.page.routeWebSocket(/\/trpc/, (socket) => {
      socket.connectToServer();
      sockets.push(socket);
    });
    // Routing applies to sockets opened from now on.
    await ada.page.reload();
    await waitOpen(ada);
    await recordStatus(ada);
    // Dropped between the page and the server, as by a network blip or a proxy restart.
    await sockets[0]!.close({ code: 1012, reason: 'Server restarting' });
    await expect
      .poll(async () => (await statusOf(ada)).states, waitOpts)
      .toEqual(['open', 'reconnecting', 'open']);
    await expect
      .poll(
        async () => {
          const { banners } = await statusOf(ada);
          return { shown: banners.filter((banner) => banner !== null), now: banners.at(-1) };
        },
        { timeout: 4_000, interval: 50 },
      )
      .toEqual({ shown: ['reconnecting', 'back-online'], now: null });
  });

  it('shows reactions, edits and deletes on the other page', async () => {
    const { url } = await startChat();
    const { ada, grace } = await adaAndGrace(browser(), url);
    await send(ada, 'Ship it on Friday?');
    await expect.poll(() => textsOf(grace), waitOpts).toEqual(['Ship it on Friday?']);

    await act(messageOf(grace, 'Ship it on Friday?'), 'React 👍');
    const adaReactions = messageOf(ada, 'Ship it on Friday?').locator('.reactions .reaction');
    await expect.poll(() => adaReactions.allTextContents(), waitOpts).toEqual(['👍 1']);
    await expect(adaReactions.getAttribute('class')).resolves.toBe('reaction');
    const graceReaction = messageOf(grace, 'Ship it on Friday?').locator('.reaction');
    await expect.poll(() => graceReaction.getAttribute('class'), waitOpts).toBe('reaction mine');
    // Grace can react to Ada's message, but neither edit nor delete it.
    const graceActions = await messageOf(grace, 'Ship it on Friday?')
      .locator('.actions button')
      .evaluateAll((buttons) => buttons.map((b) => b.getAttribute('title')));
    expect(graceActions).toEqual(['React 👍', 'React ❤️', 'React 😂', 'React 🎉']);

    await act(messageOf(ada, 'Ship it on Friday?'), 'Edit');
    const edit = ada.page.locator('.messages input.edit');
    await edit.fill('Ship it on Thursday?');
    await edit.press('Enter');
    await expect.poll(() => textsOf(grace), waitOpts).toEqual(['Ship it on Thursday?']);
    const graceMeta = grace.page.locator('.messages .message .meta');
    await expect.poll(() => graceMeta.textContent(), waitOpts).toContain('(edited)');
    await expect(
      messageOf(grace, 'Ship it on Thursday?').locator('.reaction').allTextContents(),
    ).resolves.toEqual(['👍 1']);

    await act(messageOf(ada, 'Ship it on Thursday?'), 'Delete');
    await expect.poll(() => textsOf(grace), waitOpts).toEqual(['This message was deleted.']);
    await expect.poll(() => textsOf(ada), waitOpts).toEqual(['This message was deleted.']);
    // A deleted message keeps no reactions, no '(edited)' and offers no actions.
    await expect(grace.page.locator('.messages .reaction').count()).resolves.toBe(0);
    await expect(graceMeta.textContent()).resolves.not.toContain('(edited)');
    await expect(grace.page.locator('.messages .actions').count()).resolves.toBe(0);
    expect([...ada.errors, ...grace.errors]).toEqual([]);
  });

  it('counts unread messages in another room and shows who has seen a message', async () => {
    const { url } = await startChat();
    const grace = await openPage(browser(), url, 'Grace');
    await joinFromDiscover(grace, 'General');
    const newRoom = grace.page.locator('form.new-room');
    await newRoom.locator('input:not([type])').fill('Random');
    await newRoom.getByRole('button', { name: 'Create' }).click();
    await expect.poll(() => activeRoomOf(grace), waitOpts).toBe('Random');
    await expect.poll(() => onlineOf(grace), waitOpts).toEqual(['Grace']);

    // Opened after Random exists, so Discover lists it from the start.
    const ada = await openPage(browser(), url, 'Ada');
    await expect
      .poll(() => ada.page.locator('.discover').allTextContents(), waitOpts)
      .toEqual(['# RandomJoin', '# GeneralJoin']);
    await joinFromDiscover(ada, 'Random');
    await expect.poll(() => onlineOf(grace), waitOpts).toEqual(['Ada', 'Grace']);
    await joinFromDiscover(ada, 'General');

    const badge = grace.page.locator('.badge[data-room="General"]');
    await send(ada, 'Standup in 5 minutes');
    await expect.poll(() => badge.textContent(), waitOpts).toBe('1');
    await send(ada, 'Bring the release notes');
    await expect.poll(() => badge.textContent(), waitOpts).toBe('2');
    await expect(ada.page.locator('.badge').count()).resolves.toBe(0);
    await expect(activeRoomOf(grace)).resolves.toBe('Random');
    await expect(ada.page.locator('.messages .seen').count()).resolves.toBe(0);

    await grace.page.locator('.room', { hasText: '# General' }).click();
    await expect.poll(() => activeRoomOf(grace), waitOpts).toBe('General');
    await expect.poll(() => badge.count(), waitOpts).toBe(0);
    await expect
      .poll(() => textsOf(grace), waitOpts)
      .toEqual(['Standup in 5 minutes', 'Bring the release notes']);
    const seen = ada.page.locator('.messages .message .seen');
    await expect.poll(() => seen.allTextContents(), waitOpts).toEqual(['Seen by Grace']);
    await expect(
      messageOf(ada, 'Bring the release notes').locator('.seen').textContent(),
    ).resolves.toBe('Seen by Grace');

    // Grace's answer moves her read marker to her own message: nobody is told she saw it.
    await send(grace, 'On my way');
    await expect.poll(() => textsOf(ada), waitOpts).toContain('On my way');
    await expect.poll(() => seen.allTextContents(), waitOpts).toEqual([]);
    await expect
      .poll(() => grace.page.locator('.messages .message .seen').allTextContents(), waitOpts)
      .toEqual(['Seen by Ada']);
    expect([...ada.errors, ...grace.errors]).toEqual([]);
  });

  it('renders a conversation for the docs screenshots, on a laptop and on a phone', async () => {
    const { url } = await startChat();
    // A third user, on the typed client in Node, fills the sidebar: a room Ada is in, one not.
    const linus = createDuplexClient<AppRouter>({
      url: new URL('/trpc', url).href,
      token: 'Linus',
    });
    cleanups.push(() => linus.$close());
    // And a bot that answers in markdown, streamed as the assistant bot does.
    const bot = createDuplexClient<AppRouter>({
      url: new URL('/trpc', url).href,
      token: 'Duplex Bot',
    });
    cleanups.push(() => bot.$close());
    const releases = await linus.chat.createRoom.mutate({ name: 'releases', visibility: 'public' });
    await linus.chat.createRoom.mutate({ name: 'design', visibility: 'public' });
    await bot.chat.joinRoom.mutate({ roomId: 'general' });
    const ada = await openPage(browser(), url, 'Ada', true, { viewport: desktop });
    const grace = await openPage(browser(), url, 'Grace');
    await joinFromDiscover(ada, 'releases');
    await joinFromDiscover(ada, 'General');
    await joinFromDiscover(grace, 'General');
    await expect.poll(() => onlineOf(ada), waitOpts).toEqual(['Ada', 'Grace']);

    const texts: string[] = [];
    const say = async (user: ChatPage, text: string) => {
      await send(user, text);
      texts.push(text);
      await expect.poll(() => textsOf(ada), waitOpts).toEqual(texts);
    };
    await say(ada, 'Morning! The reconnect fix is on staging.');
    await say(grace, 'Nice. I restarted the server twice during the demo and nothing was lost.');
    await ada.page.locator('form.composer input[type=file]').setInputFiles({
      name: 'latency.png',
      mimeType: 'image/png',
      buffer: await renderChartPng(browser()),
    });
    await say(ada, 'p99 latency since the deploy:');
    await expect.poll(() => loadedImagesOf(grace), waitOpts).toEqual([360]);
    await act(messageOf(grace, 'p99 latency since the deploy:'), 'React 🎉');
    await act(messageOf(ada, texts[1]!), 'React 👍');
    await say(grace, '@bot what are the default send limits?');
    const question = (await bot.chat.history.query({ roomId: 'general' })).find(
      (m) => m.text === '@bot what are the default send limits?',
    )!;
    const reply = await bot.chat.startStream.mutate({
      roomId: 'general',
      clientMsgId: 'reply-limits',
      replyTo: question.id,
    });
    const answer = [
      'Per user, from `docs/chat.md`:\n\n',
      '| Limit | Default |\n|---|---|\n| Sends per second | 5 |\n| Burst | 10 |\n',
      '| Text length | 4,000 |\n\nRaise them with `createChatRouter({ limits })`.',
    ];
    for (const [seq, text] of answer.entries())
      await bot.chat.appendStream.mutate({ messageId: reply.id, seq, text });
    await bot.chat.finishStream.mutate({ messageId: reply.id });
    await expect
      .poll(() => ada.page.locator('.text.streamed').getAttribute('data-stream'), waitOpts)
      .toBe('done');
    await send(ada, 'Tagging the release now.');
    for (const [i, text] of ['v1.4.0 is tagged', 'Changelog draft is up for review'].entries()) {
      await linus.chat.send.mutate({ roomId: releases.id, clientMsgId: `release-${i}`, text });
    }

    await expect.poll(() => loadedImagesOf(ada), waitOpts).toEqual([360]);
    await expect
      .poll(() => ada.page.locator('.messages .reaction').allTextContents(), waitOpts)
      .toEqual(['👍 1', '🎉 1']);
    await expect
      .poll(() => messageOf(ada, 'Tagging the release now.').locator('.seen').textContent())
      .toBe('Seen by Grace');
    await expect
      .poll(() => ada.page.locator('.badge[data-room="releases"]').textContent(), waitOpts)
      .toBe('2');
    await typeUntilSeen(grace, ada, 'Great, I will update the docs');
    await ada.page.mouse.move(0, 0);
    await ada.page.locator('.compose-text').blur();

    const path = screenshotPath('chat.png');
    await ada.page.screenshot({ path, animations: 'disabled' });
    const png = readFileSync(path);
    expect(png.subarray(1, 4).toString('latin1')).toBe('PNG');
    expect([png.readUInt32BE(16), png.readUInt32BE(20)]).toEqual([desktop.width, desktop.height]);

    // The same conversation on Ada's phone.
    const mobile = await openPage(browser(), url, 'Ada', true, { viewport: phone, mobile: true });
    await openRoom(mobile, 'General');
    await expect.poll(() => loadedImagesOf(mobile), waitOpts).toEqual([360]);
    await expect
      .poll(() => mobile.page.locator('.messages .message').last().locator('.seen').count())
      .toBe(1);
    // Grace's typing signal has expired by now: she types on.
    await typeUntilSeen(grace, mobile, ' this afternoon');
    const mobilePath = screenshotPath('chat-mobile.png');
    await mobile.page.screenshot({ path: mobilePath, animations: 'disabled' });
    const mobilePng = readFileSync(mobilePath);
    expect([mobilePng.readUInt32BE(16), mobilePng.readUInt32BE(20)]).toEqual([
      phone.width,
      phone.height,
    ]);
    expect([...ada.errors, ...grace.errors, ...mobile.errors]).toEqual([]);
    // Three pages, a bot and two screenshots: longer than the other tests, on a loaded machine too.
  }, 90_000);
});
