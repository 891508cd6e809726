import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import * as ws from 'ws';
import {
  checkWsInternals,
  wireOf,
  wsInternalsCheck,
  wsInternalsFallbackReport,
} from './wsInternals';
import { openWsTestPair } from './wsTestPair';

const { Sender } = ws as unknown as { Sender: new (socket: unknown) => unknown };
const installed = (createRequire(import.meta.url)('ws/package.json') as { version: string })
  .version;

describe('checkWsInternals', () => {
  it('passes the installed ws', () => {
    expect(wsInternalsCheck).toEqual({ ok: true, version: installed });
  });

  it.each(['8.17.1', '8.22.2', '9.0.0', '7.5.10', 'not a version'])('refuses ws %s', (version) => {
    expect(checkWsInternals({ version, Sender })).toMatchObject({ ok: false, version });
  });

  it('accepts the tested range', () => {
    for (const version of ['8.23.0', '8.23.1', '8.99.1']) {
      expect(checkWsInternals({ version, Sender }).ok).toBe(true);
    }
  });

  it('refuses a Sender whose fields changed shape', () => {
    class Renamed {
      state = 0;
      queue = [];
    }
    class Throws {
      constructor() {
        throw new Error('needs a real socket');
      }
    }
    class Unframed {
      _state = 0;
      _queue = [];
    }
    expect(checkWsInternals({ version: installed, Sender: Renamed }).ok).toBe(false);
    expect(checkWsInternals({ version: installed, Sender: Unframed })).toMatchObject({
      ok: false,
      reason: expect.stringContaining('Sender.frame'),
    });
    expect(checkWsInternals({ version: installed, Sender: Throws }).ok).toBe(false);
  });

  it('is switched off by DUPLEX_WS_INTERNALS=off', () => {
    expect(checkWsInternals({ version: installed, Sender, setting: 'off' })).toMatchObject({
      ok: false,
      reason: 'DUPLEX_WS_INTERNALS=off',
    });
  });
});

describe('wireOf', () => {
  it("finds a connected socket's TCP stream and sees ws's own queue", async () => {
    await using pair = await openWsTestPair();
    const wire = wireOf(pair.server);
    expect(wire?.stream).toBe(pair.tcp);
    expect(wire?.idle()).toBe(true);
    // A Blob is read asynchronously: `ws` holds what follows it until then.
    pair.server.send(new Blob(['x']) as unknown as Buffer);
    expect(wire?.idle()).toBe(false);
  });

  it('gives no wire when the check failed', async () => {
    await using pair = await openWsTestPair();
    expect(wireOf(pair.server, { ok: false, version: installed, reason: 'test' })).toBeNull();
  });
});

describe('wsInternalsFallbackReport', () => {
  it('says nothing when the check passed', () => {
    expect(wsInternalsFallbackReport({ ok: true, version: installed })).toBeNull();
  });

  it('reports a failed check as background work, with the version and the reason', () => {
    const report = wsInternalsFallbackReport({ ok: false, version: '9.0.0', reason: 'untested' });
    expect(report).toMatchObject({ source: 'background', task: 'server.wsInternals' });
    expect(String(report?.error)).toMatch(/ws 9\.0\.0: the fast path is off \(untested\)/);
  });
});
