import SuperJSON from 'superjson';
import { describe, expect, it } from 'vitest';
import { createSuperjsonFastPath, isPlainJson, type SuperjsonModule } from './plainJson';

const module = SuperJSON as unknown as SuperjsonModule;

class Point {
  constructor(
    readonly x: number,
    readonly y: number,
  ) {}
}

const shared = { s: 1 };
const circular: Record<string, unknown> = { a: 1 };
circular.self = circular;
const sparse: unknown[] = [1];
sparse[2] = 3;
const withExtra = Object.assign([1, 2], { extra: 'x' });
const nonEnumerable = Object.defineProperty({ a: 1 }, 'hidden', { value: 2, enumerable: false });
const withSymbol = { a: 1, [Symbol('s')]: 2 };
const withGetter = {
  get a() {
    return 1;
  },
};
let deep: unknown = 'bottom';
for (let i = 0; i < 100; i++) deep = { d: deep };
let deepButAllowed: unknown = 'bottom';
for (let i = 0; i < 40; i++) deepButAllowed = [deepButAllowed];

/** Values superjson writes as `{ json: value }`: the fast path must take every one. */
const plain: [string, unknown][] = [
  ['a string', 'hello'],
  ['the empty string', ''],
  ['unicode, a lone surrogate, U+2028', 'é漢🙂\ud800\u2028"\\\n'],
  ['zero', 0],
  ['integers', [1, -1, Number.MAX_SAFE_INTEGER + 2, -(2 ** 53)]],
  ['fractions and exponents', [1.5, 1e21, 5e-324, -1e-7]],
  ['booleans', [true, false]],
  ['null', null],
  ['the empty object', {}],
  ['the empty array', []],
  ['an echo input', { text: 'x'.repeat(100) }],
  ['nested', { a: { b: [{ c: 'd' }, [1, [2, [3]]]], e: null }, f: [true, false] }],
  ['integer-like keys (ordered as V8 orders them)', { b: 1, 2: 'two', a: 1, 1: 'one', '-1': 0 }],
  ['an array with an extra property', withExtra],
  ['a non-enumerable property', nonEnumerable],
  ['a symbol key', withSymbol],
  ['an enumerable getter', withGetter],
  ['forty nested arrays', deepButAllowed],
  [
    'many objects (the seen set grows past its small list)',
    Array.from({ length: 50 }, (_, i) => ({ i })),
  ],
];

/** Values superjson annotates, refuses or changes: the fast path must leave every one to it. */
const notPlain: [string, unknown][] = [
  ['undefined', undefined],
  ['undefined in an object', { a: undefined, b: 1 }],
  ['undefined in an array', [1, undefined]],
  ['a sparse array', sparse],
  ['-0', -0],
  ['-0 nested', { n: [-0] }],
  ['NaN', Number.NaN],
  ['Infinity', { n: Number.POSITIVE_INFINITY }],
  ['-Infinity', [Number.NEGATIVE_INFINITY]],
  ['a bigint', { n: 1n }],
  ['a Date', new Date(0)],
  ['a Date nested', { at: [new Date(0)] }],
  ['a Map', new Map([['k', 1]])],
  ['nested Maps', { m: new Map([['k', new Map([[1, { a: 1 }]])]]) }],
  ['a Set', { s: new Set([1]) }],
  ['a RegExp', /re/g],
  ['an Error', { e: new Error('boom') }],
  ['a URL', new URL('https://example.com/')],
  ['a typed array', new Uint8Array([1, 2])],
  ['a class instance', new Point(1, 2)],
  ['a null-prototype object', Object.assign(Object.create(null), { a: 1 })],
  ['a function', { f: () => 1 }],
  ['a toJSON method', { toJSON: () => 'x', a: 1 }],
  ['a symbol', { s: Symbol('s') }],
  ['an object reached twice', { a: shared, b: shared }],
  [
    'an array reached twice',
    (() => {
      const list = [1];
      return [list, { list }];
    })(),
  ],
  ['a circular object', circular],
  ['a __proto__ key', JSON.parse('{"a":1,"__proto__":{"x":1}}')],
  ['a nested __proto__ key', JSON.parse('{"a":[{"__proto__":{"polluted":true}}]}')],
  ['a constructor key', { constructor: 1 }],
  ['a prototype key', { nested: { prototype: 1 } }],
  ['a hundred nested objects', deep],
];

const fast = createSuperjsonFastPath(module)!;

/** What superjson puts on the wire for `value`, or the error it throws. */
function superjsonWire(value: unknown): string {
  try {
    return JSON.stringify(SuperJSON.serialize(value as never));
  } catch (error) {
    return `throws ${(error as Error).message}`;
  }
}

