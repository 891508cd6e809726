/** The globals the server's own timing runs on, as they were when this module loaded. */
const loaded = {
  setImmediate: globalThis.setImmediate,
  setTimeout: globalThis.setTimeout,
  clearTimeout: globalThis.clearTimeout,
  setInterval: globalThis.setInterval,
  clearInterval: globalThis.clearInterval,
  performance: globalThis.performance,
};

type Loaded = typeof loaded;

/** `@sinonjs/fake-timers` (behind `vi.useFakeTimers()` and jest's) marks what it installs. */
const isFake = (value: object) => 'clock' in value;

/** The real global: the one taken at load, or, if that was a fake, whatever is global now. */
function real<TName extends keyof Loaded>(name: TName): Loaded[TName] {
  const value = loaded[name];
  return isFake(value) ? (globalThis[name] as Loaded[TName]) : value;
}

/**
 * The timers the server's own machinery runs on: the write flush, refused and slow sockets,
 * keepalive, rate limits, shutdown. They are taken from the global scope when this module
 * loads, so fake timers a test suite installs later (`vi.useFakeTimers()`) replace the globals
 * but not these: a suite that fakes time for its own code cannot freeze the server, and a timer
 * the server set while time was faked is not dropped when the fakes are uninstalled. If the
 * module loaded while timers were faked, the globals are read again at each call, so the server
 * is back on real timers as soon as the suite is.
 */
export const realTimers = {
  /** `setImmediate`; with only a fake one to be had, a microtask, so the task never waits on it. */
  setImmediate(task: () => void): void {
    const setImmediate = real('setImmediate');
    if (isFake(setImmediate)) queueMicrotask(task);
    else setImmediate(task);
  },
  setTimeout(task: () => void, ms: number): NodeJS.Timeout {
    return real('setTimeout')(task, ms);
  },
  clearTimeout(timer: NodeJS.Timeout | undefined): void {
    real('clearTimeout')(timer);
  },
  setInterval(task: () => void, ms: number): NodeJS.Timeout {
    return real('setInterval')(task, ms);
  },
  clearInterval(timer: NodeJS.Timeout | undefined): void {
    real('clearInterval')(timer);
  },
  /** `performance.now()`. */
  now(): number {
    return real('performance').now();
  },
};
