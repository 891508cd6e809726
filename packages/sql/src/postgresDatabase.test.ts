import { afterEach, describe, expect, it, vi } from 'vitest';
import { createPostgresDatabase } from './postgresDatabase';
import type { SqlDatabase } from './sqlDatabase';
import { dropTestSchema, sqlTestBackends, testPostgresUrl } from './testing';

const postgres = (await sqlTestBackends()).find((b) => b.name === 'postgres');

describe.skipIf(!postgres?.available)('createPostgresDatabase', () => {
  const open: SqlDatabase[] = [];
  afterEach(async () => {
    for (const db of open.splice(0)) {
      await dropTestSchema(db);
      await db.close();
    }
  });

  it('survives a transaction whose connection is killed between statements, and reports it', async () => {
    const onError = vi.fn();
    const db = await createPostgresDatabase({
      connectionString: testPostgresUrl,
      schema: `duplex_test_${process.pid}_lost`,
      maxConnections: 2,
      onError,
    });
    open.push(db);
    const outcome = db.transaction(async (tx) => {
      const [row] = await tx.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
      await db.query('SELECT pg_terminate_backend($1)', [row!.pid]);
      // The lost connection's 'error' arrives on its own, between this transaction's statements.
      await vi.waitFor(() => expect(onError).toHaveBeenCalled());
      return tx.query('SELECT 1');
    });
    await expect(outcome).rejects.toThrow();
    expect(onError.mock.calls[0]![0]).toBeInstanceOf(Error);
    // The pool drops the lost connection and serves the next call on a fresh one.
    expect(await db.query<{ one: number }>('SELECT 1 AS one')).toEqual([{ one: 1 }]);
  });
});
