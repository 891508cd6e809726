// `pg` is an optional peer of @duplex/sql that this project does not install.
import { createPostgresDatabase, DriverMissingError } from '@duplex/sql';

try {
  await createPostgresDatabase({ connectionString: 'postgres://127.0.0.1:1/none' });
  console.log('opened without pg');
} catch (error) {
  console.log(
    error instanceof DriverMissingError ? `DriverMissingError ${error.message}` : String(error),
  );
}
