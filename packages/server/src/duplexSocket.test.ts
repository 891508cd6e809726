import { describe, expect, it } from 'vitest';
import type { RawData } from 'ws';
import { DuplexSocket } from './duplexSocket';
import { nextTexts, openWsTestPair } from './wsTestPair';

describe('DuplexSocket', () => {
  it("leaves ws's emit alone", () => {
    expect(Object.hasOwn(DuplexSocket.prototype, 'emit')).toBe(false);
  });

  it('runs the gate once per frame before the listeners it holds, and delivers later', async () => {
    await using pair = await openWsTestPair(DuplexSocket);
    const socket = pair.server as DuplexSocket;
    const first: string[] = [];
    const second: string[] = [];
    const ungated: string[] = [];
    socket.on('message', (data: RawData) => first.push(String(data)));
    socket.on('message', (data: RawData) => second.push(String(data)));
    const held: [RawData, boolean][] = [];
    const seen: string[] = [];
    socket.gateMessages((data, isBinary) => {
      seen.push(String(data));
      if (String(data) !== 'hold') return String(data) !== 'drop';
      held.push([data, isBinary]);
      return false;
    });
    socket.on('message', (data: RawData) => ungated.push(String(data)));
    const all = nextTexts(socket, 4);
    for (const text of ['a', 'drop', 'hold', 'b']) pair.client.send(text);
    await all;
    expect(seen).toEqual(['a', 'drop', 'hold', 'b']);
    expect(first).toEqual(['a', 'b']);
    expect(second).toEqual(['a', 'b']);
    expect(ungated).toEqual(['a', 'drop', 'hold', 'b']);
    const [data, isBinary] = held[0]!;
    socket.deliver(data, isBinary);
    expect(first).toEqual(['a', 'b', 'hold']);
    expect(second).toEqual(['a', 'b', 'hold']);
    expect(seen).toHaveLength(4);
  });

  it('delivers nothing once the socket is closing', async () => {
    await using pair = await openWsTestPair(DuplexSocket);
    const socket = pair.server as DuplexSocket;
    const received: string[] = [];
    socket.on('message', (data: RawData) => received.push(String(data)));
    socket.gateMessages(() => false);
    socket.close(1000);
    socket.deliver(Buffer.from('late'), false);
    expect(received).toEqual([]);
  });
});
