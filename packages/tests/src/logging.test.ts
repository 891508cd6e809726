import type { DuplexLogger } from '@duplex/server';
import { TRPCError } from '@trpc/server';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { startTestServer, testClient } from './fixtures';

afterEach(() => {
  vi.restoreAllMocks();
});

describe('server logger', () => {
  it("sends the default onError's reports to the app's logger at error, without ctx or input", async () => {
    const errors: { obj: Record<string, unknown>; msg: string | undefined }[] = [];
    const logger: DuplexLogger = {
      error: (obj, msg) => errors.push({ obj: obj as Record<string, unknown>, msg }),
      warn: () => {},
      info: () => {},
      debug: () => {},
    };
    await using server = await startTestServer({ logger, onError: undefined });
    await using client = testClient(server.wsUrl);
    await expect(client.boom.mutate()).rejects.toThrow('Internal server error');
    await vi.waitFor(() => expect(errors).toHaveLength(1));
    expect(errors[0]).toEqual({
      obj: {
        err: expect.any(TRPCError),
        source: 'call',
        transport: 'websocket',
        path: 'boom',
        type: 'mutation',
        task: undefined,
      },
      msg: 'call boom',
    });
    expect(((errors[0] as (typeof errors)[number]).obj.err as TRPCError).cause?.message).toContain(
      'hunter2',
    );
  });

  it('prints with the default logger what logErrorReport printed, and nothing at info', async () => {
    const printed = vi.spyOn(console, 'error').mockImplementation(() => {});
    const info = vi.spyOn(console, 'info').mockImplementation(() => {});
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    await using server = await startTestServer({ onError: undefined });
    await using client = testClient(server.wsUrl);
    await expect(client.boom.mutate()).rejects.toThrow('Internal server error');
    await vi.waitFor(() => expect(printed).toHaveBeenCalledTimes(1));
    expect(printed).toHaveBeenCalledWith('[duplex] call boom:', expect.any(TRPCError));
    expect(info).not.toHaveBeenCalled();
    expect(log).not.toHaveBeenCalled();
  });

  it('prints an operator disconnect with the default logger as one warning line', async () => {
    const warned = vi.spyOn(console, 'warn').mockImplementation(() => {});
    await using server = await startTestServer();
    await using client = testClient(server.wsUrl);
    await client.whoami.query();
    expect(server.server.inspector.disconnectUser('alice', { by: 'root' })).toBe(1);
    expect(warned).toHaveBeenCalledTimes(1);
    expect(warned.mock.calls[0]).toEqual([
      expect.stringMatching(
        /^\[duplex\] root disconnected websocket connection \S+ \(user alice\)$/,
      ),
    ]);
  });
});
