// Folder locks: one writer at a time, a clear message for the second, stale locks taken over
// (issue 8, defect 3).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AnogenError } from '../../src/core/errors.js';
import { acquireLock, assertHolds, assertNotLocked, lockHolder, LOCK_FILE, LOCK_TAKEOVER_FILE } from '../../src/util/lock.js';

const root = path.resolve(import.meta.dirname, '..', '..');
const holder = path.join(root, 'test', 'helpers', 'lock-holder.ts');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'anogen-lock-'));
test.after(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** The id of a process that has exited. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
  return Number(r.stdout.toString());
}

const inUse = (re: RegExp) => (e: Error) => e instanceof AnogenError && re.test(e.message);

test('acquire, refuse a second acquirer at once (naming holder, pid and start), release, acquire again', () => {
  const dir = path.join(tmp, 'a', 'run');
  const release = acquireLock(dir, 'anogen train');
  assert.ok(release.held);
  const info = JSON.parse(fs.readFileSync(path.join(dir, LOCK_FILE), 'utf8'));
  assert.deepEqual(Object.keys(info).sort(), ['host', 'pid', 'started', 'what']);
  assert.equal(info.pid, process.pid);
  assert.equal(info.host, os.hostname());
  assert.equal(info.what, 'anogen train');
  assert.deepEqual(lockHolder(dir), info);
  assert.throws(
    () => acquireLock(dir, 'anogen train'),
    inUse(
      new RegExp(
        `^${dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is in use by this process \\(anogen train, pid ${process.pid}, started ${info.started}\\); wait for it or choose another --out \\(code that holds this lock passes it on`,
      ),
    ),
  );
  assert.throws(() => assertNotLocked(dir), inUse(/is in use by/));
  assertNotLocked(dir, release);
  assertHolds(release, dir);
  assert.throws(() => assertHolds(release, tmp), inUse(/locks another folder/));
  release();
  assert.ok(!release.held);
  assert.ok(!fs.existsSync(path.join(dir, LOCK_FILE)));
  release(); // twice: harmless
  assert.throws(() => assertHolds(release, dir), inUse(/already released/));
  assert.equal(lockHolder(dir), null);
  const again = acquireLock(dir, 'anogen eval');
  again.release();
});

test('a stale lock (dead pid, this host) is taken over; one from another host or being written is not', () => {
  const dir = path.join(tmp, 'stale');
  fs.mkdirSync(dir);
  const file = path.join(dir, LOCK_FILE);
  const dead = deadPid();
  fs.writeFileSync(file, JSON.stringify({ pid: dead, host: os.hostname(), started: '2020-01-01T00:00:00.000Z', what: 'anogen train' }));
  assert.equal(lockHolder(dir), null);
  assertNotLocked(dir);
  const l = acquireLock(dir, 'anogen train');
  assert.equal(JSON.parse(fs.readFileSync(file, 'utf8')).pid, process.pid);
  assert.ok(!fs.existsSync(path.join(dir, LOCK_TAKEOVER_FILE)));
  l();
  // another host: cannot be checked, never taken over; the message says which file to delete
  fs.writeFileSync(file, JSON.stringify({ pid: dead, host: 'elsewhere.example', started: 'x', what: 'anogen train' }));
  assert.throws(() => acquireLock(dir, 'anogen train'), inUse(/in use by anogen train on host elsewhere\.example \(pid \d+, started x\).*delete .*\.anogen\.lock/));
  // being written (empty, fresh): in use; the same left for long: stale
  fs.writeFileSync(file, '');
  assert.throws(() => acquireLock(dir, 'anogen train'), inUse(/in use by another anogen process \(its lock file .* is being written\)/));
  const old = new Date(Date.now() - 60_000);
  fs.utimesSync(file, old, old);
  acquireLock(dir, 'anogen train').release();
  // a takeover guard left by a killed taker is stale too
  fs.writeFileSync(file, JSON.stringify({ pid: dead, host: os.hostname(), started: 'x', what: 'anogen train' }));
  fs.writeFileSync(path.join(dir, LOCK_TAKEOVER_FILE), JSON.stringify({ pid: dead, host: os.hostname(), started: 'x' }));
  acquireLock(dir, 'anogen train').release();
  assert.deepEqual(fs.readdirSync(dir), []);
});

test('releasing never deletes a lock that another process took over', () => {
  const dir = path.join(tmp, 'lost');
  const l = acquireLock(dir, 'anogen train');
  const other = JSON.stringify({ pid: process.pid, host: os.hostname(), started: 'later', what: 'another' });
  fs.writeFileSync(path.join(dir, LOCK_FILE), other);
  assert.throws(() => assertHolds(l, dir), inUse(/lock on .* was lost/));
  l();
  assert.equal(fs.readFileSync(path.join(dir, LOCK_FILE), 'utf8'), other);
});

interface Held {
  ok: boolean;
  pid: number;
  error?: string;
  name?: string;
}

function startHolder(dir: string, what: string, holdMs: number): { first: Promise<Held>; exit: Promise<number | null>; kill(): void } {
  const child = spawn(process.execPath, ['--import', 'tsx', holder, dir, what, String(holdMs)], { cwd: root });
  let out = '';
  let err = '';
  child.stderr.on('data', (c: Buffer) => (err += c.toString()));
  const first = new Promise<Held>((resolve, reject) => {
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      if (out.includes('\n')) resolve(JSON.parse(out.split('\n')[0]) as Held);
    });
    child.on('close', () => (out.includes('\n') ? undefined : reject(new Error(`holder printed nothing: ${err}`))));
  });
  const exit = new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
  return { first, exit, kill: () => child.kill('SIGKILL') };
}

test('two processes at once: exactly one holds the lock, the other is told who; a SIGKILLed holder is taken over', async () => {
  const dir = path.join(tmp, 'race');
  fs.mkdirSync(dir);
  const a = startHolder(dir, 'anogen train', 4000);
  const b = startHolder(dir, 'anogen train', 4000);
  const [ra, rb] = await Promise.all([a.first, b.first]);
  const winners = [ra, rb].filter((r) => r.ok);
  assert.equal(winners.length, 1, JSON.stringify([ra, rb]));
  const loser = ra.ok ? rb : ra;
  assert.equal(loser.name, 'AnogenError');
  assert.match(loser.error!, new RegExp(`is in use by anogen train \\(pid ${winners[0].pid}, started [0-9T:.-]+Z\\); wait for it or choose another --out`));
  // this process too is refused while the winner lives
  assert.throws(() => acquireLock(dir, 'anogen train'), inUse(new RegExp(`pid ${winners[0].pid}`)));
  (ra.ok ? a : b).kill();
  await Promise.all([a.exit, b.exit]);
  assert.ok(fs.existsSync(path.join(dir, LOCK_FILE)), 'the killed holder left its lock');
  const l = acquireLock(dir, 'anogen train');
  l();
});
