import { createPgliteDatabase } from './pgliteDatabase';
import { createPostgresDatabase } from './postgresDatabase';
import type { SqlDatabase } from './sqlDatabase';

/** A database engine a store suite runs against. */
export interface SqlTestBackend {
  name: 'pglite' | 'postgres';
  /** Whether it can run here; `reason` says why not. */
  available: boolean;
  reason?: string;
  /** A fresh, isolated database (PGlite in memory, or a new schema on PostgreSQL). */
  create(): Promise<SqlDatabase>;
}

/** Where the PostgreSQL suites connect: `DUPLEX_TEST_PG_URL`, or the local service. */
export const testPostgresUrl =
  process.env.DUPLEX_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/**
 * The engines store suites run against. PostgreSQL is probed once; when it is missing the suite
 * is skipped with the reason, unless `DUPLEX_REQUIRE_ALL_SUITES=1` (CI), where that is an error.
 * @example
 * ```ts
 * for (const backend of await sqlTestBackends()) {
 *   describe.skipIf(!backend.available)(`store on ${backend.name}`, () => { ... });
 * }
 * ```
 */
export async function sqlTestBackends(): Promise<SqlTestBackend[]> {
  const pgReason = await probePostgres();
  if (pgReason && process.env.DUPLEX_REQUIRE_ALL_SUITES === '1') {
    throw new Error(
      `PostgreSQL suites are required but ${testPostgresUrl} is unreachable: ${pgReason}`,
    );
  }
  if (pgReason) console.warn(`[duplex] skipping PostgreSQL suites: ${pgReason}`);
  let schemas = 0;
  return [
    { name: 'pglite', available: true, create: () => createPgliteDatabase() },
    {
      name: 'postgres',
      available: pgReason === null,
      ...(pgReason ? { reason: pgReason } : {}),
      create: () =>
        createPostgresDatabase({
          connectionString: testPostgresUrl,
          schema: `duplex_test_${process.pid}_${Date.now().toString(36)}_${++schemas}`,
          maxConnections: 4,
        }),
    },
  ];
}

async function probePostgres(): Promise<string | null> {
  try {
    const db = await createPostgresDatabase({
      connectionString: testPostgresUrl,
      maxConnections: 1,
    });
    await db.close();
    return null;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

/** Drops a test schema created by a postgres backend. */
export async function dropTestSchema(db: SqlDatabase): Promise<void> {
  if (db.kind !== 'postgres') return;
  const [row] = await db.query<{ schema: string }>('SELECT current_schema() AS schema');
  if (row?.schema.startsWith('duplex_test_')) await db.query(`DROP SCHEMA ${row.schema} CASCADE`);
}

/** A store under test, on one back-end; `close()` drops its schema and closes its database. */
export interface StoreTestBackend<TStore> {
  name: string;
  available: boolean;
  open(): Promise<{ store: TStore; close(): Promise<void> }>;
}

/**
 * The back-ends a store suite runs on: memory, PGlite and PostgreSQL (see
 * {@link sqlTestBackends} for when PostgreSQL is skipped or required).
 */
export async function storeTestBackends<TStore>(factories: {
  memory: () => TStore;
  sql: (db: SqlDatabase) => Promise<TStore>;
}): Promise<StoreTestBackend<TStore>[]> {
  const sql = await sqlTestBackends();
  return [
    {
      name: 'memory',
      available: true,
      open: async () => ({ store: factories.memory(), close: async () => {} }),
    },
    ...sql.map((b) => ({
      name: b.name,
      available: b.available,
      open: async () => {
        const db = await b.create();
        return {
          store: await factories.sql(db),
          close: async () => {
            await dropTestSchema(db);
            await db.close();
          },
        };
      },
    })),
  ];
}
