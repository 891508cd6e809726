import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it, onTestFinished } from 'vitest';
import { createMemoryBroker } from './memoryBroker';
import { streamChannel } from './streamChannel';

const gc = (() => {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
})();

describe('streamChannel', () => {
  it('keeps no event alive once its consumer has it and waits for the next', async () => {
    const broker = createMemoryBroker();
    onTestFinished(() => broker.close());
    const stream = streamChannel<{ n: number }>(broker, 'c', { cursor: true });
    await stream.next();
    // In a function of its own, so that this test's frame holds none of it either.
    const sent = await (async () => {
      const data = { n: 1 };
      const received = stream.next();
      // Ephemeral: the broker keeps no log of it, so only the stream could hold it.
      await broker.publish('c', data, { ephemeral: true });
      await received;
      return new WeakRef(data);
    })();
    const waiting = stream.next();
    await new Promise((resolve) => setTimeout(resolve, 0));
    gc();
    expect(sent.deref()).toBeUndefined();
    await broker.publish('c', { n: 2 }, { ephemeral: true });
    expect((await waiting).value?.[1]).toEqual({ n: 2 });
    await stream.return();
  });
});
