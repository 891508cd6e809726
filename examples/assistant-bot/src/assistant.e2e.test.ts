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
/** The words of a text, Markdown syntax and punctuation aside: what a rendered reply reads. */
const wordsOf = (text: string) => text.split(/[^\p{L}\p{N}]+/u).filter(Boolean);

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

    // Sample the reply as the page shows it (rendered Markdown) until it is done. Chunks end
    // at whitespace, so the words shown only ever grow.
    const seen: { words: number; state: string | null; caret: boolean }[] = [];
    await expect
      .poll(
        async () => {
          const [text, state, caret] = await Promise.all([
            // Not there while the reply is empty ("Thinking…"): read without waiting.
            reply.locator('.md').allInnerTexts(),
            reply.getAttribute('data-stream'),
            reply.locator('.caret').count(),
          ]);
          seen.push({ words: wordsOf(text.join(' ')).length, state, caret: caret > 0 });
          return state;
        },
        { timeout: 20_000, interval: 30 },
      )
      .toBe('done');
    const streaming = seen.filter((s) => s.state === 'streaming');
    const growing = [...new Set(streaming.map((s) => s.words))];
    expect(growing.length).toBeGreaterThanOrEqual(3);
    expect(growing).toEqual([...growing].sort((a, b) => a - b));
    expect(streaming.every((s) => s.caret)).toBe(true);
    // Whole: every word of the reply, in order, none cut (the reply used to stop mid-word).
    const shown = (await reply.locator('.md').allInnerTexts()).join(' ');
    expect(wordsOf(shown)).toEqual(wordsOf(expected));
    await expect(reply.locator('.caret').count()).resolves.toBe(0);

    await send(ada, '@bot explain the delivery contract in detail');
    const second = ada.page.locator('.text.streamed').nth(1);
    await second.waitFor(waitOpts);
    await ada.page.getByRole('button', { name: 'Stop', exact: true }).click();
    await expect.poll(() => second.getAttribute('data-stream'), waitOpts).toBe('cancelled');
    await expect(ada.page.locator('.stream-note').textContent()).resolves.toBe('Stopped');
    expect(ada.errors).toEqual([]);
  });
});
