/**
 * fast-check generators of hostile inputs for the fuzzing harness: mutations of valid files
 * (bit flips, truncation, header fields overwritten with extreme values, inserted/deleted/
 * duplicated byte runs), random bytes, and structural mutations of JSON documents.
 */
import fc from 'fast-check';

/** One byte-level mutation. Positions are taken modulo the input length when applied. */
export type Mutation =
  | { op: 'flip'; pos: number; bit: number }
  | { op: 'truncate'; len: number }
  | { op: 'set'; pos: number; width: 1 | 2 | 4 | 8; value: bigint; le: boolean }
  | { op: 'insert'; pos: number; bytes: Uint8Array }
  | { op: 'delete'; pos: number; len: number }
  | { op: 'dup'; from: number; len: number; to: number };

/** Values that break size arithmetic: 0, 1, sign boundaries, all-ones, powers of two. */
export const EXTREME_INTS: readonly bigint[] = [
  0n,
  1n,
  2n,
  3n,
  4n,
  7n,
  8n,
  0x7fn,
  0x80n,
  0xffn,
  0x100n,
  0x7fffn,
  0x8000n,
  0xffffn,
  0x10000n,
  0x7fffffn,
  0x7fffffffn,
  0x7ffffff0n,
  0x80000000n,
  0xfffffffen,
  0xffffffffn,
  0x100000000n,
  0x7fffffffffffffffn,
  0xffffffffffffffffn,
];

/** A position biased towards the first 64 bytes, where headers live. */
const position = fc.oneof({ weight: 3, arbitrary: fc.integer({ min: 0, max: 63 }) }, { weight: 1, arbitrary: fc.nat() });

export const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ op: fc.constant('flip' as const), pos: position, bit: fc.integer({ min: 0, max: 7 }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('truncate' as const), len: fc.nat() }) },
  {
    weight: 4,
    arbitrary: fc.record({
      op: fc.constant('set' as const),
      pos: position,
      width: fc.constantFrom(1 as const, 2 as const, 4 as const, 8 as const),
      value: fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...EXTREME_INTS) }, { weight: 1, arbitrary: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }) }),
      le: fc.boolean(),
    }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('insert' as const), pos: position, bytes: fc.uint8Array({ minLength: 1, maxLength: 64 }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('delete' as const), pos: position, len: fc.integer({ min: 1, max: 64 }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('dup' as const), from: fc.nat(), len: fc.integer({ min: 1, max: 256 }), to: position }) },
);

/** Applies one mutation (returns a new array; the input is not modified). */
export function applyMutation(input: Uint8Array, m: Mutation): Uint8Array {
  const n = input.length;
  const at = (p: number) => (n === 0 ? 0 : p % n);
  switch (m.op) {
    case 'flip': {
      if (n === 0) return input;
      const out = input.slice();
      out[at(m.pos)] ^= 1 << m.bit;
      return out;
    }
    case 'truncate':
      return input.slice(0, n === 0 ? 0 : m.len % n);
    case 'set': {
      if (n === 0) return input;
      const out = input.slice();
      const p = at(m.pos);
      for (let i = 0; i < m.width && p + i < n; i++) {
        const shift = BigInt(8 * (m.le ? i : m.width - 1 - i));
        out[p + i] = Number((m.value >> shift) & 0xffn);
      }
      return out;
    }
    case 'insert': {
      const p = n === 0 ? 0 : m.pos % (n + 1);
      const out = new Uint8Array(n + m.bytes.length);
      out.set(input.subarray(0, p));
      out.set(m.bytes, p);
      out.set(input.subarray(p), p + m.bytes.length);
      return out;
    }
    case 'delete': {
      if (n === 0) return input;
      const p = at(m.pos);
      const out = new Uint8Array(n - Math.min(m.len, n - p));
      out.set(input.subarray(0, p));
      out.set(input.subarray(p + m.len), p);
      return out;
    }
    case 'dup': {
      if (n === 0) return input;
      const from = at(m.from);
      const chunk = input.slice(from, Math.min(n, from + m.len));
      return applyMutation(input, { op: 'insert', pos: m.to, bytes: chunk });
    }
  }
}

/** A header field of a format: byte offset, width and byte order. */
export interface Field {
  pos: number;
  width: 1 | 2 | 4 | 8;
  le: boolean;
}

/** Overwrites of known header fields with extreme values (what finds size-arithmetic bugs fast). */
export function fieldMutationArb(fields: readonly Field[]): fc.Arbitrary<Mutation> {
  return fc
    .tuple(fc.constantFrom(...fields), fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...EXTREME_INTS) }, { weight: 1, arbitrary: fc.bigInt({ min: 0n, max: 1n << 16n }) }))
    .map(([f, value]) => ({ op: 'set' as const, pos: f.pos, width: f.width, value, le: f.le }));
}

/**
 * Mutated copies of `seeds` (1 to 4 mutations each; with `fields`, half of them overwrite a
 * known header field with an extreme value), some seeds unchanged, and random bytes.
 */
