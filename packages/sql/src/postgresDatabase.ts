import { loadDriver } from './loadDriver';
import type { SqlDatabase } from './sqlDatabase';

/** Options of {@link createPostgresDatabase}. */
export interface PostgresDatabaseOptions {
  /** A `postgres://` URL. */
  connectionString: string;
  /**
   * A schema to work in (created if missing), so several apps or test runs can share one
   * database without seeing each other's tables.
   * @default 'public'
   */
  schema?: string;
  /**
   * Pooled connections.
   * @default 10
   */
  maxConnections?: number;
  /**
   * Told of a connection's network failure outside a query: an idle pooled connection dropped
   * by the server, or a transaction's connection lost between its statements. The pool replaces
   * the connection; the failing call (if any) rejects on its own.
   * @default a one-line `console.warn`
   */
  onError?: (error: Error) => void;
}

const warnConnectionError = (error: Error) =>
  console.warn(`[duplex/sql] PostgreSQL connection error: ${error.message}`);

const schemaName = /^[a-z_][a-z0-9_]{0,62}$/;

/**
 * A PostgreSQL server through a `pg` connection pool: what several Duplex nodes share. Needs the
 * optional peer `pg` (`npm install pg`), loaded on the first call; without it this rejects with a
 * {@link DriverMissingError}.
 * @example
 * ```ts
 * const db = await createPostgresDatabase({ connectionString: process.env.DATABASE_URL! });
 * ```
 */
export async function createPostgresDatabase(opts: PostgresDatabaseOptions): Promise<SqlDatabase> {
  const schema = opts.schema ?? 'public';
  if (!schemaName.test(schema))
    throw new TypeError(`Invalid schema name ${JSON.stringify(schema)}`);
  const { default: pg } = await loadDriver('pg', 'createPostgresDatabase', () => import('pg'));
  const pool = new pg.Pool({
    connectionString: opts.connectionString,
    max: opts.maxConnections ?? 10,
    options: `-c search_path=${schema}`,
  });
  const onError = opts.onError ?? warnConnectionError;
  // A connection's network error is emitted as 'error': on the pool while the connection is idle,
  // on the connection itself while it is checked out. Unheard, either crashes the process.
  pool.on('error', onError);
  await pool.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
  return {
    kind: 'postgres',
    async query<TRow>(text: string, params: readonly unknown[] = []) {
      const result = await pool.query(text, params as unknown[]);
      return result.rows as TRow[];
    },
    async transaction(fn) {
      const client = await pool.connect();
      /** Why the session cannot go back to the pool: its ROLLBACK failed, or it was lost. */
      let broken: Error | undefined;
      const onLost = (error: Error) => {
        broken = error;
        onError(error);
      };
      client.on('error', onLost);
      try {
        await client.query('BEGIN');
        const result = await fn({
          async query<TRow>(text: string, params: readonly unknown[] = []) {
            return (await client.query(text, params as unknown[])).rows as TRow[];
          },
        });
        await client.query('COMMIT');
        return result;
      } catch (error) {
        try {
          await client.query('ROLLBACK');
        } catch (rollbackError) {
          // The caller gets the error that caused the rollback, with this one as its companion;
          // the session, possibly still inside the transaction, is destroyed rather than reused.
          broken =
            rollbackError instanceof Error ? rollbackError : new Error(String(rollbackError));
          throw new AggregateError([error, broken], 'Transaction failed, and so did its ROLLBACK', {
            cause: error,
          });
        }
        throw error;
      } finally {
        client.off('error', onLost);
        client.release(broken);
      }
    },
    close: () => pool.end(),
  };
}
