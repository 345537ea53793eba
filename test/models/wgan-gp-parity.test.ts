// WGAN-GP's gradient penalty against PyTorch: the penalty, the mean input-gradient norm and the
// penalty's gradient with respect to every critic weight (a double backward) on the committed
// fixture of scripts/make_wgan_gp_fixture.py.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fixture } from '../nn/parity-helpers.js';
import { DcganDiscriminator } from '../../src/models/gan/networks.js';
import { gradientPenalty } from '../../src/models/wgan/loss.js';

const TOL = 1e-5;

function close(name: string, got: Float32Array, want: Float32Array): void {
  assert.equal(got.length, want.length, `${name}: length`);
  let worst = 0;
  for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i]! - want[i]!) / Math.max(1, Math.abs(want[i]!)));
  assert.ok(worst <= TOL, `${name}: max relative difference ${worst} > ${TOL}`);
}

test("WGAN-GP penalty and its critic-weight gradients match PyTorch's (double backward)", () => {
  const f = fixture('wgan-gp/penalty');
  assert.equal(f.meta.lambda, 10);
  const critic = new DcganDiscriminator(16, 1, 4, { batchNorm: false });
  critic.loadStateDict(f.sub('sd'));
  const { penalty, gradNorm } = gradientPenalty(critic, f.get('real'), f.get('fake'), f.get('eps'), f.meta.lambda as number);
  close('penalty', penalty.toFloat32Array(), f.get('penalty').toFloat32Array());
  close('gradNorm', gradNorm.toFloat32Array(), f.get('gradNorm').toFloat32Array());
  assert.ok(penalty.item() > 0.01, 'the fixture exercises a non-trivial penalty');
  penalty.backward();
  const want = f.sub('grad');
  let nonzero = 0;
  for (const [name, p] of critic.namedParameters()) {
    const g = p.grad;
    const w = want.get(name);
    assert.ok(w !== undefined, `fixture has grad.${name}`);
    const got = g === null ? new Float32Array(w.numel) : g.toFloat32Array();
    close(`grad.${name}`, got, w.toFloat32Array());
    if (w.abs().sum().item() > 0) nonzero++;
  }
  assert.ok(nonzero >= 3, 'the penalty reaches the conv weights through the input gradient');
});
