import type { SqlDatabase } from './sqlDatabase';

/** One module's schema history: each step runs once, in order, never edited once released. */
export interface Migrations {
  /** The module the steps belong to, e.g. `chat`. */
  module: string;
  /** SQL scripts; step N runs once, after steps 0..N-1. */
  steps: readonly string[];
}

/**
 * Brings the schema up to date. Idempotent, and safe when several nodes start at once: a
 * transaction-scoped advisory lock serializes them, and each step is recorded in the same
 * transaction that runs it.
 */
export async function migrate(db: SqlDatabase, migrations: Migrations): Promise<void> {
  await db.query(`CREATE TABLE IF NOT EXISTS duplex_migrations (
    module text NOT NULL,
    step int NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (module, step)
  )`);
  await db.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`duplex:${migrations.module}`]);
    const done = await tx.query<{ step: number }>(
      'SELECT step FROM duplex_migrations WHERE module = $1',
      [migrations.module],
    );
    const applied = new Set(done.map((row) => row.step));
    for (const [step, sql] of migrations.steps.entries()) {
      if (applied.has(step)) continue;
      for (const statement of splitStatements(sql)) await tx.query(statement);
      await tx.query('INSERT INTO duplex_migrations (module, step) VALUES ($1, $2)', [
        migrations.module,
        step,
      ]);
    }
  });
}

/** Splits a script on `;` at line ends (the steps are ours: no `;` inside literals). */
function splitStatements(sql: string): string[] {
  return sql
    .split(/;\s*$/m)
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}
