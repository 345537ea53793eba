// dtype checks on load (issue 8): an int32 tensor loaded into a float32 parameter used to be
// copied silently (scores of 2e21 when the stored bytes were float bits); now it is an error.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as T from '../../src/core/index.js';
import * as nn from '../../src/nn/index.js';
import { AnogenError } from '../../src/core/errors.js';
import { loadDtypeProblem } from '../../src/nn/module.js';
import { serializeSafetensors, deserializeSafetensors, loadModule, saveModule } from '../../src/nn/safetensors.js';
import type { DType } from '../../src/core/dtype.js';

const isAnogen = (re: RegExp) => (e: unknown) => {
  assert.ok(e instanceof AnogenError, `expected AnogenError, got ${String(e)}`);
  assert.match((e as Error).message, re);
  return true;
};

class Net extends nn.Module {
  readonly lin: nn.Linear;
  readonly bn: nn.BatchNorm1d;
  constructor() {
    super();
    this.lin = this.registerModule('lin', new nn.Linear(2, 2));
    this.bn = this.registerModule('bn', new nn.BatchNorm1d(2));
  }
  forward(x: T.Tensor): T.Tensor {
    return this.bn.call(this.lin.call(x));
  }
}

/** The state dict of a fresh Net with `name` replaced by `replacement`. */
function sdWith(name: string, replacement: T.Tensor): Map<string, T.Tensor> {
  const src = new Net();
  const sd = src.stateDict();
  sd.get(name)!.dispose();
  sd.set(name, replacement);
  src.dispose();
  return sd;
}

test('an int32 tensor for a float32 weight is an AnogenError naming tensor, stored and expected dtype; nothing is copied', () => {
  const net = new Net();
  const before = net.lin.weight.toArray();
  // the float32 bits of 2.0 read as int32 (what a header with the wrong dtype gives)
  const bits = new Int32Array(new Float32Array([2, 2, 2, 2]).buffer);
  const sd = sdWith('lin.weight', T.tensor(bits, { shape: [2, 2] }));
  assert.equal(sd.get('lin.weight')!.dtype, 'int32');
  assert.throws(
    () => net.loadStateDict(sd, { source: 'runs/x/model.safetensors' }),
    isAnogen(
      /Error loading runs\/x\/model\.safetensors into Net: dtype mismatch: tensor 'lin\.weight' is int32 in runs\/x\/model\.safetensors but float32 in the module \(integer values cannot be loaded into a floating-point tensor\)/,
    ),
  );
  assert.deepEqual(net.lin.weight.toArray(), before);
  T.dispose(sd);
  net.dispose();
});

test('through a safetensors file: an I32 entry for a float weight fails to load', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'anogen-dtype-'));
  try {
    const f = path.join(dir, 'model.safetensors');
    const sd = sdWith('lin.bias', T.tensor(new Int32Array([1, 2]), { shape: [2] }));
    fs.writeFileSync(f, serializeSafetensors(sd));
    T.dispose(sd);
    const net = new Net();
    assert.throws(() => loadModule(net, f), isAnogen(/model\.safetensors into Net: dtype mismatch: tensor 'lin\.bias' is int32 in .*model\.safetensors but float32 in the module/));
    // a float weight stored as F16 loads (lossless widening), values exact
    const half = sdWith('lin.bias', T.tensor(new Float32Array([0.5, -1.25]), { shape: [2] }).to('float16'));
    fs.writeFileSync(f, serializeSafetensors(half));
    T.dispose(half);
    loadModule(net, f);
    assert.deepEqual(net.lin.bias!.toArray(), [0.5, -1.25]);
    assert.equal(net.lin.bias!.dtype, 'float32');
    // and a normal round trip, int64 num_batches_tracked included
    net.bn.numBatchesTracked?.fill_(7);
    saveModule(net, f);
    const back = deserializeSafetensors(fs.readFileSync(f));
    assert.equal(back.tensors.get('bn.num_batches_tracked')!.dtype, 'int64');
    T.dispose(back.tensors);
    const net2 = new Net();
    loadModule(net2, f);
    assert.deepEqual(net2.bn.stateDict().get('num_batches_tracked')!.toArray(), net.bn.stateDict().get('num_batches_tracked')!.toArray());
    net.dispose();
    net2.dispose();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('int64 num_batches_tracked loads; int32 widens to it; a float num_batches_tracked is refused', () => {
  const net = new Net();
  const ok64 = sdWith('bn.num_batches_tracked', T.tensor(new BigInt64Array([5n]), { shape: [] }));
  net.loadStateDict(ok64);
  T.dispose(ok64);
  const ok32 = sdWith('bn.num_batches_tracked', T.tensor(new Int32Array([9]), { shape: [] }));
  net.loadStateDict(ok32);
  T.dispose(ok32);
  const nbt = net.stateDict().get('bn.num_batches_tracked')!;
  assert.equal(nbt.dtype, 'int64');
  assert.equal(Number(nbt.item()), 9);
  const bad = sdWith('bn.num_batches_tracked', T.tensor(new Float32Array([3.5]), { shape: [] }));
  assert.throws(
    () => net.loadStateDict(bad),
    isAnogen(/tensor 'bn\.num_batches_tracked' is float32 in state dict but int64 in the module \(floating-point values cannot be loaded into an integer tensor\)/),
  );
  T.dispose(bad);
  net.dispose();
});

test('the conversion table: same dtype and lossless widenings only', () => {
  const ok: [DType, DType][] = [
    ['float32', 'float32'],
    ['float16', 'float32'],
    ['float16', 'float64'],
    ['float32', 'float64'],
    ['int32', 'int64'],
    ['uint8', 'int64'],
    ['int8', 'int16'],
    ['bool', 'bool'],
    ['int64', 'int64'],
  ];
  for (const [a, b] of ok) assert.equal(loadDtypeProblem(a, b), null, `${a} -> ${b}`);
  const bad: [DType, DType, RegExp][] = [
    ['int32', 'float32', /integer values cannot be loaded into a floating-point tensor/],
    ['int64', 'float32', /integer/],
    ['uint8', 'float32', /integer/],
    ['bool', 'float32', /boolean values/],
    ['float32', 'int64', /floating-point values cannot be loaded into an integer/],
    ['float64', 'float32', /float64 -> float32 would lose precision or range/],
    ['float32', 'float16', /would lose/],
    ['int64', 'int32', /int64 -> int32 would lose/],
    ['uint8', 'int8', /would lose/],
    ['int8', 'uint8', /would lose/],
    ['float32', 'bool', /floating-point values cannot be loaded into a boolean/],
  ];
  for (const [a, b, re] of bad) assert.match(loadDtypeProblem(a, b) ?? 'null', re, `${a} -> ${b}`);
});

test('several dtype and shape problems are reported together', () => {
  const net = new Net();
  const sd = sdWith('lin.weight', T.tensor(new Float64Array([1, 2, 3]), { shape: [3] }));
  sd.get('lin.bias')!.dispose();
  sd.set('lin.bias', T.tensor(new Int32Array([1, 2]), { shape: [2] }));
  assert.throws(
    () => net.loadStateDict(sd),
    isAnogen(/size mismatch: lin\.weight: shape \[3\] in state dict, \[2, 2\] in the module\. dtype mismatch: tensor 'lin\.weight' is float64 .*; tensor 'lin\.bias' is int32/),
  );
  T.dispose(sd);
  net.dispose();
});
