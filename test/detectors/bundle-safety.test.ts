// saveBundle never overwrites what anogen did not write, replaces a bundle only when asked,
// keeps one writer per folder, saves extra files with the bundle, checks versions on load and
// removes the litter of killed writers (issue 8, defects 1-5).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AnogenError } from '../../src/core/index.js';
import { BUNDLE_FORMAT_VERSION, checkBundleTarget, createDetector, getDetector, loadBundle, readBundleConfig, readBundleFile, saveBundle } from '../../src/detectors/index.js';
import { ANOGEN_VERSION } from '../../src/detectors/version.js';
import { acquireLock, LOCK_FILE } from '../../src/util/lock.js';

const root = path.resolve(import.meta.dirname, '..', '..');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'anogen-bundle-safety-'));
test.after(() => fs.rmSync(tmp, { recursive: true, force: true }));
const d = createDetector('ganomaly', getDetector('ganomaly').tiny);
test.after(() => d.dispose());

const isAnogen = (re: RegExp) => (e: Error) => e instanceof AnogenError && re.test(e.message);
const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** name -> contents of every file under dir (recursive). */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile())
      out[path.relative(dir, path.join(e.parentPath ?? (e as unknown as { path: string }).path, e.name))] = fs.readFileSync(
        path.join(e.parentPath ?? (e as unknown as { path: string }).path, e.name),
        'latin1',
      );
  }
  return out;
}

function deadPid(): number {
  return Number(spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout.toString());
}

test("a folder that is not an anogen bundle is refused, naming it and some entries; the user's files stay untouched", () => {
  const dir = path.join(tmp, 'user');
  fs.mkdirSync(path.join(dir, 'checkpoint'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'config.json'), '{"lr": 0.1}');
  fs.writeFileSync(path.join(dir, 'model.safetensors'), 'my own weights');
  fs.writeFileSync(path.join(dir, 'history.json'), '[1, 2]');
  fs.writeFileSync(path.join(dir, 'checkpoint', 'epoch1.pt'), 'torch');
  const before = snapshot(dir);
  for (const replace of [false, true]) {
    const re = new RegExp(`cannot save a model bundle into ${esc(dir)}: its config\\.json is not an anogen bundle's .*choose a new or empty folder`);
    assert.throws(() => saveBundle(dir, d, {}, { replace }), isAnogen(re));
    assert.throws(() => checkBundleTarget(dir, { replace }), isAnogen(re));
  }
  assert.deepEqual(snapshot(dir), before);
  const other = path.join(tmp, 'other');
  fs.mkdirSync(path.join(other, 'notes'), { recursive: true });
  for (const f of ['data.csv', 'a.txt', 'b.txt', 'c.txt', 'd.txt']) fs.writeFileSync(path.join(other, f), f);
  assert.throws(
    () => saveBundle(other, d, {}, { replace: true }),
    isAnogen(new RegExp(`${esc(other)}: it is not empty and is not an anogen bundle \\(it holds a\\.txt, b\\.txt, c\\.txt, d\\.txt and 2 more\\)`)),
  );
  assert.deepEqual(fs.readdirSync(other).sort(), ['a.txt', 'b.txt', 'c.txt', 'd.txt', 'data.csv', 'notes']);
});

test('replacing a bundle needs replace (--force); it keeps files anogen did not write and drops the old extra files', () => {
  const dir = path.join(tmp, 'replace');
  saveBundle(dir, d, {}, { files: { 'train-state.json': '{"epoch": 1}', 'old.bin': new Uint8Array([1, 2]) } });
  fs.writeFileSync(path.join(dir, 'notes.txt'), 'mine');
  const cfg = readBundleConfig(dir);
  const re = new RegExp(`^${esc(dir)} already holds an anogen bundle \\(ganomaly, saved ${esc(cfg.created)}\\); pass --force to replace it$`);
  assert.throws(() => saveBundle(dir, d), isAnogen(re));
  assert.throws(() => checkBundleTarget(dir), isAnogen(re));
  checkBundleTarget(dir, { replace: true });
  const c2 = saveBundle(dir, d, { training: { epoch: 2 } }, { replace: true, files: { 'train-state.json': '{"epoch": 2}' } });
  assert.deepEqual(fs.readdirSync(dir).sort(), ['config.json', 'model.safetensors', 'notes.txt', 'train-state.json']);
  assert.deepEqual(Object.keys(c2.files!), ['train-state.json']);
  assert.equal(Buffer.from(readBundleFile(dir, 'train-state.json')!).toString(), '{"epoch": 2}');
  assert.equal(readBundleFile(dir, 'old.bin'), null);
  saveBundle(dir, d, {}, { replace: true });
  assert.deepEqual(fs.readdirSync(dir).sort(), ['config.json', 'model.safetensors', 'notes.txt']);
  loadBundle(dir).detector.dispose();
});

