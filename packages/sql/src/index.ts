export { DriverMissingError } from './loadDriver';
export { type Migrations, migrate } from './migrate';
export { createPgliteDatabase, type PgliteDatabaseOptions } from './pgliteDatabase';
export { createPostgresDatabase, type PostgresDatabaseOptions } from './postgresDatabase';
export type { SqlDatabase, SqlExecutor } from './sqlDatabase';
