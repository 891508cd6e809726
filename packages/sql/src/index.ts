export { DataDirInUseError } from './dataDirLock';
export { DriverMissingError } from './loadDriver';
export { type Migrations, migrate } from './migrate';
export {
  createPgliteDatabase,
  initPgliteDataDir,
  type PgliteDatabaseOptions,
  type PgliteSettings,
  pgliteDefaults,
} from './pgliteDatabase';
export { createPostgresDatabase, type PostgresDatabaseOptions } from './postgresDatabase';
export type { SqlDatabase, SqlExecutor } from './sqlDatabase';
