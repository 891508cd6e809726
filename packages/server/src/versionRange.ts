/** A tested range of a dependency's versions: at least `min`, below major `belowMajor`. */
export interface VersionRange {
  readonly min: readonly [number, number, number];
  readonly belowMajor: number;
}

/**
 * Whether `version` (`major.minor.patch`, a pre-release tail ignored) lies in `range`: what the
 * two internals seams (`ws`'s and tRPC's) check at startup before reading private fields.
 */
export function inVersionRange(version: string, range: VersionRange): boolean {
  const [major = Number.NaN, minor = 0, patch = 0] = version
    .split('.')
    .map((n) => Number.parseInt(n, 10));
  const { min, belowMajor } = range;
  if (!(major < belowMajor)) return false;
  if (major !== min[0]) return major > min[0];
  return minor > min[1] || (minor === min[1] && patch >= min[2]);
}
