// A short fixed-seed fuzzing campaign over every parser of untrusted input (see campaign.ts;
// `npm run fuzz` runs longer ones). Each target must return a valid result or throw
// AnogenError/TorchError: never another error, never a hang, never an absurd allocation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runCampaign, type TargetReport } from './campaign.js';
import { TARGETS } from './targets.js';

/** Cases per target: a few hundred, a few seconds in all on a 2-core machine. */
const RUNS: Record<string, number> = { idx: 300, 'idx-gzip': 200, bmp: 400, image: 300, safetensors: 300, 'bundle-config': 300, 'run-config': 300 };

let reports: TargetReport[] = [];
test.before(async () => {
  reports = await runCampaign({ runs: RUNS, seed: 20261128, caseTimeoutMs: 15_000, slowMs: 5000 });
});

for (const t of TARGETS) {
  test(`fuzz ${t.name}: ${t.doc}`, () => {
    const r = reports.find((x) => x.target === t.name);
    assert.ok(r, `no report for ${t.name}`);
    const lines = r.findings.map((f) => `${f.kind} x${f.count}: ${f.message.slice(0, 300)} ${f.frame}\n  input ${Buffer.from(f.input.subarray(0, 96)).toString('hex')}`);
    assert.deepEqual(lines, [], `${t.name}: ${r.findings.length} finding(s)`);
    assert.equal(r.cases, RUNS[t.name] ?? 200);
  });
}