test('checkBundleTarget: new, empty, a file, under a file, a run folder holding only its checkpoint', () => {
  checkBundleTarget(path.join(tmp, 'new', 'deeper'));
  assert.ok(!fs.existsSync(path.join(tmp, 'new')), 'checking writes nothing');
  const empty = fs.mkdtempSync(path.join(tmp, 'empty-'));
  checkBundleTarget(empty);
  saveBundle(empty, d); // an existing empty folder is fine
  const file = path.join(tmp, 'a-file');
  fs.writeFileSync(file, 'x');
  assert.throws(() => checkBundleTarget(file), isAnogen(new RegExp(`cannot save a model bundle into ${esc(file)}: it is a file, not a folder`)));
  assert.throws(() => saveBundle(file, d, {}, { replace: true }), isAnogen(/it is a file, not a folder/));
  assert.throws(() => checkBundleTarget(path.join(file, 'sub')), isAnogen(new RegExp(`cannot create the folder .*${esc(file)} is a file, not a folder`)));
  if (process.getuid?.() !== 0) {
    const ro = path.join(tmp, 'readonly');
    fs.mkdirSync(ro, { mode: 0o555 });
    assert.throws(() => checkBundleTarget(path.join(ro, 'run')), isAnogen(/cannot create the folder .* no permission to write in/));
  }
  // `anogen train --out run` keeps run/checkpoint while training: the final save goes next to
  // it, but starting another run over it needs --force.
  const run = path.join(tmp, 'run');
  saveBundle(path.join(run, 'checkpoint'), d);
  assert.throws(() => checkBundleTarget(run), isAnogen(/holds the checkpoint of an earlier, unfinished anogen run .*pass --force to replace it/));
  checkBundleTarget(run, { replace: true });
  saveBundle(run, d);
  loadBundle(run).detector.dispose();
});

