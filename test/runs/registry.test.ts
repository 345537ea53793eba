// The run registry's database API: runs, steps, epochs, artifacts, evaluations, filters, schema.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { AnogenError } from '../../src/core/errors.js';
import { DB_FILE, MIGRATIONS, Registry, resolveHome, SCHEMA_VERSION } from '../../src/runs/registry.js';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'anogen-reg-'));

test('resolveHome: --home > ANOGEN_HOME > ~/.anogen', () => {
  const saved = process.env.ANOGEN_HOME;
  try {
    process.env.ANOGEN_HOME = '/tmp/from-env';
    assert.equal(resolveHome('rel/dir'), path.resolve('rel/dir'));
    assert.equal(resolveHome(), '/tmp/from-env');
    delete process.env.ANOGEN_HOME;
    assert.equal(resolveHome(), path.join(os.homedir(), '.anogen'));
  } finally {
    if (saved === undefined) delete process.env.ANOGEN_HOME;
    else process.env.ANOGEN_HOME = saved;
  }
});

test('the test runner gives this process a private registry home', () => {
  const home = process.env.ANOGEN_HOME;
  assert.ok(home !== undefined && home.startsWith(os.tmpdir()), `ANOGEN_HOME=${home}`);
  assert.notEqual(resolveHome(), path.join(os.homedir(), '.anogen'));
});

test('runs, steps, epochs, artifacts, evaluations round-trip; WAL; filters; parent by bundle path', () => {
  const home = tmp();
  const reg = Registry.open(home);
  try {
    assert.equal(reg.schemaVersion(), SCHEMA_VERSION);
    const t = reg.startRun({ kind: 'train', model: 'ae', data: 'mnist', protocol: { protocol: 'one-vs-rest' }, options: { epochs: 1 }, seed: 3, bundle: path.join(home, 'b') });
    assert.equal(reg.getRun(t)!.status, 'running');
    reg.addSteps(t, [
      { epoch: 1, step: 1, t: 5, values: { g: 1.5, bad: NaN } },
      { epoch: 1, step: 2, t: 9, values: { g: 1.25 } },
    ]);
    reg.addSteps(t, [{ epoch: 2, step: 1, t: 12, values: { g: 1 } }]);
    assert.deepEqual(
      reg.steps(t).map((s) => [s.index, s.epoch, s.step, s.values.g]),
      [
        [1, 1, 1, 1.5],
        [2, 1, 2, 1.25],
        [3, 2, 1, 1],
      ],
    );
    assert.deepEqual(reg.steps(t, 2).length, 1);
    assert.deepEqual(reg.steps(t)[0]!.values, { g: 1.5 }, 'NaN dropped');
    reg.addEpoch(t, { epoch: 1, values: { g: 1.375 } });
    assert.deepEqual(reg.epochs(t), [{ epoch: 1, values: { g: 1.375 } }]);
    const a = reg.addArtifact(t, 'bundle', path.join(home, 'b'));
    assert.deepEqual(reg.artifact(a), { id: a, runId: t, kind: 'bundle', path: path.join(home, 'b') });
    reg.finishRun(t, 'finished', { summary: { 'loss.g': 1, seconds: 2 } });
    const e = reg.startRun({ kind: 'eval', model: 'ae', data: 'mnist', bundle: path.join(home, 'b') });
    assert.equal(reg.getRun(e)!.parentId, t);
    reg.addEvaluation(e, { bundle: path.join(home, 'b'), results: { metrics: { auroc: 0.9 } }, dataPath: null });
    assert.deepEqual(reg.evaluations(e)[0]!.results, { metrics: { auroc: 0.9 } });
    reg.finishRun(e, 'failed', { error: 'boom' });
    const run = reg.getRun(t)!;
    assert.equal(run.status, 'finished');
    assert.deepEqual(run.summary, { 'loss.g': 1, seconds: 2 });
    assert.deepEqual(run.options, { epochs: 1 });
    assert.equal(run.seed, 3);
    assert.equal(run.pid, process.pid);
    assert.deepEqual(
      reg.listRuns().map((r) => r.id),
      [e, t],
    );
    assert.deepEqual(
      reg.listRuns({ kind: 'train' }).map((r) => r.id),
      [t],
    );
    assert.deepEqual(
      reg.listRuns({ status: 'failed' }).map((r) => r.id),
      [e],
    );
    assert.deepEqual(reg.listRuns({ model: 'vae' }), []);
    assert.equal(reg.listRuns({ limit: 1 }).length, 1);
    assert.equal(reg.getRun(999), null);
    assert.equal(reg.integrityCheck(), 'ok');
  } finally {
    reg.close();
  }
  const db = new Database(path.join(home, DB_FILE), { readonly: true });
  assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
  db.close();
  fs.rmSync(home, { recursive: true, force: true });
});

