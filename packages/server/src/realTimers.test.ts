import { afterEach, describe, expect, it, vi } from 'vitest';
import { realTimers } from './realTimers';

afterEach(() => {
  vi.useRealTimers();
});

describe('realTimers', () => {
  it('runs on the real timers while a test has faked them', async () => {
    vi.useFakeTimers();
    const immediate = new Promise<string>((resolve) =>
      realTimers.setImmediate(() => resolve('ran')),
    );
    const timeout = new Promise<string>((resolve) =>
      realTimers.setTimeout(() => resolve('ran'), 5),
    );
    const startedAt = realTimers.now();
    expect(await immediate).toBe('ran');
    expect(await timeout).toBe('ran');
    expect(realTimers.now()).toBeGreaterThan(startedAt);
    // The fake clock has seen none of it.
    expect(vi.getTimerCount()).toBe(0);
  });

  it('never leaves a task on a fake clock when it was loaded while timers were faked', async () => {
    vi.useFakeTimers();
    vi.resetModules();
    const loadedFaked = (await import('./realTimers')).realTimers;
    expect(
      await new Promise<string>((resolve) => loadedFaked.setImmediate(() => resolve('ran'))),
    ).toBe('ran');
    vi.useRealTimers();
    const later = new Promise<string>((resolve) => loadedFaked.setTimeout(() => resolve('ran'), 5));
    expect(await later).toBe('ran');
  });
});
