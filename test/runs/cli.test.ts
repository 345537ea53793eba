// train, eval and benchmark record into the run registry; anogen runs list / show / compare
// (tables and --json); --no-registry records nothing; a broken registry only warns.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { runCli } from '../helpers/cli.js';
import { DB_FILE, Registry, SCHEMA_VERSION } from '../../src/runs/registry.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'anogen-runs-cli-'));
const bundle = path.join(tmp, 'ae');
// 64 training images, batch 16: 4 steps per epoch, 2 epochs
const TRAIN = ['train', 'ae', '--data', 'mnist', '--protocol', 'one-vs-rest', '--normal', '1', '--train-limit', '64', '--val-limit', '32', '--epochs', '2', '--batch-size', '16'];
const TINY_AE = ['--image-size', '16', '--nz', '8', '--ngf', '8', '--hidden', '16', '--threads', '1', '--quiet'];
// the dashboard's eval-data (t-SNE, PNGs) is skipped here for time; recording it is tested in record.test.ts
const EVAL = ['--test-limit', '32', '--no-floors', '--no-eval-data', '--threads', '1', '--quiet'];

test.after(() => fs.rmSync(tmp, { recursive: true, force: true }));

test('an empty registry: runs list says so, an unknown id is an error naming it', async () => {
  const l = await runCli('runs', 'list');
  assert.equal(l.code, 0, l.err);
  assert.match(l.out, /no runs yet/);
  const s = await runCli('runs', 'show', '7');
  assert.equal(s.code, 2);
  assert.match(s.err, /anogen runs show: no run 7 in .*anogen\.db; no runs yet/);
});