test('extra files: saved with the bundle, read back checked, names validated before anything is written', () => {
  const dir = path.join(tmp, 'extras');
  const bin = new Uint8Array([0, 1, 2, 255]);
  const cfg = saveBundle(dir, d, {}, { files: { 'train-state.safetensors': bin, 'train-state.json': '{"step": 3}' } });
  assert.equal(cfg.files!['train-state.safetensors'].bytes, 4);
  assert.deepEqual(readBundleFile(dir, 'train-state.safetensors'), bin);
  assert.equal(Buffer.from(readBundleFile(dir, 'train-state.json')!).toString(), '{"step": 3}');
  assert.equal(readBundleFile(dir, 'absent.json'), null);
  assert.equal(readBundleFile(dir, 'constructor'), null);
  fs.writeFileSync(path.join(dir, 'train-state.json'), '{"step": 4}');
  assert.throws(() => readBundleFile(dir, 'train-state.json'), isAnogen(/train-state\.json: the file is corrupt or was replaced \(SHA-256/));
  for (const bad of ['../x', 'a/b', 'x.1.2.tmp', 'a\\b', '.hidden', '', 'config.json', 'model.safetensors', 'checkpoint']) {
    const where = path.join(tmp, 'never');
    assert.throws(() => saveBundle(where, d, {}, { files: { [bad]: 'x' } }), isAnogen(/extra bundle file name .* is (not valid|reserved)/), bad);
    assert.ok(!fs.existsSync(where));
    assert.throws(() => readBundleFile(dir, bad), isAnogen(/extra bundle file name/), bad);
  }
  assert.throws(
    () => saveBundle(path.join(tmp, 'never'), d, {}, { files: { 'a.bin': 3 as unknown as string } }),
    isAnogen(/extra file a\.bin must be a Uint8Array or a string, got number/),
  );
});

test('formatVersion must be an integer in [2, current]; a bundle of a newer anogen names both versions', () => {
  const dir = path.join(tmp, 'versions');
  saveBundle(dir, d);
  const file = path.join(dir, 'config.json');
  const good = JSON.parse(fs.readFileSync(file, 'utf8'));
  const write = (patch: object) => fs.writeFileSync(file, JSON.stringify({ ...good, ...patch }));
  for (const fv of ['2', -1, 0, 1, 1.5, null]) {
    write({ formatVersion: fv });
    assert.throws(
      () => readBundleConfig(dir),
      isAnogen(new RegExp(`"formatVersion" ${esc(JSON.stringify(fv))} is not valid; expected an integer from 2 to ${BUNDLE_FORMAT_VERSION}`)),
      String(fv),
    );
  }
  write({ formatVersion: BUNDLE_FORMAT_VERSION + 1 });
  assert.throws(() => loadBundle(dir), isAnogen(/format version 3 is not supported by anogen/));
  const [ma, mi, pa] = ANOGEN_VERSION.split('.').map(Number);
  for (const newer of [`${ma + 1}.0.0`, `${ma}.${mi + 1}.0`, `${ma}.${mi}.${pa + 1}`]) {
    write({ anogenVersion: newer });
    assert.throws(() => loadBundle(dir), isAnogen(new RegExp(`written by anogen ${esc(newer)}, which is newer than this anogen ${esc(ANOGEN_VERSION)}; upgrade anogen`)), newer);
  }
  for (const bad of [42, 'latest', undefined]) {
    write({ anogenVersion: bad });
    assert.throws(() => readBundleConfig(dir), isAnogen(/"anogenVersion" .* is not valid; expected a version like/));
  }
  for (const ok of ['0.0.1', ANOGEN_VERSION, `${ANOGEN_VERSION}-rc.1`]) {
    write({ anogenVersion: ok });
    assert.equal(readBundleConfig(dir).anogenVersion, ok);
  }
});

test("the next save removes killed writers' temp files (dead pids only) and takes over their lock; others' files stay", () => {
  const dir = path.join(tmp, 'litter');
  saveBundle(dir, d);
  const dead = deadPid();
  const litter = [`.model.safetensors.${dead}.1700000000000.tmp`, `.config.json.${dead}.1700000000001.tmp`, `.anogen-stage.${dead}.1700000000000.model.safetensors`];
  const kept = [`.config.json.${process.pid}.1700000000002.tmp`, '.model.safetensors.bak', 'notes.1.2.tmp'];
  for (const n of [...litter, ...kept]) fs.writeFileSync(path.join(dir, n), 'x');
  fs.writeFileSync(path.join(dir, LOCK_FILE), JSON.stringify({ pid: dead, host: os.hostname(), started: 'x', what: 'anogen train' }));
  saveBundle(dir, d, {}, { replace: true });
  assert.deepEqual(fs.readdirSync(dir).sort(), ['config.json', 'model.safetensors', ...kept].sort());
});

test('one writer per folder: a save while another process holds the lock fails at once naming it; a caller holding the lock passes it', async () => {
  const dir = path.join(tmp, 'locked');
  saveBundle(dir, d);
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'test', 'helpers', 'lock-holder.ts'), dir, 'anogen train', '60000'], { cwd: root });
  const held = await new Promise<{ ok: boolean; pid: number }>((resolve) => {
    let out = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      if (out.includes('\n')) resolve(JSON.parse(out.split('\n')[0]));
    });
  });
  try {
    assert.ok(held.ok);
    const before = snapshot(dir);
    const re = new RegExp(`^${esc(dir)} is in use by anogen train \\(pid ${held.pid}, started [^)]+\\); wait for it or choose another --out$`);
    assert.throws(() => saveBundle(dir, d, {}, { replace: true }), isAnogen(re));
    assert.throws(() => checkBundleTarget(dir, { replace: true }), isAnogen(re));
    assert.deepEqual(snapshot(dir), before);
  } finally {
    child.kill('SIGKILL');
    await new Promise((r) => child.on('close', r));
  }
  // the killed holder's lock is stale: taken over
  const lock = acquireLock(dir, 'anogen train');
  try {
    assert.throws(() => saveBundle(dir, d, {}, { replace: true }), isAnogen(/is in use by this process \(anogen train/));
    saveBundle(dir, d, {}, { replace: true, lock });
    saveBundle(dir, d, {}, { replace: true, lock });
    checkBundleTarget(dir, { replace: true, lock });
    assert.ok(lock.held && fs.existsSync(lock.file), 'saveBundle leaves a passed lock held');
    const elsewhere = path.join(tmp, 'elsewhere');
    assert.throws(() => saveBundle(elsewhere, d, {}, { lock }), isAnogen(/locks another folder/));
  } finally {
    lock();
  }
  assert.throws(() => saveBundle(dir, d, {}, { replace: true, lock }), isAnogen(/already released/));
  assert.ok(!fs.existsSync(path.join(dir, LOCK_FILE)));
});

test('bundles written before versions and extra files (config names model.safetensors, no files) still load', () => {
  const dir = path.join(tmp, 'legacy');
  saveBundle(dir, d);
  const cfg = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
  assert.equal(cfg.weights.file, 'model.safetensors');
  assert.equal(cfg.files, undefined);
  const b = loadBundle(dir);
  assert.equal(b.config.detector, 'ganomaly');
  b.detector.dispose();
});
