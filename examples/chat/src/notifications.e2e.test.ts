import { readFileSync } from 'node:fs';
import { chromiumAvailable, screenshotPath, useChromium } from '@duplex/tests/browser';
import { afterEach, describe, expect, it } from 'vitest';
import {
  activeRoomOf,
  buildWebApp,
  type ChatPage,
  cleanups,
  joinFromDiscover,
  onlineOf,
  openPage,
  send,
  startChat,
  waitOpts,
} from './e2eHelpers';

const hasChromium = chromiumAvailable("the notification center's browser suite");

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** The bell's badge: '' when there is none. */
const badgeOf = async ({ page }: ChatPage) => {
  const badge = page.locator('.bell-badge');
  return (await badge.count()) === 0 ? '' : ((await badge.textContent()) ?? '');
};
const openPanel = async ({ page }: ChatPage) => {
  await page.locator('button.bell').click();
  await page.locator('.notif-panel').waitFor();
};
const titlesOf = ({ page }: ChatPage) =>
  page.locator('.notif-panel .notif-title').allTextContents();
const unreadTitlesOf = ({ page }: ChatPage) =>
  page.locator('.notif-panel .notif.unread .notif-title').allTextContents();

describe.skipIf(!hasChromium)('notification center in Chromium', () => {
  const browser = useChromium(buildWebApp);

  it('shows notifications live with the badge; reading in one tab clears the other', async () => {
    const { app, url } = await startChat();
    const tab1 = await openPage(browser(), url, 'Ada');
    const tab2 = await openPage(browser(), url, 'Ada');
    await app.notifier.notify({ to: 'ada', category: 'deploy', title: 'Deploy started' });
    await expect.poll(() => badgeOf(tab1), waitOpts).toBe('1');
    await expect.poll(() => badgeOf(tab2), waitOpts).toBe('1');
    await app.notifier.notify({
      to: 'ada',
      category: 'deploy',
      priority: 'high',
      title: 'Deploy finished',
      body: 'v2.3.0 is live',
    });
    await expect.poll(() => badgeOf(tab1), waitOpts).toBe('2');
    await expect.poll(() => badgeOf(tab2), waitOpts).toBe('2');

    await openPanel(tab1);
    await expect
      .poll(() => titlesOf(tab1), waitOpts)
      .toEqual(['Deploy finished', 'Deploy started']);
    await tab1.page
      .locator('.notif', { hasText: 'Deploy started' })
      .getByRole('button', { name: 'Mark as read' })
      .click();
    await expect.poll(() => badgeOf(tab2), waitOpts).toBe('1');
    await expect.poll(() => unreadTitlesOf(tab1), waitOpts).toEqual(['Deploy finished']);
    await openPanel(tab2);
    await expect.poll(() => unreadTitlesOf(tab2), waitOpts).toEqual(['Deploy finished']);
    await tab2.page.getByRole('button', { name: 'Mark all read' }).click();
    await expect.poll(() => badgeOf(tab1), waitOpts).toBe('');
    await expect.poll(() => unreadTitlesOf(tab1), waitOpts).toEqual([]);
    expect([...tab1.errors, ...tab2.errors]).toEqual([]);
  });

  it('shows what was sent while the page was closed when it comes back', async () => {
    const { app, url } = await startChat();
    const first = await openPage(browser(), url, 'Ada');
    await first.context.close();
    await app.notifier.notify({ to: 'ada', category: 'billing', title: 'Invoice ready' });
    await app.notifier.notify({ to: ['ada', 'grace'], category: 'ops', title: 'Maintenance' });
    const back = await openPage(browser(), url, 'Ada');
    await expect.poll(() => badgeOf(back), waitOpts).toBe('2');
    await openPanel(back);
    await expect
      .poll(() => unreadTitlesOf(back), waitOpts)
      .toEqual(['Maintenance', 'Invoice ready']);
    expect(back.errors).toEqual([]);
  });

  it('stores a muted category without pushing or counting it', async () => {
    const { app, url } = await startChat();
    const ada = await openPage(browser(), url, 'Ada');
    await openPanel(ada);
    await ada.page.getByRole('button', { name: 'Preferences' }).click();
    await ada.page.getByRole('checkbox', { name: 'Mentions' }).uncheck();
    await ada.page.getByRole('button', { name: 'Save' }).click();
    await ada.page.locator('.prefs .saved').waitFor();
    await ada.page.getByRole('button', { name: 'Close notifications' }).click();

    await app.notifier.notify({ to: 'ada', category: 'chat.mention', title: 'Muted mention' });
    await app.notifier.notify({ to: 'ada', category: 'chat.invite', title: 'Invitation' });
    // The invitation is pushed and counted; had the mention been, the badge would say 2.
    await expect.poll(() => badgeOf(ada), waitOpts).toBe('1');
    await openPanel(ada);
    await expect.poll(() => titlesOf(ada), waitOpts).toEqual(['Invitation', 'Muted mention']);
    await ada.page.reload();
    await expect.poll(() => badgeOf(ada), waitOpts).toBe('1');
    expect(ada.errors).toEqual([]);
  });

  it('notifies a user mentioned in chat and takes them to the room', async () => {
    const { url } = await startChat();
    const ada = await openPage(browser(), url, 'Ada');
    const grace = await openPage(browser(), url, 'Grace');
    await joinFromDiscover(ada, 'General');
    await joinFromDiscover(grace, 'General');
    await expect.poll(() => onlineOf(ada), waitOpts).toEqual(['Ada', 'Grace']);
    // Ada looks at another room, so the mention is how she learns of it.
    const newRoom = ada.page.locator('form.new-room');
    await newRoom.locator('input:not([type])').fill('Side');
    await newRoom.getByRole('button', { name: 'Create' }).click();
    await expect.poll(() => activeRoomOf(ada), waitOpts).toBe('Side');

    await send(grace, '@Ada can you review the release notes?');
    await expect.poll(() => badgeOf(ada), waitOpts).toBe('1');
    expect(await badgeOf(grace)).toBe('');
    await openPanel(ada);
    await expect.poll(() => titlesOf(ada), waitOpts).toEqual(['Grace mentioned you in General']);
    const path = screenshotPath('notifications.png');
    await ada.page.screenshot({ path, animations: 'disabled' });
    expect(readFileSync(path).subarray(1, 4).toString('latin1')).toBe('PNG');
    await ada.page.locator('.notif-body', { hasText: 'Grace mentioned you' }).click();
    await expect.poll(() => activeRoomOf(ada), waitOpts).toBe('General');
    await expect.poll(() => badgeOf(ada), waitOpts).toBe('');
    expect([...ada.errors, ...grace.errors]).toEqual([]);
  });
});
