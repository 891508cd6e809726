import { describe, expect, it } from 'vitest';
import { DriverMissingError, loadDriver } from './loadDriver';

describe('loadDriver', () => {
  it('names the package to install when the driver is missing', async () => {
    const packageName = 'duplex-test-driver-that-is-not-installed';
    const loading = loadDriver(packageName, 'createTestDatabase', () => import(packageName));
    await expect(loading).rejects.toBeInstanceOf(DriverMissingError);
    await expect(loading).rejects.toThrow(
      'createTestDatabase() needs the optional peer dependency duplex-test-driver-that-is-not-installed, which is not installed: run `npm install duplex-test-driver-that-is-not-installed`',
    );
  });

  it('passes on other failures of an installed driver as they are', async () => {
    const failure = new Error('wasm failed to compile');
    await expect(
      loadDriver('pg', 'createPostgresDatabase', () => Promise.reject(failure)),
    ).rejects.toBe(failure);
  });

  it('returns the module when the driver is installed', async () => {
    const pg = await loadDriver('pg', 'createPostgresDatabase', () => import('pg'));
    expect(typeof pg.default.Pool).toBe('function');
  });
});