describe('isPlainJson', () => {
  it.each(plain)('takes %s, and writes what superjson writes', (_, value) => {
    expect(isPlainJson(value)).toBe(true);
    expect(fast.isPlain(value)).toBe(true);
    expect(SuperJSON.serialize(value as never).meta).toBeUndefined();
    expect(fast.stringifyPlain(value)).toBe(superjsonWire(value));
  });

  it.each(notPlain)('leaves %s to superjson', (_, value) => {
    expect(isPlainJson(value)).toBe(false);
    expect(fast.isPlain(value)).toBe(false);
  });

  it('writes what superjson writes for every generated value it takes', () => {
    let seed = 16;
    const random = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const leaves = [
      () => 'x'.repeat(Math.floor(random() * 5)),
      () => Math.floor(random() * 2000) - 1000,
      () => random() * 1e6,
      () => random() < 0.5,
      () => null,
      () => undefined,
      () => -0,
      () => Number.NaN,
      () => new Date(0),
      () => 7n,
      () => new Map([[1, 2]]),
      () => shared,
    ];
    const generate = (depth: number): unknown => {
      const pick = random();
      if (depth > 3 || pick < 0.4) return leaves[Math.floor(random() * leaves.length)]!();
      const size = Math.floor(random() * 4);
      if (pick < 0.7) return Array.from({ length: size }, () => generate(depth + 1));
      return Object.fromEntries(
        Array.from({ length: size }, (_, i) => [
          random() < 0.1 ? String(i) : `k${i}`,
          generate(depth + 1),
        ]),
      );
    };
    let taken = 0;
    for (let i = 0; i < 3000; i++) {
      const value = generate(0);
      if (!fast.isPlain(value)) continue;
      taken++;
      expect(fast.stringifyPlain(value)).toBe(superjsonWire(value));
    }
    // The corpus has plain values in it, or this test would prove nothing.
    expect(taken).toBeGreaterThan(500);
  });
});

describe('createSuperjsonFastPath', () => {
  /** A superjson module whose default instance is a fresh one, so a test can register on it. */
  const isolated = () => {
    const instance = new SuperJSON();
    const isolatedModule = Object.assign(class extends SuperJSON {}, {
      defaultInstance: instance,
    }) as unknown as SuperjsonModule;
    return { instance, path: createSuperjsonFastPath(isolatedModule)! };
  };

  it('reads a plain payload in place and anything else through superjson', () => {
    for (const [, value] of [...plain, ...notPlain]) {
      const wire = superjsonWire(value);
      if (wire.startsWith('throws')) continue;
      const read = fast.deserialize(JSON.parse(wire), (payload) => SuperJSON.deserialize(payload));
      expect(read).toEqual(SuperJSON.deserialize(JSON.parse(wire)));
    }
    const payload = JSON.parse('{"json":{"text":"hi"}}');
    expect(fast.deserialize(payload, () => expect.unreachable())).toBe(payload.json);
  });

  it('reads a __proto__ key as superjson does (its copy sets the prototype)', () => {
    const wire = '{"json":{"__proto__":{"x":1},"a":2}}';
    const read = fast.deserialize(JSON.parse(wire), (payload) => SuperJSON.deserialize(payload));
    const expected = SuperJSON.deserialize<Record<string, unknown>>(JSON.parse(wire));
    expect(Object.getPrototypeOf(read)).toEqual(Object.getPrototypeOf(expected));
    expect((read as Record<string, unknown>).x).toBe(expected.x);
    expect(Object.keys(read as object)).toEqual(Object.keys(expected));
  });

  it('leaves payloads with meta, or not objects, to superjson', () => {
    const calls: unknown[] = [];
    const spy = (payload: unknown) => {
      calls.push(payload);
      return 'superjson';
    };
    const annotated = JSON.parse(superjsonWire({ at: new Date(0) }));
    expect(fast.deserialize(annotated, spy)).toBe('superjson');
    expect(fast.deserialize(undefined, spy)).toBe('superjson');
    expect(fast.deserialize('text', spy)).toBe('superjson');
    expect(fast.deserialize({ json: -0 }, spy)).toBe('superjson');
    expect(calls).toHaveLength(4);
  });

  it('takes no value once a custom transformer is registered, plain ones included', () => {
    const { instance, path } = isolated();
    expect(path.isPlain('decimal:1.50')).toBe(true);
    instance.registerCustom<string, string>(
      {
        isApplicable: (value): value is string =>
          typeof value === 'string' && value.startsWith('decimal:'),
        serialize: (value) => value.slice('decimal:'.length),
        deserialize: (value) => `decimal:${value}`,
      },
      'decimal',
    );
    expect(JSON.stringify(instance.serialize('decimal:1.50'))).toContain('"meta"');
    expect(path.isPlain('decimal:1.50')).toBe(false);
    expect(path.isPlain({ text: 'hi' })).toBe(false);
    const payload = { json: 'hi' };
    expect(path.deserialize(payload, () => 'superjson')).toBe('superjson');
  });

  it('is off for a superjson that keeps its transformers elsewhere', () => {
    class Other {
      registerCustom() {}
      serialize(value: unknown) {
        return { json: value };
      }
      static serialize(value: unknown) {
        return { json: value };
      }
    }
    expect(createSuperjsonFastPath(Other as unknown as SuperjsonModule)).toBeNull();
  });
});
