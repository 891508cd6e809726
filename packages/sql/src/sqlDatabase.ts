/** Runs SQL. Parameters are `$1`, `$2`, …; rows come back as plain objects. */
export interface SqlExecutor {
  query<TRow = Record<string, unknown>>(text: string, params?: readonly unknown[]): Promise<TRow[]>;
}

/**
 * A PostgreSQL database: embedded PGlite or a PostgreSQL server, behind one interface so a
 * store is written once. Select `bigint` columns as `::text` and counts as `::int`: the two
 * drivers parse 64-bit integers differently.
 */
export interface SqlDatabase extends SqlExecutor {
  /** Which engine runs the SQL. */
  readonly kind: 'pglite' | 'postgres';
  /** Runs `fn` in a transaction: committed if it resolves, rolled back if it throws. */
  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}