test('migrations run in order on an empty database; a v1 database migrates', () => {
  const home = tmp();
  const reg = Registry.open(home);
  assert.equal(reg.schemaVersion(), MIGRATIONS.length);
  reg.close();
  // a v1 database made by hand with the v1 DDL, holding one run
  const home1 = tmp();
  const db = new Database(path.join(home1, DB_FILE));
  db.exec(MIGRATIONS[0]!);
  db.pragma('user_version = 1');
  db.prepare(
    "INSERT INTO runs (kind, status, started_at, heartbeat_at, pid, host, anogen_version, torch_version, node_version) VALUES ('train', 'finished', '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z', 1, 'h', '0.0.1', 't', 'n')",
  ).run();
  db.close();
  const r1 = Registry.open(home1);
  try {
    assert.equal(r1.schemaVersion(), SCHEMA_VERSION);
    assert.equal(r1.listRuns()[0]!.status, 'finished');
    assert.equal(r1.integrityCheck(), 'ok');
  } finally {
    r1.close();
  }
  fs.rmSync(home, { recursive: true, force: true });
  fs.rmSync(home1, { recursive: true, force: true });
});

test('a database newer than this anogen is refused, naming the file, both versions and what to do', () => {
  const home = tmp();
  const db = new Database(path.join(home, DB_FILE));
  db.pragma(`user_version = ${SCHEMA_VERSION + 5}`);
  db.close();
  assert.throws(
    () => Registry.open(home),
    (e: Error) => {
      assert.ok(e instanceof AnogenError, String(e));
      assert.match(e.message, new RegExp(path.join(home, DB_FILE).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
      assert.match(e.message, new RegExp(`schema version ${SCHEMA_VERSION + 5}`));
      assert.match(e.message, new RegExp(`knows \\(${SCHEMA_VERSION}\\)`));
      assert.match(e.message, /upgrade anogen|--home/);
      return true;
    },
  );
  fs.rmSync(home, { recursive: true, force: true });
});

test('a home that is a file, and a file that is not a database: AnogenErrors naming them', () => {
  const dir = tmp();
  const f = path.join(dir, 'file');
  fs.writeFileSync(f, 'x');
  assert.throws(
    () => Registry.open(f),
    (e: Error) => e instanceof AnogenError && e.message.includes(f),
  );
  const home = path.join(dir, 'h');
  fs.mkdirSync(home);
  fs.writeFileSync(path.join(home, DB_FILE), 'this is not sqlite '.repeat(100));
  assert.throws(
    () => Registry.open(home),
    (e: Error) => e instanceof AnogenError && e.message.includes(path.join(home, DB_FILE)) && /not an anogen database/.test(e.message),
  );
  fs.rmSync(dir, { recursive: true, force: true });
});

test('stale running runs: dead pid on this host or old heartbeat -> failed; live ones untouched', () => {
  const home = tmp();
  const reg = Registry.open(home);
  const alive = reg.startRun({ kind: 'train' });
  const dead = reg.startRun({ kind: 'train' });
  const old = reg.startRun({ kind: 'eval' });
  reg.close();
  const db = new Database(path.join(home, DB_FILE));
  db.prepare('UPDATE runs SET pid = 2147483646 WHERE id = ?').run(dead);
  db.prepare("UPDATE runs SET heartbeat_at = '2020-01-01T00:00:00.000Z' WHERE id = ?").run(old);
  db.close();
  const r2 = Registry.open(home);
  try {
    assert.equal(r2.getRun(alive)!.status, 'running');
    assert.equal(r2.getRun(dead)!.status, 'failed');
    assert.match(r2.getRun(dead)!.error!, /^no heartbeat since .* \(process 2147483646 gone\)$/);
    assert.equal(r2.getRun(old)!.status, 'failed');
    assert.match(r2.getRun(old)!.error!, /no heartbeat since 2020-01-01T00:00:00.000Z \(process \d+ gone\)/);
    // a live process that heartbeats again after a false alarm is running again
    r2.heartbeat(old);
    assert.equal(r2.getRun(old)!.status, 'running');
    r2.finishRun(alive, 'finished');
    r2.finishRun(old, 'finished');
  } finally {
    r2.close();
  }
  fs.rmSync(home, { recursive: true, force: true });
});
