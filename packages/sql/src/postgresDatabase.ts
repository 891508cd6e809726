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
}

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
  // An idle client's network error is reported on the pool; without a listener it would crash.
  pool.on('error', () => {});
  await pool.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
  return {
    kind: 'postgres',
    async query<TRow>(text: string, params: readonly unknown[] = []) {
      const result = await pool.query(text, params as unknown[]);
      return result.rows as TRow[];
    },
    async transaction(fn) {
      const client = await pool.connect();
      /** Why the session cannot go back to the pool: its ROLLBACK failed. */
      let broken: Error | undefined;
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
        client.release(broken);
      }
    },
    close: () => pool.end(),
  };
}
