import { afterEach, describe, expect, it, vi } from 'vitest';
import { createBrowserOnlineManager, createManualOnlineManager } from './onlineManager';

/** A window stand-in that counts its `online`/`offline` listeners. */
function fakeWindow() {
  const target = new EventTarget();
  const listening = new Set<EventListenerOrEventListenerObject>();
  return {
    listening,
    dispatchEvent: (event: Event) => target.dispatchEvent(event),
    addEventListener(type: string, listener: EventListenerOrEventListenerObject) {
      listening.add(listener);
      target.addEventListener(type, listener);
    },
    removeEventListener(type: string, listener: EventListenerOrEventListenerObject) {
      listening.delete(listener);
      target.removeEventListener(type, listener);
    },
  };
}

describe('createBrowserOnlineManager', () => {
  afterEach(() => {
    vi.unstubAllGlobals();
  });

  it('listens to the window only while something subscribed', () => {
    const win = fakeWindow();
    vi.stubGlobal('window', win);
    vi.stubGlobal('navigator', { onLine: true });
    const manager = createBrowserOnlineManager();
    expect(win.listening.size).toBe(0);
    const seen: boolean[] = [];
    const stopA = manager.subscribe((online) => seen.push(online));
    const stopB = manager.subscribe(() => undefined);
    expect(win.listening.size).toBe(2);
    win.dispatchEvent(new Event('offline'));
    win.dispatchEvent(new Event('online'));
    expect(seen).toEqual([false, true]);
    stopA();
    expect(win.listening.size).toBe(2);
    stopB();
    expect(win.listening.size).toBe(0);
    win.dispatchEvent(new Event('offline'));
    expect(seen).toEqual([false, true]);
  });

  it('reads navigator.onLine again when the first listener subscribes', () => {
    const win = fakeWindow();
    const nav = { onLine: true };
    vi.stubGlobal('window', win);
    vi.stubGlobal('navigator', nav);
    const manager = createBrowserOnlineManager();
    nav.onLine = false;
    const stop = manager.subscribe(() => undefined);
    expect(manager.isOnline()).toBe(false);
    stop();
  });

  it('is always online without a window', () => {
    expect(typeof window).toBe('undefined');
    const manager = createBrowserOnlineManager();
    expect(manager.isOnline()).toBe(true);
    manager.subscribe(() => undefined)();
  });
});

describe('createManualOnlineManager', () => {
  it('notifies changes only, once per subscription', () => {
    const manager = createManualOnlineManager(true);
    const seen: boolean[] = [];
    const stop = manager.subscribe((online) => seen.push(online));
    manager.setOnline(true);
    manager.setOnline(false);
    manager.setOnline(false);
    manager.setOnline(true);
    stop();
    manager.setOnline(false);
    expect(seen).toEqual([false, true]);
  });
});
