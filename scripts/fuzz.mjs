#!/usr/bin/env node
// Fuzzing campaign over every parser of untrusted input (IDX raw and gzip, BMP, images through
// sharp, safetensors, bundle config.json, run configs): see test/fuzz/.
// Usage: node --import tsx scripts/fuzz.mjs [--seconds S | --runs N] [--targets a,b] [--seed K]
//        [--case-timeout MS] [--out DIR]
//   --seconds S   total time budget, split evenly over the targets (default 60)
//   --runs N      cases per target instead of a time budget
//   --targets     comma-separated target names (default: all)
//   --seed K      fast-check seed (default: the current time, printed for replay)
//   --out DIR     write each finding's input (<target>-<n>.bin) and findings.json there
// Exit status 1 when anything was found.
import fs from 'node:fs';
import path from 'node:path';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
let campaign;
try {
  campaign = await import('../test/fuzz/campaign.ts');
} catch (e) {
  console.error(`cannot load the fuzzing harness (${e.message}); run through tsx: node --import tsx scripts/fuzz.mjs`);
  process.exit(2);
}
const { TARGETS } = await import('../test/fuzz/targets.ts');
const targets = opt('targets') ? opt('targets').split(',') : TARGETS.map((t) => t.name);
const runs = opt('runs') !== undefined ? Number(opt('runs')) : 0;
const total = runs > 0 ? 0 : Number(opt('seconds', '60'));
const seed = Number(opt('seed', String(Date.now() % 2 ** 31)));
const caseTimeoutMs = Number(opt('case-timeout', '10000'));
console.log(`fuzz: ${targets.length} targets, ${runs > 0 ? `${runs} cases each` : `${total} s in all`}, seed ${seed}`);
const reports = await campaign.runCampaign({
  targets,
  runs,
  seconds: runs > 0 ? 0 : total / targets.length,
  seed,
  caseTimeoutMs,
  log: (l) => console.log(`  ${l}`),
});
console.log('\ntarget          cases   cases/s  slowest(ms)  restarts  findings');
let found = 0;
for (const r of reports) {
  console.log(
    `${r.target.padEnd(14)} ${String(r.cases).padStart(6)} ${(r.cases / (r.ms / 1000)).toFixed(0).padStart(9)} ${r.maxCaseMs.toFixed(0).padStart(12)} ${String(r.restarts).padStart(9)} ${String(r.findings.length).padStart(9)}`,
  );
  found += r.findings.length;
}
const out = opt('out');
if (out) fs.mkdirSync(out, { recursive: true });
const summary = [];
for (const r of reports) {
  r.findings.forEach((f, i) => {
    console.log(
      `\n[${f.target}] ${f.kind} x${f.count}: ${f.message.slice(0, 300)}${f.frame ? `\n    ${f.frame}` : ''}\n    input (${f.input.length} bytes): ${Buffer.from(f.input.subarray(0, 64)).toString('hex')}${f.input.length > 64 ? '...' : ''}`,
    );
    if (out) {
      const file = path.join(out, `${f.target}-${i}.bin`);
      fs.writeFileSync(file, f.input);
      summary.push({ target: f.target, kind: f.kind, count: f.count, message: f.message, frame: f.frame, input: file });
    }
  });
}
if (out)
  fs.writeFileSync(path.join(out, 'findings.json'), `${JSON.stringify({ seed, reports: reports.map((r) => ({ ...r, findings: undefined })), findings: summary }, null, 2)}\n`);
console.log(`\n${reports.reduce((a, r) => a + r.cases, 0)} cases, ${found} finding(s)`);
process.exit(found > 0 ? 1 : 0);
