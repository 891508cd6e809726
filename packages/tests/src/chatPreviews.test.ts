/**
 * Room previews in the rooms list follow edits, deletions and streamed replies live (issue 18):
 * Bob's page (Chromium, `@duplex/react/chat` as the web chat uses it) shows what Ann and a bot
 * do from their own clients, with no refetch of the list.
 */
import { idempotent } from '@duplex/client';
import { afterEach, describe, expect, it } from 'vitest';
import { chromiumAvailable, useChromium } from './browser';
import { startChatServer } from './chatFixtures';
import { buildReactApp } from './reactFixtures';

const hasChromium = chromiumAvailable('the chat previews browser suite');
const waitOpts = { timeout: 10_000, interval: 25 };
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

let appDir = '';
/** Bundles `fixtures/chatPreviewsApp.tsx` with its page. */
async function buildApp() {
  appDir = await buildReactApp('chatPreviewsApp.tsx');
}

describe.skipIf(!hasChromium)('room previews in Chromium', () => {
  const browser = useChromium(buildApp);

  it("follow another member's edit, delete and streamed reply live", async () => {
    const app = await startChatServer({ staticDir: appDir });
    cleanups.push(() => app[Symbol.asyncDispose]());
    const [ann, bot, bob] = [app.client('ann'), app.client('bot'), app.client('bob')];
    const lobby = await ann.chat.createRoom.mutate({ name: 'Lobby', visibility: 'public' });
    const other = await ann.chat.createRoom.mutate({ name: 'Other', visibility: 'public' });
    for (const c of [bot, bob]) await c.chat.joinRoom.mutate({ roomId: lobby.id });
    await bob.chat.joinRoom.mutate({ roomId: other.id });
    const say = (text: string, roomId = lobby.id) =>
      ann.chat.send.mutate({ roomId, clientMsgId: crypto.randomUUID(), text }, idempotent);
    await say('in the other room', other.id);

    const context = await browser().newContext();
    cleanups.push(() => context.close());
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    await page.goto(`${app.httpUrl}/?user=bob`);
    const preview = (name: string) => page.locator(`li[data-room="${name}"]`).textContent();
    await expect.poll(() => preview('Lobby'), waitOpts).toBe('(no messages)');
    // The room's stream is open once a message sent now shows up.
    const hello = await say('hello');
    await expect.poll(() => preview('Lobby'), waitOpts).toBe('Ann: hello');

    await ann.chat.edit.mutate({ messageId: hello.id, text: 'hello, edited' });
    await expect.poll(() => preview('Lobby'), waitOpts).toBe('Ann: hello, edited');
    await ann.chat.delete.mutate({ messageId: hello.id });
    await expect.poll(() => preview('Lobby'), waitOpts).toBe('Ann: (deleted)');

    const question = await say('@bot how does reconnection work?');
    const reply = await bot.chat.startStream.mutate(
      { roomId: lobby.id, clientMsgId: `reply:${question.id}`, replyTo: question.id },
      idempotent,
    );
    await expect.poll(() => preview('Lobby'), waitOpts).toBe('Bot: ');
    const chunks = ['Reconnection ', 'resumes every ', 'subscription.'];
    let shown = '';
    for (const [seq, text] of chunks.entries()) {
      await bot.chat.appendStream.mutate({ messageId: reply.id, seq, text }, idempotent);
      shown += text;
      // Each chunk shows as it arrives.
      await expect.poll(() => preview('Lobby'), waitOpts).toBe(`Bot: ${shown}`);
    }
    await bot.chat.finishStream.mutate({ messageId: reply.id });
    await expect
      .poll(() => page.locator('li[data-room="Lobby"]').getAttribute('data-stream'), waitOpts)
      .toBe('done');
    expect(await preview('Lobby')).toBe('Bot: Reconnection resumes every subscription.');
    // The other room's preview was never touched.
    expect(await preview('Other')).toBe('Ann: in the other room');
    // What the list shows is what the server answers when asked afresh.
    const fresh = (await bob.chat.rooms.query()).mine.find((s) => s.room.id === lobby.id)!;
    expect(fresh.lastMessage).toMatchObject({ id: reply.id, text: shown });
    expect(errors).toEqual([]);
  });
});
