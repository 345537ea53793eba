// Memory: tidy scopes, keep, dispose, the GC safety net, and the flat-RSS training test.
// Every test disposes what it creates: finalizers run inside the GC, so garbage left by one
// test could lower liveTensors() in the middle of another and break its exact counts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as T from '../../src/core/index.js';
import * as F from '../../src/nn/functional.js';
import { settledLiveTensors } from '../helpers/live.js';

const here = path.dirname(fileURLToPath(import.meta.url));

test('tidy frees every tensor fn does not return', () => {
  const start = settledLiveTensors();
  const x = T.ones([3]);
  const out = T.tidy(() => {
    const a = x.add(1);
    const b = a.mul(2);
    b.sum(); // never referenced
    return b.sub(1);
  });
  assert.deepEqual(out.toArray(), [3, 3, 3]);
  assert.equal(T.liveTensors(), start + 2); // x and out
  assert.equal(x.isDisposed, false); // created outside: untouched
  out.dispose();
  x.dispose();
  assert.equal(T.liveTensors(), start);
});

test('tidy keeps tensors returned inside arrays, plain objects and Maps; nested scopes hand them outward', () => {
  const start = settledLiveTensors();
  const r = T.tidy(() => {
    const tmp = T.zeros([2]);
    const inner = T.tidy(() => {
      const q = T.ones([1]);
      q.add(1); // freed by the inner scope
      return { deep: [[q]], also: T.ones([2]) };
    });
    assert.equal(T.liveTensors(), start + 3); // tmp, q, also
    return { list: [tmp.add(1), [inner.deep[0]![0]!]], obj: { t: inner.also }, map: new Map([['m', T.full([1], 7)]]), n: 3 };
  });
  assert.equal(r.n, 3);
  assert.deepEqual(r.list[0]!.toString().includes('shape=[2]'), true);
  assert.deepEqual((r.list[1] as T.Tensor[])[0]!.toArray(), [1]);
  assert.deepEqual(r.obj.t.toArray(), [1, 1]);
  assert.deepEqual(r.map.get('m')!.toArray(), [7]);
  assert.equal(T.liveTensors(), start + 4); // tmp and the inner temporary are gone
  T.dispose(r);
  assert.equal(T.liveTensors(), start);
  // a tensor returned by an inner scope still belongs to the outer one
  T.tidy(() => {
    T.tidy(() => T.ones([1]));
  });
  assert.equal(T.liveTensors(), start);
});

test('keep() exempts a tensor from every scope; dispose is idempotent', () => {
  const start = settledLiveTensors();
  let kept: T.Tensor | undefined;
  T.tidy(() => {
    T.tidy(() => {
      kept = T.keep(T.ones([2]).mul(3));
      T.ones([5]);
    });
  });
  assert.deepEqual(kept!.toArray(), [3, 3]);
  assert.equal(T.liveTensors(), start + 1);
  kept!.dispose();
  kept!.dispose();
  assert.equal(T.liveTensors(), start);
  // disposing inside tidy, then the scope disposing again, is harmless
  T.tidy(() => {
    const a = T.ones([1]);
    a.dispose();
    a.dispose();
  });
  assert.equal(T.liveTensors(), start);
  // dispose(value) walks arrays and objects
  const bag = { a: T.ones([1]), b: [T.ones([1]), { c: T.ones([1]) }] };
  T.dispose(bag);
  assert.equal(bag.a.isDisposed && (bag.b[0] as T.Tensor).isDisposed, true);
  assert.equal(T.liveTensors(), start);
});

test('tidy frees on throw and refuses async functions', () => {
  const start = settledLiveTensors();
  assert.throws(
    () =>
      T.tidy(() => {
        T.ones([4]);
        throw new Error('inside');
      }),
    /inside/,
  );
  assert.equal(T.liveTensors(), start);
  assert.throws(() => T.tidy(async () => 1 as unknown as T.Tensor), /fn returned a Promise; tidy scopes are synchronous/);
  assert.equal(T.liveTensors(), start);
});

