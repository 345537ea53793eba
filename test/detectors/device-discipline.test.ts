/**
 * Device discipline on a CPU-only machine. On a GPU, a tensor that a training step, scoring,
 * batch-norm recalibration or calibration creates without a device lands on the CPU and fails
 * (or silently computes on the CPU) next to CUDA weights; on the CPU such a tensor looks right.
 * So this test watches every creation through src/core's creation functions (creationObservers)
 * while a GANomaly, moved explicitly to 'cpu', is fitted (with the batch-norm recalibration),
 * scored (with maps), calibrated and used for reconstructions and features, and requires that
 * each one named its device (explicitly, or through a `*Like` function from a tensor already on
 * the model's device).
 *
 * What it proves: no creation function is called without a device on these paths, so on CUDA
 * each of them follows the device the detector/loop hands around (ctx.device, the model's
 * device, the batch's). What it cannot prove on a CPU: that the device passed is the model's and
 * not a hard-coded 'cpu' (both are 'cpu' here; the test also checks every given device is
 * 'cpu', i.e. none asks for another one), nor anything about tensors that libtorch ops create
 * themselves (those follow their inputs' device).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { creationObservers, manualSeed, randn, tidy, type CreationEvent, type Tensor } from '../../src/core/index.js';
import { Ganomaly } from '../../src/detectors/index.js';

function normals(n: number, seed: number): Tensor {
  manualSeed(seed);
  return tidy(() => randn([n, 1, 16, 16]).mul(0.3).tanh());
}

test('GANomaly fit, score, calibrate, reconstruct and features create no tensor without a device', async () => {
  const x = normals(40, 1);
  const val = normals(12, 2);
  const d = new Ganomaly({ isize: 16, nz: 8, ngf: 8, ndf: 8 }).to('cpu');
  const events: (CreationEvent & { where: string })[] = [];
  const caller = () =>
    new Error()
      .stack!.split('\n')
      .filter((l) => l.includes(' at ') && !/creation\.ts|device-discipline/.test(l))
      .slice(0, 3)
      .join('\n');
  const listener = (e: CreationEvent) => events.push({ ...e, where: caller() });
  creationObservers.add(listener);
  try {
    await d.fit({ images: x }, { val: { images: val }, epochs: 1, batchSize: 16, seed: 1 });
    const r = d.score(val, { batchSize: 5 });
    r.maps!.dispose();
    d.calibrate({ images: val, labels: new Uint8Array(12) });
    d.reconstruct(val).dispose();
    d.features(val).dispose();
  } finally {
    creationObservers.delete(listener);
  }
  assert.ok(events.length > 10, `the observer saw the creations (${events.length})`);
  const fns = new Set(events.map((e) => e.fn));
  for (const fn of ['ones', 'zeros', 'tensor']) assert.ok(fns.has(fn), `${fn} was observed (saw ${[...fns].join(', ')})`);
  const without = events.filter((e) => e.device === undefined);
  assert.deepEqual(
    without.map((e) => `${e.fn} at\n${e.where}`),
    [],
    'every tensor created on the training/scoring path names its device',
  );
  assert.ok(
    events.every((e) => e.device === 'cpu'),
    `every device given is the model's ('cpu'): ${[...new Set(events.map((e) => e.device))].join(', ')}`,
  );
  d.dispose();
  x.dispose();
  val.dispose();
});
