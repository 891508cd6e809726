import { mkdir } from 'node:fs/promises';
import { loadDriver } from './loadDriver';
import type { SqlDatabase } from './sqlDatabase';

/** Options of {@link createPgliteDatabase}. */
export interface PgliteDatabaseOptions {
  /**
   * The directory the database lives in; created if missing. Without one the database is in
   * memory and gone when the process ends.
   */
  dataDir?: string;
}

/**
 * Embedded PostgreSQL (PGlite, compiled to WebAssembly): no server to install, data in a
 * directory. One process at a time may open a directory. Needs the optional peer
 * `@electric-sql/pglite` (`npm install @electric-sql/pglite`), loaded on the first call; without
 * it this rejects with a {@link DriverMissingError}.
 * @example
 * ```ts
 * const db = await createPgliteDatabase({ dataDir: '.data/chat' });
 * ```
 */
export async function createPgliteDatabase(opts: PgliteDatabaseOptions = {}): Promise<SqlDatabase> {
  // PGlite creates only the last path segment; a fresh checkout has no `.data/` yet.
  if (opts.dataDir) await mkdir(opts.dataDir, { recursive: true });
  const { PGlite } = await loadDriver(
    '@electric-sql/pglite',
    'createPgliteDatabase',
    () => import('@electric-sql/pglite'),
  );
  const pglite = await PGlite.create(opts.dataDir);
  return {
    kind: 'pglite',
    async query<TRow>(text: string, params: readonly unknown[] = []) {
      const result = await pglite.query<TRow>(text, params as unknown[]);
      return result.rows;
    },
    transaction(fn) {
      return pglite.transaction((tx) =>
        fn({
          async query<TRow>(text: string, params: readonly unknown[] = []) {
            return (await tx.query<TRow>(text, params as unknown[])).rows;
          },
        }),
      );
    },
    close: () => pglite.close(),
  };
}
