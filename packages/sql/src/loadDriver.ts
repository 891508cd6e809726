/** Thrown when a database driver that `@duplex/sql` loads on demand is not installed. */
export class DriverMissingError extends Error {
  override readonly name = 'DriverMissingError';
  /** The npm package to install. */
  readonly packageName: string;
  constructor(packageName: string, factory: string, cause: unknown) {
    super(
      `${factory}() needs the optional peer dependency ${packageName}, which is not installed: run \`npm install ${packageName}\``,
      { cause },
    );
    this.packageName = packageName;
  }
}

/**
 * Imports a driver on first use: PGlite (27 MB of WebAssembly) and `pg` are optional peers, so
 * an app that uses one never loads, or installs, the other.
 */
export async function loadDriver<TModule>(
  packageName: string,
  factory: string,
  load: () => Promise<TModule>,
): Promise<TModule> {
  try {
    return await load();
  } catch (error) {
    if (isMissing(error, packageName)) throw new DriverMissingError(packageName, factory, error);
    throw error;
  }
}

function isMissing(error: unknown, packageName: string): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  const message = String((error as { message?: unknown } | null)?.message ?? '');
  // Node reports the bare specifier it could not find; a bundler may only say "Cannot find".
  return (
    (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') &&
    message.includes(packageName)
  );
}
