import { closeCodes } from '@duplex/protocol';
import { describe, expect, it, vi } from 'vitest';
import { WireFrame } from './frameEncoder';
import { createMetrics } from './metrics';
import { SocketSender } from './socketSender';
import { type WsInternalsCheck, wsInternalsCheck } from './wsInternals';
import { nextTexts, openWsTestPair } from './wsTestPair';

const fallback: WsInternalsCheck = { ok: false, version: 'test', reason: 'forced by the test' };
const paths = [
  ['the fast path', wsInternalsCheck],
  ['the public-API fallback', fallback],
] as const;

const frames = () => [
  'a',
  new WireFrame(Buffer.from('b'.repeat(126))),
  'c'.repeat(65_536),
  new WireFrame(Buffer.from('d')),
];
const texts = (list: ReturnType<typeof frames>) =>
  list.map((f) => (typeof f === 'string' ? f : f.payload.toString()));

describe('SocketSender', () => {
  it('runs on the fast path with the installed ws', () => {
    expect(wsInternalsCheck).toMatchObject({ ok: true });
  });

  it('sends the frames of one event-loop turn in one write', async () => {
    await using pair = await openWsTestPair();
    const sender = new SocketSender(pair.server, {
      maxBufferedBytes: 1 << 20,
      metrics: createMetrics(),
      closeGraceMs: 100,
    });
    const write = vi.spyOn(pair.tcp, '_write');
    const writev = vi.spyOn(pair.tcp, '_writev');
    const received = nextTexts(pair.client, 3);
    const sent = ['a', new WireFrame(Buffer.from('b')), 'c'] as const;
    for (const frame of sent) sender.send(frame);
    // Held until the turn ends, then one `writev` for all of them.
    expect(write.mock.calls.length + writev.mock.calls.length).toBe(0);
    expect(await received).toEqual(['a', 'b', 'c']);
    expect(write).not.toHaveBeenCalled();
    expect(writev).toHaveBeenCalledTimes(1);
  });

  it('lets corked frames out before the turn ends once they pass 64 KiB', async () => {
    await using pair = await openWsTestPair();
    const sender = new SocketSender(pair.server, {
      maxBufferedBytes: 1 << 20,
      metrics: createMetrics(),
      closeGraceMs: 100,
    });
    const writev = vi.spyOn(pair.tcp, '_writev');
    const received = nextTexts(pair.client, 2);
    sender.send('small');
    expect(writev).not.toHaveBeenCalled();
    sender.send(new WireFrame(Buffer.alloc(64 * 1024, 'x')));
    expect(writev).toHaveBeenCalledTimes(1);
    expect((await received).map((t) => t.length)).toEqual([5, 64 * 1024]);
  });

  describe.each(paths)('on %s', (_, check) => {
    it('delivers strings and prebuilt frames in order, counting them', async () => {
      await using pair = await openWsTestPair();
      const metrics = createMetrics();
      const sender = new SocketSender(pair.server, {
        maxBufferedBytes: 1 << 20,
        metrics,
        closeGraceMs: 100,
        wsInternals: check,
      });
      const sent = frames();
      const received = nextTexts(pair.client, sent.length * 2);
      for (const frame of sent) sender.send(frame);
      await new Promise((resolve) => setImmediate(resolve));
      for (const frame of sent) sender.send(frame);
      expect(await received).toEqual([...texts(sent), ...texts(sent)]);
      expect(metrics.framesOut).toBe(sent.length * 2);
      expect(metrics.bytesOut).toBe(2 * texts(sent).reduce((n, t) => n + t.length, 0));
    });

    it('closes a slow consumer with 4507 and sends nothing more', async () => {
      await using pair = await openWsTestPair();
      const metrics = createMetrics();
      const maxBufferedBytes = 256 * 1024;
      const sender = new SocketSender(pair.server, {
        maxBufferedBytes,
        metrics,
        closeGraceMs: 60_000,
        wsInternals: check,
      });
      pair.client.pause();
      const frame = new WireFrame(Buffer.alloc(16 * 1024, 'x'));
      for (let i = 0; i < 4_000 && metrics.closedSlowConsumer === 0; i++) {
        sender.send(frame);
        if (i % 16 === 0) await new Promise((resolve) => setImmediate(resolve));
      }
      expect(metrics.closedSlowConsumer).toBe(1);
      // Never more than the limit plus the frame that crossed it (and the close frame).
      expect(pair.server.bufferedAmount).toBeLessThanOrEqual(maxBufferedBytes + 16 * 1024 + 64);
      const framesOut = metrics.framesOut;
      sender.send(frame);
      expect(metrics.framesOut).toBe(framesOut);
      const closed = new Promise((resolve) => pair.client.once('close', resolve));
      pair.client.resume();
      expect(await closed).toBe(closeCodes.slowConsumer);
    });
  });
});
