/**
 * Where the server writes what it has to say: a structured logger with pino's shape (an object
 * of fields first, then a message), so `pino()`, a child of it, or anything shaped alike can be
 * passed as is.
 * @example
 * ```ts
 * import pino from 'pino';
 * createDuplexServer({ router, authenticate, logger: pino() });
 * ```
 */
export interface DuplexLogger {
  error(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
}

const quiet = () => {};

/**
 * The default logger: quiet and readable. Errors go to `console.error` as
 * `[duplex] <message>:` and the error (its `err` field), warnings to `console.warn` as one line,
 * `[duplex] <message>` (the fields are for structured loggers); info and debug print nothing.
 */
export const consoleLogger: DuplexLogger = {
  error(obj, msg) {
    const { err, ...fields } = obj as { err?: unknown };
    if (err === undefined) console.error(`[duplex] ${msg ?? 'error'}`, fields);
    else console.error(`[duplex] ${msg ?? 'error'}:`, err);
  },
  warn(obj, msg) {
    if (msg === undefined) console.warn('[duplex] warning', obj);
    else console.warn(`[duplex] ${msg}`);
  },
  info: quiet,
  debug: quiet,
};