test('gradient wrappers and autograd temporaries are freed by tidy', () => {
  const w = T.randn([4, 4], { requiresGrad: true });
  const start = settledLiveTensors();
  for (let i = 0; i < 20; i++) {
    T.tidy(() => {
      w.matmul(w).sum().backward();
      const g = w.grad!;
      T.noGrad(() => w.sub_(g, 0.001));
      g.zero_();
    });
  }
  assert.equal(T.liveTensors(), start);
  w.dispose(); // leave no garbage behind: the GC would change later counts
});

test('the GC finalizer frees tensors nobody disposed', () => {
  const child = path.join(here, 'gc-child.ts');
  const res = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', child], {
    encoding: 'utf8',
    env: { ...process.env, ANOGEN_NUM_THREADS: '1' },
    timeout: 60_000,
  });
  assert.equal(res.status, 0, res.stderr);
  const { start, before, after } = JSON.parse(res.stdout.trim().split('\n').pop()!);
  console.log(`gc child: liveTensors start ${start}, after creating ${before}, after gc() ${after}`);
  assert.ok(before >= start + 4000, `expected 4000 new tensors, got ${before - start}`);
  assert.ok(after < start + 100, `finalizers should free almost all: ${after} still alive`);
});

test('800 training steps of a small conv net keep resident memory flat (the live-tensor count exactly)', () => {
  T.manualSeed(0);
  const p = (shape: number[], scale: number) => T.randn(shape).mul_(scale).requiresGrad_();
  // conv(1->8, 3x3, pad 1) -> leakyRelu -> conv(8->16, 4x4, stride 2, pad 1) -> batchNorm -> leakyRelu -> linear(16*8*8 -> 1)
  const params = {
    w1: p([8, 1, 3, 3], 0.3),
    b1: T.zeros([8]).requiresGrad_(),
    w2: p([16, 8, 4, 4], 0.1),
    g2: T.ones([16]).requiresGrad_(),
    c2: T.zeros([16]).requiresGrad_(),
    w3: p([1, 16 * 8 * 8], 0.01),
    b3: T.zeros([1]).requiresGrad_(),
  };
  const rm = T.zeros([16]);
  const rv = T.ones([16]);
  const x = T.randn([8, 1, 16, 16]);
  const y = T.randn([8, 1]);
  const lr = 0.01;
  const step = (): number =>
    T.tidy(() => {
      let h = F.conv2d(x, params.w1, params.b1, { padding: 1 }).leakyRelu(0.2);
      h = F.conv2d(h, params.w2, null, { stride: 2, padding: 1 });
      h = F.batchNorm(h, rm, rv, { training: true, weight: params.g2, bias: params.c2 }).leakyRelu(0.2);
      const out = F.linear(h.flatten(1), params.w3, params.b3);
      const loss = F.mseLoss(out, y);
      loss.backward();
      T.noGrad(() => {
        for (const w of Object.values(params)) {
          const g = w.grad!;
          w.sub_(g, lr);
          g.zero_();
        }
      });
      return loss.item();
    });
  const start = settledLiveTensors();
  let first = 0;
  let last = 0;
  let rss200 = 0;
  for (let i = 1; i <= 800; i++) {
    last = step();
    if (i === 1) first = last;
    if (i === 200) rss200 = process.memoryUsage().rss;
  }
  const rssEnd = process.memoryUsage().rss;
  const mb = (b: number) => (b / 1048576).toFixed(1);
  console.log(
    `flat-memory test: RSS after step 200 ${mb(rss200)} MB, after step 800 ${mb(rssEnd)} MB, growth ${mb(rssEnd - rss200)} MB; ` +
      `liveTensors ${start} -> ${T.liveTensors()}; loss ${first.toFixed(4)} -> ${last.toFixed(4)}`,
  );
  assert.equal(T.liveTensors(), start);
  assert.ok(rssEnd - rss200 < 30 * 1048576, `RSS grew by ${mb(rssEnd - rss200)} MB between steps 200 and 800`);
  assert.ok(last < first, 'the net should learn something');
});
