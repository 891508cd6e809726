import { fileURLToPath } from 'node:url';
import {
  buildWebApp,
  cleanups,
  joinFromDiscover,
  openPage,
  send,
  startChat,
  waitOpts,
} from '@duplex/example-chat/e2e';
import { chromiumAvailable, useChromium } from '@duplex/tests/browser';
import { afterEach, describe, expect, it } from 'vitest';
import { startAssistantBot } from './bot';
import { createDocsBrain } from './brain';

const hasChromium = chromiumAvailable("the assistant's browser suite");
const docsDir = fileURLToPath(new URL('../../../docs', import.meta.url));

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe.skipIf(!hasChromium)('streamed replies in Chromium', () => {
  const browser = useChromium(buildWebApp);

  it('shows a reply growing chunk by chunk, then whole; the asker can stop one', async () => {
    const { url } = await startChat();
    const brain = createDocsBrain({ docsDir, chunkDelayMs: 60 });
    const bot = await startAssistantBot({ url: new URL('/trpc', url).href, brain });
    cleanups.push(() => bot.close());
    const ada = await openPage(browser(), url, 'Ada');
    await joinFromDiscover(ada, 'General');

    let expected = '';
    for await (const chunk of createDocsBrain({ docsDir, chunkDelayMs: 0 })(
      'how does reconnection work?',
      new AbortController().signal,
    ))
      expected += chunk;
    await send(ada, '@bot how does reconnection work?');
    const reply = ada.page.locator('.text.streamed').first();
    await reply.waitFor(waitOpts);

    // Sample the reply as the page shows it until it is done.
    const seen: { length: number; state: string | null; caret: boolean }[] = [];
    await expect
      .poll(
        async () => {
          const [text, state, caret] = await Promise.all([
            reply.evaluate((el) => el.firstChild?.textContent ?? ''),
            reply.getAttribute('data-stream'),
            reply.locator('.caret').count(),
          ]);
          seen.push({ length: state === 'done' ? -1 : text.length, state, caret: caret > 0 });
          return state;
        },
        { timeout: 20_000, interval: 30 },
      )
      .toBe('done');
    const growing = [...new Set(seen.filter((s) => s.state === 'streaming').map((s) => s.length))];
    expect(growing.length).toBeGreaterThanOrEqual(3);
    expect(growing).toEqual([...growing].sort((a, b) => a - b));
    expect(seen.filter((s) => s.state === 'streaming').every((s) => s.caret)).toBe(true);
    await expect(reply.textContent()).resolves.toBe(expected);
    await expect(reply.locator('.caret').count()).resolves.toBe(0);

    await send(ada, '@bot explain the delivery contract in detail');
    const second = ada.page.locator('.text.streamed').nth(1);
    await second.waitFor(waitOpts);
    await ada.page.getByRole('button', { name: '■ Stop' }).click();
    await expect.poll(() => second.getAttribute('data-stream'), waitOpts).toBe('cancelled');
    await expect(ada.page.locator('.stream-note').textContent()).resolves.toBe('Stopped');
    expect(ada.errors).toEqual([]);
  });
});