export function bytesFrom(seeds: readonly Uint8Array[], maxRandom = 2048, fields: readonly Field[] = []): fc.Arbitrary<Uint8Array> {
  const one = fields.length > 0 ? fc.oneof(mutationArb, fieldMutationArb(fields)) : mutationArb;
  const mutated = fc.tuple(fc.constantFrom(...seeds), fc.array(one, { minLength: 1, maxLength: 4 })).map(([s, ms]) => ms.reduce<Uint8Array>((acc, m) => applyMutation(acc, m), s));
  const prefixPlusNoise = fc.tuple(fc.constantFrom(...seeds), fc.nat(), fc.uint8Array({ maxLength: 256 })).map(([s, cut, tail]) => {
    const head = s.subarray(0, s.length === 0 ? 0 : cut % s.length);
    const out = new Uint8Array(head.length + tail.length);
    out.set(head);
    out.set(tail, head.length);
    return out;
  });
  return fc.oneof(
    { weight: 16, arbitrary: mutated },
    { weight: 1, arbitrary: fc.constantFrom(...seeds) },
    { weight: 2, arbitrary: prefixPlusNoise },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: maxRandom }) },
  );
}

/** A JSON nesting `depth` levels deep (arrays or objects). */
function deep(depth: number, asObject: boolean): unknown {
  let v: unknown = 0;
  for (let i = 0; i < depth; i++) v = asObject ? { a: v } : [v];
  return v;
}

/** JSON values that break validators: wrong types, extremes, huge strings, deep nesting. */
export const extremeJson: fc.Arbitrary<unknown> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.constantFrom<unknown>(
      null,
      true,
      false,
      0,
      -0,
      -1,
      1,
      0.5,
      1e308,
      -1e308,
      1e-320,
      2 ** 31,
      2 ** 32,
      2 ** 53,
      2 ** 53 + 2,
      -(2 ** 63),
      2 ** 64,
      '',
      ' ',
      '0',
      '-1',
      'NaN',
      'Infinity',
      '1e999',
      '__proto__',
      'constructor',
      'toString',
      '\u0000',
      '\ud800',
      'x'.repeat(100_000),
      [],
      {},
      [null],
      [-1],
      [0, 0],
      [2 ** 32, 2 ** 32],
      { __proto__: null },
      { constructor: 1 },
      { toString: 1 },
    ),
  },
  { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  { weight: 1, arbitrary: fc.constantFrom(50, 500, 2000).chain((d) => fc.boolean().map((o) => deep(d, o))) },
  { weight: 1, arbitrary: fc.array(fc.constantFrom<unknown>(0, -1, 2 ** 32, 1e308, 'a', null), { maxLength: 8 }) },
);

/** One structural JSON mutation: follow `path` (indices into keys, modulo their count) and replace, delete, or add a key. */
export interface JsonMutation {
  path: number[];
  op: 'replace' | 'delete' | 'add';
  key: string;
  value: unknown;
}

export const jsonMutationArb: fc.Arbitrary<JsonMutation> = fc.record({
  path: fc.array(fc.nat(), { maxLength: 4 }),
  op: fc.constantFrom('replace' as const, 'replace' as const, 'delete' as const, 'add' as const),
  key: fc.oneof(fc.constantFrom('__proto__', 'constructor', 'format', 'type', 'dtype', 'shape', 'data_offsets', '__metadata__', ''), fc.string({ maxLength: 8 })),
  value: extremeJson,
});

/** Applies a JSON mutation to a deep copy of `doc`. */
export function applyJsonMutation(doc: unknown, m: JsonMutation): unknown {
  const root = structuredClone(doc);
  if (m.path.length === 0 && m.op === 'replace') return m.value;
  let node: unknown = root;
  for (let depth = 0; ; depth++) {
    if (node === null || typeof node !== 'object') return root;
    const keys = Object.keys(node as object);
    const last = depth >= m.path.length - 1 || keys.length === 0;
    if (last) {
      const obj = node as Record<string, unknown>;
      if (m.op === 'add' || keys.length === 0) Object.defineProperty(obj, m.key, { value: m.value, enumerable: true, writable: true, configurable: true });
      else {
        const key = keys[(m.path[depth] ?? 0) % keys.length]!;
        if (m.op === 'delete') {
          if (Array.isArray(obj)) obj.splice(Number(key), 1);
          else delete obj[key];
        } else obj[key] = m.value;
      }
      return root;
    }
    node = (node as Record<string, unknown>)[keys[m.path[depth]! % keys.length]!];
  }
}

/** Text of `doc` after 1 to 3 JSON mutations, sometimes followed by byte mutations of the text. */
export function jsonTextFrom(docs: readonly unknown[]): fc.Arbitrary<Uint8Array> {
  const structural: fc.Arbitrary<Uint8Array> = fc.tuple(fc.constantFrom(...docs), fc.array(jsonMutationArb, { minLength: 1, maxLength: 3 })).map(([d, ms]) => {
    let text: string;
    try {
      text = JSON.stringify(ms.reduce((acc, m) => applyJsonMutation(acc, m), d)) ?? 'null';
    } catch {
      text = 'null'; // a nesting JSON.stringify itself cannot write
    }
    return new Uint8Array(Buffer.from(text, 'utf8'));
  });
  const seeds = docs.map((d) => new Uint8Array(Buffer.from(JSON.stringify(d, null, 2), 'utf8')));
  return fc.oneof(
    { weight: 6, arbitrary: structural },
    { weight: 2, arbitrary: fc.tuple(structural, fc.array(mutationArb, { minLength: 1, maxLength: 2 })).map(([b, ms]) => ms.reduce<Uint8Array>((a, m) => applyMutation(a, m), b)) },
    { weight: 2, arbitrary: bytesFrom(seeds, 512) },
  );
}
