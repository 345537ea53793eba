// Autograd: backward and grad values, retainGraph, double backward against analytic values,
// noGrad / enableGrad, detach.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as T from '../../src/core/index.js';
import { close } from './helpers.js';

const f64 = (d: T.NestedArray, requiresGrad = false) => T.tensor(d, { dtype: 'float64', requiresGrad });

test('backward: values, accumulation, explicit output gradient, clearing', () => {
  const x = f64([1, 2, 3], true);
  assert.equal(x.isLeaf, true);
  assert.equal(x.grad, null);
  const y = x.mul(x).sum();
  assert.equal(y.requiresGrad, true);
  assert.equal(y.isLeaf, false);
  y.backward();
  close(x.grad!, [2, 4, 6]);
  x.mul(x).sum().backward(); // accumulates, as PyTorch
  close(x.grad!, [4, 8, 12]);
  x.grad = null;
  assert.equal(x.grad, null);
  x.mul(3).backward(f64([1, 0.5, 2]));
  close(x.grad!, [3, 1.5, 6]);
  x.grad!.zero_();
  close(x.grad!, [0, 0, 0]);
  // chain rule through several ops: d/dx sum(exp(2x)) = 2 exp(2x)
  const z = f64([0, 0.5], true);
  z.mul(2).exp().sum().backward();
  close(z.grad!, [2, 2 * Math.E]);
  // mean, broadcasting: d/db mean(a + b) with a [2,3], b [3] = 2/6 each
  const b = f64([1, 1, 1], true);
  T.ones([2, 3], { dtype: 'float64' }).add(b).mean().backward();
  close(b.grad!, [1 / 3, 1 / 3, 1 / 3]);
  // requiresGrad_ returns this
  const w = f64([1]);
  assert.equal(w.requiresGrad_(), w);
  assert.equal(w.requiresGrad, true);
  w.requiresGrad = false;
  assert.equal(w.requiresGrad, false);
});

test('retainGraph allows a second backward; in-place ops on non-leaves are differentiated', () => {
  const x = f64([2], true);
  const y = x.pow(2).sum();
  y.backward(null, { retainGraph: true });
  close(x.grad!, [4]);
  y.backward();
  close(x.grad!, [8]);
  const a = f64([1, 2], true);
  const h = a.mul(1);
  h.mul_(3).add_(1);
  h.sum().backward();
  close(a.grad!, [3, 3]);
});

test('grad(): values for several inputs, gradOutputs, no accumulation into .grad', () => {
  const x = f64([1, 2], true);
  const w = f64([3, 4], true);
  const y = x.mul(w).sum(); // dy/dx = w, dy/dw = x
  const [gx, gw] = T.grad(y, [x, w]);
  close(gx!, [3, 4]);
  close(gw!, [1, 2]);
  assert.equal(x.grad, null);
  assert.equal(gx!.requiresGrad, false);
  const v = x.mul(w); // non-scalar output needs gradOutputs
  const [g] = T.grad(v, x, { gradOutputs: [f64([1, 10])] });
  close(g!, [3, 40]);
  // retainGraph lets grad() run twice on one graph
  const s = x.pow(3).sum();
  T.grad(s, x, { retainGraph: true });
  close(T.grad(s, x)[0]!, [3, 12]);
});

test('double backward: d2/dx2 of x^3 equals 6x', () => {
  for (const xv of [1.5, -0.7, 3]) {
    const x = f64(xv, true);
    const y = x.pow(3);
    const [g] = T.grad(y, x, { createGraph: true });
    close(g!, 3 * xv * xv, 1e-12);
    assert.equal(g!.requiresGrad, true);
    const [g2] = T.grad(g!, x);
    close(g2!, 6 * xv, 1e-12);
  }
  // backward(createGraph) leaves a differentiable .grad as well
  const x = f64([2], true);
  x.pow(3).sum().backward(null, { createGraph: true });
  const gx = x.grad!;
  close(gx, [12]);
  assert.equal(gx.requiresGrad, true);
  close(T.grad(gx.sum(), x)[0]!, [12]);
  // third derivative of x^4 at 1: 24x = 24
  const z = f64(1, true);
  const [d1] = T.grad(z.pow(4), z, { createGraph: true });
  const [d2] = T.grad(d1!, z, { createGraph: true });
  const [d3] = T.grad(d2!, z);
  close(d3!, 24, 1e-12);
});

