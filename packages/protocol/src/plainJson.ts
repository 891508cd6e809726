/**
 * A fast path past superjson for values that are plain JSON, which is most of what an app sends
 * (`{ text: 'hi' }`): superjson writes such a value as `{ json: <the value> }` with no `meta`, so
 * its wire form is `{"json":` + `JSON.stringify(value)` + `}`, byte for byte, and reading it back
 * needs no annotations. Finding that out costs one walk of the value; superjson's own walk (paths,
 * identity maps, a copy) cost ~4 µs per 100 B call on each side (measured 2026-11-28).
 *
 * The one file that reads superjson's internals (its custom-transformer registry, which can claim
 * any value, plain ones included); it takes superjson as an argument, so this package keeps no
 * dependency. {@link createSuperjsonFastPath} checks that shape once and returns `null` if it
 * changed, so an unknown superjson always takes its own path.
 */

/** Keys superjson refuses to serialize (prototype pollution): such values take its path, which throws. */
const refusedKeys = new Set(['__proto__', 'constructor', 'prototype']);

/** Deeper values take superjson's path (and its limits). */
const maxDepth = 64;

/** The objects a walk has passed, to find one that occurs twice (superjson annotates those). */
class SeenObjects {
  private small: object[] = [];
  private large: Set<object> | null = null;

  /** Adds `value`; false if it was already there. */
  add(value: object): boolean {
    if (this.large) {
      if (this.large.has(value)) return false;
      this.large.add(value);
      return true;
    }
    if (this.small.includes(value)) return false;
    this.small.push(value);
    if (this.small.length > 16) this.large = new Set(this.small);
    return true;
  }
}

function isPlainAt(value: unknown, depth: number, seen: SeenObjects): boolean {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return true;
    case 'number':
      // NaN, ±Infinity and -0 are annotated by superjson (JSON has no way to write them).
      return Number.isFinite(value) && !(value === 0 && 1 / value < 0);
    case 'object': {
      if (value === null) return true;
      if (depth >= maxDepth || !seen.add(value)) return false;
      const proto = Object.getPrototypeOf(value);
      if (proto === Array.prototype) {
        const array = value as unknown[];
        // A hole reads as `undefined`, which is not plain: such arrays take superjson's path.
        for (let i = 0; i < array.length; i++) {
          if (!isPlainAt(array[i], depth + 1, seen)) return false;
        }
        return true;
      }
      // Dates, Maps, Sets, errors, class instances and null-prototype objects are superjson's.
      if (proto !== Object.prototype) return false;
      const record = value as Record<string, unknown>;
      for (const key in record) {
        if (refusedKeys.has(key) || !isPlainAt(record[key], depth + 1, seen)) return false;
      }
      return true;
    }
    default:
      // undefined, bigint, symbol, function.
      return false;
  }
}

/**
 * Whether `value` is plain JSON that superjson writes unannotated and reads back unchanged:
 * strings, booleans, `null`, finite numbers other than `-0`, and arrays (no holes) and
 * `Object.prototype` objects of them, no object reached twice, none of the keys superjson
 * refuses, at most 64 levels deep. Conservative: `false` only means "ask superjson".
 */
export function isPlainJson(value: unknown): boolean {
  return isPlainAt(value, 0, new SeenObjects());
}

/** What {@link createSuperjsonFastPath} needs of superjson's default export (the class). */
export interface SuperjsonModule {
  new (): {
    registerCustom(
      transformer: {
        isApplicable: (value: unknown) => value is never;
        serialize: (value: never) => string;
        deserialize: (value: string) => never;
      },
      name: string,
    ): void;
    serialize(value: unknown): { json: unknown; meta?: unknown };
  };
  serialize(value: unknown): { json: unknown; meta?: unknown };
}

/** superjson's default instance's custom transformers, as the registry keeps them. */
type TransformerTable = Record<string, unknown>;

const registryOf = (instance: unknown): TransformerTable | null => {
  const registry = (instance as { customTransformerRegistry?: { transfomers?: unknown } } | null)
    ?.customTransformerRegistry;
  const table = registry?.transfomers;
  return typeof table === 'object' && table !== null ? (table as TransformerTable) : null;
};

const isEmpty = (table: TransformerTable): boolean => {
  for (const _ in table) return false;
  return true;
};

/** The plain-JSON fast path for one superjson module; see {@link createSuperjsonFastPath}. */
export interface SuperjsonFastPath {
  /**
   * Whether superjson would serialize `value` as `{ json: value }` and nothing else: it is
   * {@link isPlainJson} and no custom transformer is registered on superjson's default instance.
   */
  isPlain(value: unknown): boolean;
  /**
   * `JSON.stringify(superjson.serialize(value))` for a value {@link isPlain} accepted.
   */
  stringifyPlain(value: unknown): string;
  /**
   * `superjson.deserialize(payload)`, in place when the payload is `{ json }` alone and plain
   * (superjson would return a copy of it: a frame just parsed needs none), else superjson's.
   */
  deserialize(payload: unknown, deserialize: (payload: never) => unknown): unknown;
}

/**
 * The fast path for `superjson` (its default export), or `null` if this superjson does not keep
 * its custom transformers where this file looks, or writes a plain value differently: checked
 * once, on a fresh instance (registering a probe transformer there, never on the default one).
 */
export function createSuperjsonFastPath(superjson: SuperjsonModule): SuperjsonFastPath | null {
  let table: TransformerTable | null;
  try {
    const probe = new superjson();
    const probeTable = registryOf(probe);
    if (!probeTable || !isEmpty(probeTable)) return null;
    probe.registerCustom(
      {
        isApplicable: (_value: unknown): _value is never => false,
        serialize: () => '',
        deserialize: () => undefined as never,
      },
      'duplex.probe',
    );
    if (isEmpty(probeTable)) return null;
    const sample = { a: [1, 'b', null, true, { c: 2.5 }] };
    if (JSON.stringify(probe.serialize(sample)) !== `{"json":${JSON.stringify(sample)}}`) {
      return null;
    }
    table = registryOf((superjson as unknown as { defaultInstance?: unknown }).defaultInstance);
  } catch {
    return null;
  }
  if (!table) return null;
  const registry = table;
  const isPlain = (value: unknown) => isEmpty(registry) && isPlainJson(value);
  return {
    isPlain,
    stringifyPlain: (value) => `{"json":${JSON.stringify(value)}}`,
    deserialize(payload, deserialize) {
      if (typeof payload === 'object' && payload !== null) {
        const { json, meta } = payload as { json?: unknown; meta?: unknown };
        if (meta === undefined && isPlain(json)) return json;
      }
      return deserialize(payload as never);
    },
  };
}
