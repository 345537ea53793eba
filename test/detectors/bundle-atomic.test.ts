// A bundle changes as a whole: saveBundle killed (SIGKILL) at any instant leaves exactly the
// previous bundle or exactly the new one, with its extra files; the next save finishes or
// discards the interrupted one and removes the litter (issue 8, defects 1 and 5).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createDetector, getDetector, loadBundle, readBundleFile, saveBundle } from '../../src/detectors/index.js';
import { noGrad } from '../../src/core/index.js';
import { versionFiles } from '../helpers/bundle-writer.js';

const root = path.resolve(import.meta.dirname, '..', '..');
const writer = path.join(root, 'test', 'helpers', 'bundle-writer.ts');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'anogen-bundle-atomic-'));
test.after(() => fs.rmSync(tmp, { recursive: true, force: true }));

interface Run {
  saved: number[];
  signal: NodeJS.Signals | null;
  code: number | null;
  err: string;
}

/** Runs the writer child; `killAfterMs` (from its "ready") SIGKILLs it. */
function runWriter(dir: string, start: number, count: number, opts: { crashStep?: number; killAfterMs?: number } = {}): Promise<Run> {
  const args = ['--import', 'tsx', writer, dir, String(start), String(count), ...(opts.crashStep !== undefined ? [String(opts.crashStep)] : [])];
  const child = spawn(process.execPath, args, { cwd: root, env: { ...process.env, ANOGEN_NUM_THREADS: '1' } });
  let out = '';
  let err = '';
  let timer: NodeJS.Timeout | undefined;
  child.stdout.on('data', (c: Buffer) => {
    const before = out;
    out += c.toString();
    if (opts.killAfterMs !== undefined && !before.includes('ready\n') && out.includes('ready\n')) {
      timer = setTimeout(() => child.kill('SIGKILL'), opts.killAfterMs);
    }
  });
  child.stderr.on('data', (c: Buffer) => (err += c.toString()));
  return new Promise((resolve) =>
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const saved = [...out.matchAll(/^saved (\d+)$/gm)].map((m) => Number(m[1]));
      resolve({ saved, signal, code, err });
    }),
  );
}

/** Loads the bundle and checks that every part of it is version k's; returns k. */
function loadedVersion(dir: string): number {
  const b = loadBundle(dir); // checks the weights' SHA-256 against config.json
  const k = (b.config.training as { k: number }).k;
  const first = b.detector.stateDict().values().next().value!;
  assert.equal(first.min().item(), k, `weights are version ${k}'s`);
  assert.equal(first.max().item(), k, `weights are version ${k}'s`);
  b.detector.dispose();
  assert.deepEqual(Object.keys(b.config.files ?? {}).sort(), Object.keys(versionFiles(k)).sort());
  for (const [name, want] of Object.entries(versionFiles(k))) {
    const got = readBundleFile(dir, name);
    assert.ok(got !== null, `${name} of version ${k}`);
    assert.deepEqual(Buffer.from(got), Buffer.from(want));
  }
  return k;
}

/** The folder holds exactly version k's files and nothing of anogen's machinery. */
function assertClean(dir: string, k: number): void {
  assert.deepEqual(fs.readdirSync(dir).sort(), ['config.json', 'model.safetensors', ...Object.keys(versionFiles(k))].sort());
}

const d = createDetector('ganomaly', getDetector('ganomaly').tiny);
const firstWeight = d.stateDict().values().next().value!;
test.after(() => d.dispose());

/** A clean save of version k from this process (it also finishes what a killed writer left). */
function saveVersion(dir: string, k: number): void {
  noGrad(() => firstWeight.fill_(k));
  saveBundle(dir, d, { training: { k } }, { replace: true, files: versionFiles(k) });
}

test('killed at every step of a save (stage, journal, each rename, removal): the old or the new bundle, whole; the next save cleans up', async () => {
  const dir = path.join(tmp, 'steps');
  saveVersion(dir, 1);
  // A save of version k with two extra files: 4 staged files, the journal, 4 renames, 1 removal
  // (extra-<k-1 % 2>.bin of the previous version), done: 11 steps.
  const steps = 11;
  let k = 1;
  for (let step = 0; step < steps; step++) {
    const r = await runWriter(dir, k + 1, 1, { crashStep: step });
    assert.equal(r.signal, 'SIGKILL', `step ${step}: the writer was not killed (code ${r.code}): ${r.err}`);
    const got = loadedVersion(dir);
    // Before the journal (steps 0-3: staging) the old version stands; from it on, the new one.
    assert.equal(got, step < 4 ? k : k + 1, `killed after step ${step}`);
    const litter = fs.readdirSync(dir).filter((n) => n.startsWith('.'));
    if (step < steps - 1) assert.ok(litter.length > 0, `step ${step}: the kill left no trace`);
    k = got + 1;
    saveVersion(dir, k); // rolls forward or discards the interrupted save, takes over the stale lock
    assert.equal(loadedVersion(dir), k);
    assertClean(dir, k);
  }
});

test('8 SIGKILLs at random instants of back-to-back saves: the bundle always loads as one whole version', async () => {
  const dir = path.join(tmp, 'random');
  saveVersion(dir, 0);
  let k = 0;
  let killedMidway = 0;
  for (let i = 0; i < 8; i++) {
    const r = await runWriter(dir, k + 1, 1_000_000, { killAfterMs: Math.floor(Math.random() * 120) });
    assert.equal(r.signal, 'SIGKILL', r.err);
    const last = r.saved.length > 0 ? r.saved[r.saved.length - 1] : k;
    const got = loadedVersion(dir);
    // the last version reported saved, or the one after it (committed, not yet reported)
    assert.ok(got === last || got === last + 1, `kill ${i}: loaded version ${got}, last reported ${last}`);
    if (fs.readdirSync(dir).some((n) => n.startsWith('.anogen-'))) killedMidway++;
    k = got;
  }
  assert.ok(killedMidway > 0, 'no kill landed inside a save');
  saveVersion(dir, k + 1);
  assertClean(dir, k + 1);
});
