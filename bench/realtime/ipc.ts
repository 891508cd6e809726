import type { ChildProcess } from 'node:child_process';

/** Commands one process answers for another over the Node IPC channel. */
export type IpcHandlers = Record<string, (args: never) => unknown>;

interface Request {
  id: number;
  cmd: string;
  args: unknown;
}

interface Response {
  id: number;
  result?: unknown;
  error?: string;
}

/** Answers requests from the parent process with `handlers` (run in a forked child). */
export function serveIpc(handlers: IpcHandlers): void {
  process.on('message', async (message: Request) => {
    const handler = handlers[message.cmd] as ((args: unknown) => unknown) | undefined;
    try {
      if (!handler) throw new Error(`unknown command ${message.cmd}`);
      const result = await handler(message.args);
      process.send?.({ id: message.id, result } satisfies Response);
    } catch (cause) {
      const error = cause instanceof Error ? (cause.stack ?? cause.message) : String(cause);
      process.send?.({ id: message.id, error } satisfies Response);
    }
  });
  process.send?.({ id: 0, result: 'ready' } satisfies Response);
}

/** Typed requests to a forked child that runs {@link serveIpc}. */
export interface IpcClient<THandlers extends IpcHandlers> {
  readonly ready: Promise<void>;
  call<K extends keyof THandlers & string>(
    cmd: K,
    ...args: Parameters<THandlers[K]> extends [] ? [] : [Parameters<THandlers[K]>[0]]
  ): Promise<Awaited<ReturnType<THandlers[K]>>>;
}

export function createIpcClient<THandlers extends IpcHandlers>(
  child: ChildProcess,
  timeoutMs: number,
): IpcClient<THandlers> {
  let nextId = 1;
  const pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  let markReady: () => void = () => {};
  let failReady: (e: Error) => void = () => {};
  const ready = new Promise<void>((resolve, reject) => {
    markReady = resolve;
    failReady = reject;
  });
  child.on('message', (message: Response) => {
    if (message.id === 0) return markReady();
    const entry = pending.get(message.id);
    if (!entry) return;
    pending.delete(message.id);
    if (message.error !== undefined) entry.reject(new Error(message.error));
    else entry.resolve(message.result);
  });
  child.on('exit', (code, signal) => {
    const error = new Error(`child process exited (${code ?? signal})`);
    failReady(error);
    for (const entry of pending.values()) entry.reject(error);
    pending.clear();
  });
  return {
    ready,
    call(cmd, ...args) {
      const id = nextId++;
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          pending.delete(id);
          reject(new Error(`${cmd} timed out after ${timeoutMs} ms`));
        }, timeoutMs);
        pending.set(id, {
          resolve: (v) => {
            clearTimeout(timer);
            resolve(v as never);
          },
          reject: (e) => {
            clearTimeout(timer);
            reject(e);
          },
        });
        child.send({ id, cmd, args: args[0] } satisfies Request);
      });
    },
  };
}