test('train + eval record runs with steps, epochs, artifacts, an evaluation and the parent link; runs list/show/compare', async () => {
  const t = await runCli(...TRAIN, ...TINY_AE, '--out', bundle);
  assert.equal(t.code, 0, t.err);
  const e = await runCli('eval', bundle, ...EVAL);
  assert.equal(e.code, 0, e.err);
  const reg = Registry.open();
  let trainId: number;
  let evalId: number;
  try {
    const runs = reg.listRuns();
    assert.deepEqual(
      runs.map((r) => [r.kind, r.status]),
      [
        ['eval', 'finished'],
        ['train', 'finished'],
      ],
    );
    const [ev, tr] = runs as [(typeof runs)[0], (typeof runs)[0]];
    trainId = tr.id;
    evalId = ev.id;
    // the train run
    assert.equal(tr.model, 'ae');
    assert.equal(tr.data, 'mnist');
    assert.equal(tr.seed, 0);
    assert.equal(tr.bundle, path.resolve(bundle));
    assert.equal(tr.pid, process.pid);
    assert.equal((tr.protocol as { normalClass?: string }).normalClass, '1');
    assert.equal(tr.options.epochs, 2);
    const steps = reg.steps(tr.id);
    assert.deepEqual(
      steps.map((s) => [s.index, s.epoch, s.step]),
      [1, 2, 3, 4, 5, 6, 7, 8].map((i) => [i, Math.ceil(i / 4), ((i - 1) % 4) + 1]),
    );
    assert.ok(steps.every((s) => Number.isFinite(s.values.rec) && s.t >= 0));
    const epochs = reg.epochs(tr.id);
    assert.equal(epochs.length, 2);
    for (const ep of epochs) {
      const mean = steps.filter((s) => s.epoch === ep.epoch).reduce((a, s) => a + s.values.rec! / 4, 0);
      assert.ok(Math.abs(ep.values.rec! - mean) < 1e-9, `epoch ${ep.epoch}: ${ep.values.rec} vs mean ${mean}`);
    }
    assert.equal(tr.summary['loss.rec'], steps[7]!.values.rec);
    assert.ok(tr.summary.seconds! > 0);
    assert.deepEqual(
      reg.artifacts(tr.id).map((a) => [a.kind, a.path]),
      [['bundle', path.resolve(bundle)]],
    );
    // the eval run
    assert.equal(ev.parentId, tr.id);
    assert.equal(ev.model, 'ae');
    assert.equal(ev.data, 'mnist');
    const results = JSON.parse(fs.readFileSync(path.join(bundle, 'results.json'), 'utf8')) as { metrics: { auroc: number; auprc: number } };
    assert.equal(ev.summary.auroc, results.metrics.auroc);
    assert.equal(ev.summary.auprc, results.metrics.auprc);
    assert.deepEqual(
      reg.artifacts(ev.id).map((a) => [a.kind, a.path]),
      [
        ['results', path.resolve(bundle, 'results.json')],
        ['scores', path.resolve(bundle, 'scores.csv')],
        ['report', path.resolve(bundle, 'report.html')],
      ],
    );
    const evs = reg.evaluations(ev.id);
    assert.equal(evs.length, 1);
    assert.deepEqual(evs[0]!.results, results);
    assert.equal(evs[0]!.dataPath, null, '--no-eval-data');
  } finally {
    reg.close();
  }

  // list: an aligned table with the default metrics, newest first
  const l = await runCli('runs', 'list');
  assert.equal(l.code, 0, l.err);
  const lines = l.out.trimEnd().split('\n');
  assert.match(lines[0]!, /^id\s+kind\s+status\s+model\s+data\s+started\s+time\s+auroc\s+auprc\s+loss\.rec$/);
  assert.match(lines[1]!, new RegExp(`^\\s*${evalId}\\s+eval\\s+finished\\s+ae\\s+mnist`));
  assert.match(lines[2]!, new RegExp(`^\\s*${trainId}\\s+train\\s+finished\\s+ae\\s+mnist`));
  assert.equal(lines[1]!.indexOf('finished'), lines[2]!.indexOf('finished'), 'columns aligned');
  // filters and --json with stable keys
  const j = await runCli('runs', 'list', '--kind', 'train', '--metrics', 'auroc,loss.rec', '--json');
  assert.equal(j.code, 0, j.err);
  const parsed = JSON.parse(j.out) as { metrics: string[]; runs: Record<string, unknown>[] };
  assert.deepEqual(parsed.metrics, ['auroc', 'loss.rec']);
  assert.equal(parsed.runs.length, 1);
  const keys = ['id', 'kind', 'model', 'data', 'protocol', 'options', 'seed', 'status', 'error', 'startedAt', 'finishedAt', 'heartbeatAt', 'pid', 'host'];
  for (const k of [...keys, 'anogenVersion', 'torchVersion', 'nodeVersion', 'bundle', 'parentId', 'summary', 'metrics']) assert.ok(k in parsed.runs[0]!, `key ${k}`);
  const m = parsed.runs[0]!.metrics as Record<string, number | null>;
  assert.ok(typeof m.auroc === 'number', "a train run's auroc comes from its evaluation");
  assert.ok(typeof m['loss.rec'] === 'number');
  assert.equal((await runCli('runs', 'list', '--model', 'vae', '--json')).out.includes('"runs": []'), true);
  assert.match((await runCli('runs', 'list', '--status', 'failed')).out, /no runs match/);
  const bad = await runCli('runs', 'list', '--status', 'done');
  assert.equal(bad.code, 2);
  assert.match(bad.err, /'running', 'finished', 'failed' or 'interrupted'/);
  // show
  const s = await runCli('runs', 'show', String(trainId));
  assert.equal(s.code, 0, s.err);
  assert.match(s.out, /^run\s+\d+ \(train\)$/m);
  assert.match(s.out, /epochs \(mean step losses\)\nepoch\s+rec\n\s+1\s+[\d.]+\n\s+2\s+[\d.]+\n/);
  assert.match(s.out, /steps: 8 recorded/);
  assert.match(s.out, new RegExp(`bundle\\s+${path.resolve(bundle).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
  assert.match(s.out, /runs of this bundle/);
  const sj = JSON.parse((await runCli('runs', 'show', String(evalId), '--json')).out) as Record<string, unknown>;
  assert.deepEqual(Object.keys(sj), ['run', 'metrics', 'epochs', 'steps', 'artifacts', 'evaluations', 'children']);
  assert.equal((sj.run as { parentId: number }).parentId, trainId);
  // compare
  const c = await runCli('runs', 'compare', String(trainId), String(evalId), '--metrics', 'auroc,auprc,seconds');
  assert.equal(c.code, 0, c.err);
  assert.match(c.out, /^id\s+kind\s+status\s+model\s+data\s+started\s+time\s+auroc\s+auprc\s+seconds$/m);
  assert.match(c.out, /options that differ/);
  const cj = JSON.parse((await runCli('runs', 'compare', String(trainId), String(evalId), '--json')).out) as { metrics: string[]; runs: { id: number }[] };
  assert.deepEqual(
    cj.runs.map((r) => r.id),
    [trainId, evalId],
  );
  const u = await runCli('runs', 'compare', String(trainId), '99');
  assert.equal(u.code, 2);
  assert.match(u.err, new RegExp(`no run 99 in .*; runs there: ${Math.min(trainId, evalId)}-${Math.max(trainId, evalId)}`));
  const nan = await runCli('runs', 'show', 'abc');
  assert.equal(nan.code, 2);
  assert.match(nan.err, /"abc" is not a run id/);
  const sub = await runCli('runs', 'lst');
  assert.equal(sub.code, 2);
  assert.match(sub.err, /unknown subcommand "lst".*list, show, compare/);
});

test('--no-registry records nothing; --home chooses the registry', async () => {
  const home = path.join(tmp, 'home-a');
  const e = await runCli('eval', bundle, ...EVAL, '--no-report', '--no-registry', '--home', home);
  assert.equal(e.code, 0, e.err);
  assert.ok(!fs.existsSync(path.join(home, DB_FILE)), 'no database made');
  const e2 = await runCli('eval', bundle, ...EVAL, '--no-report', '--home', home);
  assert.equal(e2.code, 0, e2.err);
  const l = await runCli('runs', 'list', '--home', home, '--json');
  assert.deepEqual(
    (JSON.parse(l.out) as { runs: { kind: string; parentId: number | null }[] }).runs.map((r) => [r.kind, r.parentId]),
    [['eval', null]],
    'a registry without the train run: no parent',
  );
  const help = await runCli('help', 'eval');
  assert.match(help.out, /--home <text>/);
  assert.match(help.out, /--no-registry/);
  assert.match((await runCli('help', 'train', 'ae')).out, /--no-registry/);
  assert.match((await runCli('help', 'benchmark')).out, /--no-registry/);
  assert.match((await runCli('help', 'runs')).out, /anogen runs compare <id> <id>\.\.\./);
});

test('a registry that fails only warns: the run succeeds with one warning line on stderr', async () => {
  const file = path.join(tmp, 'a-file');
  fs.writeFileSync(file, 'not a folder');
  const e = await runCli('eval', bundle, ...EVAL, '--no-report', '--home', file);
  assert.equal(e.code, 0, e.err);
  const warnings = e.err.split('\n').filter((l) => l.includes('warning'));
  assert.equal(warnings.length, 1, e.err);
  assert.match(warnings[0]!, /^anogen: warning: run registry: cannot create the folder .*a-file.*; this run is not recorded/);
  assert.match(e.out, /AUROC/);
  // a newer database: refused by runs (exit 2, naming it), only a warning for eval
  const home = path.join(tmp, 'newer');
  fs.mkdirSync(home);
  const db = new Database(path.join(home, DB_FILE));
  db.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
  db.close();
  const l = await runCli('runs', 'list', '--home', home);
  assert.equal(l.code, 2);
  assert.match(
    l.err,
    new RegExp(`anogen: error: run registry: .*newer\\/anogen\\.db has schema version ${SCHEMA_VERSION + 1}, newer than this anogen .* knows \\(${SCHEMA_VERSION}\\)`),
  );
  const e2 = await runCli('eval', bundle, ...EVAL, '--no-report', '--home', home);
  assert.equal(e2.code, 0, e2.err);
  assert.match(e2.err, /anogen: warning: run registry: .*schema version/);
});
