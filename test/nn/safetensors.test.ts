import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as T from '../../src/core/index.js';
import * as nn from '../../src/nn/index.js';
import { settledLiveTensors } from '../helpers/live.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'anogen-st-'));
process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
let n = 0;
const tmp = (): string => path.join(dir, `f${n++}.safetensors`);

function header(obj: unknown, data: Uint8Array = new Uint8Array(0), lengthOverride?: bigint): Uint8Array {
  const h = Buffer.from(typeof obj === 'string' ? obj : JSON.stringify(obj));
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setBigUint64(0, lengthOverride ?? BigInt(h.length), true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}

test('round trip of every dtype, scalars and empty tensors, with metadata', () => {
  const src = new Map<string, T.Tensor>([
    ['a.weight', T.randn([3, 4])],
    ['d', T.randn([2], { dtype: 'float64' })],
    ['h', T.tensor([1.5, -2], { dtype: 'float16' })],
    [
      'i64',
      T.tensor(
        [1, -2, 3e12].map((x) => x),
        { dtype: 'int64' },
      ),
    ],
    ['i32', T.tensor([7, -8], { dtype: 'int32' })],
    ['i16', T.tensor([7, -8], { dtype: 'int16' })],
    ['i8', T.tensor([7, -8], { dtype: 'int8' })],
    ['u8', T.tensor([0, 255], { dtype: 'uint8' })],
    ['b', T.tensor([true, false, true])],
    ['scalar', T.tensor(3.25)],
    ['empty', T.zeros([0, 5])],
  ]);
  const f = tmp();
  nn.saveSafetensors(f, src, { format: 'pt', note: 'ünïcode' });
  const bytes = fs.readFileSync(f);
  const hlen = Number(bytes.readBigUInt64LE(0));
  assert.equal(hlen % 8, 0, 'header padded to 8 bytes');
  const { tensors, metadata } = nn.readSafetensors(f);
  assert.deepEqual(metadata, { format: 'pt', note: 'ünïcode' });
  assert.deepEqual([...tensors.keys()], [...src.keys()]);
  for (const [k, t] of src) {
    const u = tensors.get(k)!;
    assert.equal(u.dtype, t.dtype, k);
    assert.deepEqual(u.shape, t.shape, k);
    assert.deepEqual(u.toArray(), t.toArray(), k);
  }
  const h = nn.readSafetensorsHeader(f);
  assert.deepEqual(h.tensors.get('a.weight'), { dtype: 'float32', shape: [3, 4], dataOffsets: [0, 48] });
  // in-memory form gives the same
  const again = nn.deserializeSafetensors(nn.serializeSafetensors(src));
  assert.deepEqual(again.tensors.get('i64')!.toArray(), [1, -2, 3e12]);
  T.dispose([src, tensors, again.tensors]);
});

test('module save/load through safetensors', () => {
  const a = new nn.Sequential(new nn.Conv2d(1, 2, 3), new nn.BatchNorm2d(2));
  const b = new nn.Sequential(new nn.Conv2d(1, 2, 3), new nn.BatchNorm2d(2));
  const f = tmp();
  nn.saveModule(a, f);
  nn.loadModule(b, f);
  const sa = a.stateDict();
  for (const [k, t] of b.stateDict()) assert.deepEqual(t.toArray(), sa.get(k)!.toArray(), k);
  assert.deepEqual(b.child('0').param('weight').toArray(), a.child('0').param('weight').toArray());
  const c = new nn.Sequential(new nn.Conv2d(1, 3, 3));
  assert.throws(
    () => nn.loadModule(c, f),
    (e: Error) => e instanceof T.AnogenError && e.message.includes(f) && /unexpected keys: 1\.weight/.test(e.message),
  );
  a.dispose();
  b.dispose();
});

const good = (): Uint8Array => nn.serializeSafetensors({ x: T.tensor([1, 2, 3, 4]), y: T.tensor([5, 6]) });

const corrupt: [string, () => Uint8Array, RegExp][] = [
  ['empty file', () => new Uint8Array(0), /fewer than the 8-byte header length/],
  ['truncated length field', () => new Uint8Array([1, 0, 0]), /fewer than the 8-byte/],
  ['header length beyond the file', () => good().subarray(0, 20), /exceeds the \d+ bytes after the length field/],
  ['huge header length', () => header({}, new Uint8Array(0), 1n << 62n), /exceeds the limit/],
  [
    'truncated data',
    () => {
      const g = good();
      return g.subarray(0, g.length - 4);
    },
    /exceed the data section|cover/,
  ],
  ['bad JSON', () => header('{"x": {"dtype": "F32",'), /not valid JSON/],
  ['not an object', () => header('[1, 2]'), /does not start with '\{'/],
  ['invalid UTF-8', () => header(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]).toString('latin1')).map((b, i) => (i === 9 ? 0xff : b)), /UTF-8/],
  ['unknown dtype', () => header({ x: { dtype: 'BF16', shape: [1], data_offsets: [0, 2] } }, new Uint8Array(2)), /unknown dtype "BF16"; expected 'F64'/],
  ['negative shape', () => header({ x: { dtype: 'F32', shape: [-1], data_offsets: [0, 4] } }, new Uint8Array(4)), /non-negative integers/],
  ['fractional shape', () => header({ x: { dtype: 'F32', shape: [1.5], data_offsets: [0, 4] } }, new Uint8Array(4)), /non-negative integers/],
  ['offsets out of bounds', () => header({ x: { dtype: 'F32', shape: [4], data_offsets: [0, 16] } }, new Uint8Array(8)), /exceed the data section of 8 bytes/],
  ['reversed offsets', () => header({ x: { dtype: 'F32', shape: [0], data_offsets: [4, 0] } }, new Uint8Array(4)), /end before they begin/],
  ['size mismatch', () => header({ x: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, new Uint8Array(8)), /needs 12 bytes but data_offsets \[0, 8\] hold 8/],
  ['overlap', () => header({ x: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, y: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, new Uint8Array(8)), /overlap/],
  ['gap', () => header({ x: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, new Uint8Array(8)), /gap at bytes \[0, 4\)/],
  ['trailing bytes', () => header({ x: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, new Uint8Array(8)), /cover 4 bytes of a 8-byte/],
  ['metadata not strings', () => header({ __metadata__: { a: 1 } }), /__metadata__ value of 'a' is not a string/],
  ['bad bool byte', () => header({ x: { dtype: 'BOOL', shape: [2], data_offsets: [0, 2] } }, new Uint8Array([1, 7])), /neither 0 nor 1/],
  ['huge shape', () => header({ x: { dtype: 'F64', shape: [2 ** 40, 2 ** 40], data_offsets: [0, 8] } }, new Uint8Array(8)), /needs \d+ bytes/],
];

for (const [what, make, re] of corrupt) {
  test(`corrupted file: ${what} -> AnogenError`, () => {
    const f = tmp();
    fs.writeFileSync(f, make());
    const before = settledLiveTensors();
    for (const fn of [() => nn.loadSafetensors(f), () => nn.deserializeSafetensors(fs.readFileSync(f), f)]) {
      assert.throws(fn, (e: Error) => {
        assert.ok(e instanceof T.AnogenError, `${e.name}: ${e.message}`);
        assert.ok(e.message.startsWith(`${f}: not a valid safetensors file`), e.message);
        assert.match(e.message, re);
        return true;
      });
    }
    assert.equal(T.liveTensors(), before, 'no tensor allocated');
  });
}

test('missing file -> AnogenError naming it', () => {
  assert.throws(() => nn.loadSafetensors(path.join(dir, 'nope.safetensors')), /nope\.safetensors: cannot open: ENOENT/);
});

test('a failed write leaves the old file intact', () => {
  const f = tmp();
  nn.saveSafetensors(f, { x: T.tensor([1, 2]) });
  const old = fs.readFileSync(f);
  assert.throws(() => nn.saveSafetensors(f, { x: T.tensor([3]), y: 5 as unknown as T.Tensor }), /'y' is not a Tensor/);
  assert.deepEqual(fs.readFileSync(f), old);
  // a write that fails at the file system level (target is a directory) also leaves no temp file behind
  const d = path.join(dir, 'adir');
  fs.mkdirSync(d);
  assert.throws(() => nn.saveSafetensors(d, { x: T.tensor([1]) }));
  assert.deepEqual(
    fs.readdirSync(dir).filter((x) => x.endsWith('.tmp')),
    [],
  );
  assert.deepEqual(nn.loadSafetensors(f).get('x')!.toArray(), [1, 2]);
});
