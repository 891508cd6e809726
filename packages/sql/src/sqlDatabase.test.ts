import { afterEach, describe, expect, it } from 'vitest';
import { migrate } from './migrate';
import type { SqlDatabase } from './sqlDatabase';
import { dropTestSchema, sqlTestBackends } from './testing';

const backends = await sqlTestBackends();

for (const backend of backends) {
  describe.skipIf(!backend.available)(`SqlDatabase on ${backend.name}`, () => {
    const open: SqlDatabase[] = [];
    const create = async () => {
      const db = await backend.create();
      open.push(db);
      return db;
    };
    afterEach(async () => {
      for (const db of open.splice(0)) {
        await dropTestSchema(db);
        await db.close();
      }
    });

    it('runs each migration step once, in order, however often it is called', async () => {
      const db = await create();
      const steps = [
        'CREATE TABLE t (id int PRIMARY KEY, v text);',
        'ALTER TABLE t ADD COLUMN w text;',
      ];
      await migrate(db, { module: 'test', steps });
      await migrate(db, { module: 'test', steps });
      await Promise.all([
        migrate(db, { module: 'test', steps }),
        migrate(db, { module: 'test', steps }),
      ]);
      const rows = await db.query<{ step: number }>(
        "SELECT step FROM duplex_migrations WHERE module = 'test' ORDER BY step",
      );
      expect(rows.map((r) => r.step)).toEqual([0, 1]);
      await db.query('INSERT INTO t (id, v, w) VALUES ($1, $2, $3)', [1, 'a', 'b']);
      expect(await db.query('SELECT id, v, w FROM t')).toEqual([{ id: 1, v: 'a', w: 'b' }]);
    });

    it('rolls a failed transaction back and commits a good one', async () => {
      const db = await create();
      await db.query('CREATE TABLE t (id int PRIMARY KEY)');
      await expect(
        db.transaction(async (tx) => {
          await tx.query('INSERT INTO t VALUES (1)');
          await tx.query('INSERT INTO t VALUES (1)');
        }),
      ).rejects.toThrow();
      expect(await db.query('SELECT * FROM t')).toEqual([]);
      await db.transaction((tx) => tx.query('INSERT INTO t VALUES (2)'));
      expect(await db.query('SELECT id FROM t')).toEqual([{ id: 2 }]);
    });

    it('round-trips jsonb, timestamptz, bytea and bigint-as-text the same way', async () => {
      const db = await create();
      await db.query(
        'CREATE TABLE t (id bigserial PRIMARY KEY, doc jsonb, at timestamptz, bin bytea)',
      );
      const at = new Date('2026-03-04T05:06:07.089Z');
      await db.query('INSERT INTO t (doc, at, bin) VALUES ($1, $2, $3)', [
        JSON.stringify({ a: [1, 'x'] }),
        at,
        Buffer.from([0, 255, 7]),
      ]);
      const [row] = await db.query<{ id: string; doc: unknown; at: Date; bin: Uint8Array }>(
        'SELECT id::text AS id, doc, at, bin FROM t',
      );
      expect(row?.id).toBe('1');
      expect(row?.doc).toEqual({ a: [1, 'x'] });
      expect(row?.at).toEqual(at);
      expect([...(row?.bin ?? [])]).toEqual([0, 255, 7]);
    });
  });
}