test('gradient penalty (WGAN-GP style) on a linear critic has the analytic parameter gradient', () => {
  // D(x) = x w + b, x [N, 2]; dD/dx_i = w^T for every sample, so
  // penalty = mean_i (||dD/dx_i|| - 1)^2 = (||w|| - 1)^2 and d penalty / dw = 2 (||w|| - 1) w / ||w||.
  const w = f64([[3], [4]], true);
  const b = f64([0.5], true);
  const x = T.randn([5, 2], { dtype: 'float64', requiresGrad: true });
  const out = x.matmul(w).add(b);
  const [gx] = T.grad(out, x, { gradOutputs: [T.onesLike(out)], createGraph: true });
  close(gx!, [3, 4, 3, 4, 3, 4, 3, 4, 3, 4], 1e-12);
  const penalty = gx!.norm(2, 1).sub(1).pow(2).mean();
  close(penalty, 16, 1e-12);
  penalty.backward();
  close(w.grad!, [4.8, 6.4], 1e-12);
  assert.ok(b.grad === null || b.grad.abs().sum().item() === 0);
});

test('gradient penalty through a tanh critic matches finite differences', () => {
  // D(x) = sum(tanh(x W^T)); P(W) = sum over samples of ||dD/dx||^2; compare dP/dW with central differences.
  const x = f64([
    [0.3, -0.2],
    [0.1, 0.5],
  ]);
  const W0 = [0.7, -0.4, 0.2, 0.9, -0.5, 0.3]; // [3, 2]
  const P = (wv: number[], needGrad: boolean): { p: T.Tensor; W: T.Tensor } => {
    const W = T.tensor(new Float64Array(wv), { shape: [3, 2], requiresGrad: true });
    const xi = x.clone().requiresGrad_();
    const D = xi.matmul(W.t()).tanh().sum();
    const [g] = T.grad(D, xi, { createGraph: needGrad });
    return { p: g!.pow(2).sum(), W };
  };
  const { p, W } = P(W0, true);
  p.backward();
  const analytic = Array.from(W.grad!.toFloat64Array());
  const h = 1e-6;
  const numeric = W0.map((_, k) => {
    const up = W0.slice();
    const dn = W0.slice();
    up[k]! += h;
    dn[k]! -= h;
    return (P(up, false).p.item() - P(dn, false).p.item()) / (2 * h);
  });
  close(analytic, numeric, 1e-7, 1e-6);
});

test('noGrad disables recording and restores the mode; enableGrad re-enables it', () => {
  const x = f64([1], true);
  assert.equal(T.isGradEnabled(), true);
  const y = T.noGrad(() => {
    assert.equal(T.isGradEnabled(), false);
    const inner = T.enableGrad(() => x.mul(2));
    assert.equal(inner.requiresGrad, true);
    return x.mul(2);
  });
  assert.equal(y.requiresGrad, false);
  assert.equal(T.isGradEnabled(), true);
  assert.throws(
    () =>
      T.noGrad(() => {
        throw new Error('boom');
      }),
    /boom/,
  );
  assert.equal(T.isGradEnabled(), true); // restored after a throw
  // in-place updates of leaves are allowed under noGrad (optimizer steps)
  T.noGrad(() => x.sub_(0.5));
  close(x, [0.5]);
  assert.equal(x.requiresGrad, true);
  assert.equal(x.isLeaf, true);
});

test('detach cuts the graph', () => {
  const x = f64([1, 2, 3], true);
  const d = x.detach();
  assert.equal(d.requiresGrad, false);
  x.detach().mul(x).sum().backward(); // only the non-detached path counts
  close(x.grad!, [1, 2, 3]);
  const y = x.mul(2);
  y.detach_();
  assert.equal(y.requiresGrad, false);
});

test('retainGrad keeps the gradient of an intermediate tensor', () => {
  const x = f64([1, 2], true);
  const h = x.mul(3).retainGrad();
  h.pow(2).sum().backward(); // d/dh sum(h^2) = 2h = [6, 12]
  close(h.grad!, [6, 12]);
  close(x.grad!, [18, 36]);
});
