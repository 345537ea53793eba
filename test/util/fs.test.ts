import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { AnogenError } from '../../src/core/errors.js';
import { removeStaleTemps, setAtomicWriteIo, writeFileAtomic, writeJsonAtomic } from '../../src/util/fs.js';

const made: string[] = [];
process.on('exit', () => {
  for (const d of made) fs.rmSync(d, { recursive: true, force: true });
});
function tempDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'anogen-fs-'));
  made.push(d);
  return d;
}
const temps = (dir: string) => fs.readdirSync(dir).filter((n) => n.endsWith('.tmp'));
const isAnogen = (re: RegExp) => (e: unknown) => {
  assert.ok(e instanceof AnogenError, `expected AnogenError, got ${String(e)}`);
  assert.match((e as Error).message, re);
  return true;
};
const enospc = () => Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', errno: -28, syscall: 'write' });

test('short writes are continued until every byte is on disk', () => {
  const dir = tempDir();
  const f = path.join(dir, 'model.bin');
  const data = Uint8Array.from({ length: 10_000 }, (_, i) => (i * 31) % 251);
  let calls = 0;
  setAtomicWriteIo({
    // at most 7 bytes per call, as a tmpfs or a pipe may do
    writeSync: (fd, buf, off, len) => {
      calls++;
      return fs.writeSync(fd, buf, off, Math.min(len, 7));
    },
  });
  try {
    writeFileAtomic(f, data);
  } finally {
    setAtomicWriteIo(null);
  }
  assert.ok(calls >= Math.ceil(10_000 / 7));
  assert.deepEqual(new Uint8Array(fs.readFileSync(f)), data);
  assert.deepEqual(temps(dir), []);
});

test('ENOSPC mid-write: AnogenError naming the file and the cause, old file intact, no temp left', () => {
  const dir = tempDir();
  const f = path.join(dir, 'runs', 'x', 'model.safetensors');
  writeFileAtomic(f, 'old contents');
  let written = 0;
  setAtomicWriteIo({
    writeSync: (fd, buf, off, len) => {
      if (written >= 100) throw enospc();
      const n = fs.writeSync(fd, buf, off, Math.min(len, 50));
      written += n;
      return n;
    },
  });
  try {
    assert.throws(() => writeFileAtomic(f, new Uint8Array(1000)), isAnogen(/^cannot write .*runs\/x\/model\.safetensors: no space left on device \(ENOSPC\)$/));
  } finally {
    setAtomicWriteIo(null);
  }
  assert.equal(fs.readFileSync(f, 'utf8'), 'old contents');
  assert.deepEqual(temps(path.dirname(f)), []);
});

test('failures of open, fsync, close, rename and a zero-byte write each leave the target untouched', () => {
  const dir = tempDir();
  const f = path.join(dir, 'config.json');
  writeJsonAtomic(f, { v: 1 });
  const before = fs.readFileSync(f, 'utf8');
  const eacces = () => Object.assign(new Error("EACCES: permission denied, open 'x'"), { code: 'EACCES' });
  const eio = () => Object.assign(new Error('EIO: i/o error, fsync'), { code: 'EIO' });
  const cases: [Parameters<typeof setAtomicWriteIo>[0], RegExp][] = [
    [
      {
        openSync: () => {
          throw eacces();
        },
      },
      /permission denied \(EACCES\)/,
    ],
    [
      {
        fsyncSync: () => {
          throw eio();
        },
      },
      /i\/o error \(EIO\)/,
    ],
    [
      {
        closeSync: () => {
          throw eio();
        },
      },
      /i\/o error \(EIO\)/,
    ],
    [
      {
        renameSync: () => {
          throw eacces();
        },
      },
      /permission denied \(EACCES\)/,
    ],
    [{ writeSync: () => 0 }, /wrote 0 bytes at byte 0 of \d+ \(EIO\)/],
  ];
  for (const [hooks, re] of cases) {
    setAtomicWriteIo(hooks);
    try {
      assert.throws(() => writeJsonAtomic(f, { v: 2, pad: 'x'.repeat(100) }), isAnogen(new RegExp(`cannot write ${f.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: .*${re.source}`)));
    } finally {
      setAtomicWriteIo(null);
    }
    assert.equal(fs.readFileSync(f, 'utf8'), before);
    assert.deepEqual(temps(dir), []);
  }
  writeJsonAtomic(f, { v: 3 });
  assert.deepEqual(JSON.parse(fs.readFileSync(f, 'utf8')), { v: 3 });
});

test('a real EACCES (read-only folder) is an AnogenError, not a raw Node error', { skip: process.getuid?.() === 0 ? 'root ignores folder permissions' : false }, () => {
  const dir = tempDir();
  const f = path.join(dir, 'a.txt');
  fs.writeFileSync(f, 'old');
  fs.chmodSync(dir, 0o555);
  try {
    assert.throws(() => writeFileAtomic(f, 'new'), isAnogen(/cannot write .*a\.txt: permission denied \(EACCES\)/));
  } finally {
    fs.chmodSync(dir, 0o755);
  }
  assert.equal(fs.readFileSync(f, 'utf8'), 'old');
});

/** Mounts a 1 MiB tmpfs, or returns null when this process may not mount. */
function smallTmpfs(): string | null {
  if (process.platform !== 'linux' || process.getuid?.() !== 0) return null;
  const dir = tempDir();
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', dir], { stdio: 'ignore', timeout: 10_000 });
  return r.status === 0 ? dir : null;
}
const tmpfs = smallTmpfs();

test('real disk full on a 1 MiB tmpfs: ENOSPC named, old file intact, no temp left', { skip: tmpfs === null ? 'mounting a tmpfs is not permitted here' : false }, () => {
  const dir = tmpfs!;
  try {
    const f = path.join(dir, 'model.safetensors');
    writeFileAtomic(f, 'previous weights');
    assert.throws(() => writeFileAtomic(f, new Uint8Array(3 * 1024 * 1024).fill(7)), isAnogen(/cannot write .*model\.safetensors: no space left on device \(ENOSPC\)/));
    assert.equal(fs.readFileSync(f, 'utf8'), 'previous weights');
    assert.deepEqual(temps(dir), []);
    writeFileAtomic(f, new Uint8Array(200_000).fill(3));
    assert.equal(fs.statSync(f).size, 200_000);
  } finally {
    spawnSync('umount', [dir], { stdio: 'ignore', timeout: 10_000 });
  }
});

test('removeStaleTemps deletes only temp files of dead processes', () => {
  const dir = tempDir();
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  const dead = Number(child.stdout);
  assert.ok(dead > 0);
  const stale = `.model.safetensors.${dead}.1700000000000.tmp`;
  const mine = `.model.safetensors.${process.pid}.1700000000001.tmp`;
  const parent = `.config.json.${process.ppid}.1700000000002.tmp`;
  const others = ['model.safetensors', '.hidden', `.x.${dead}.tmp`, `notes.${dead}.1.tmp`];
  for (const n of [stale, mine, parent, ...others]) fs.writeFileSync(path.join(dir, n), 'x');
  fs.mkdirSync(path.join(dir, `.dir.${dead}.1.tmp`));
  const removed = removeStaleTemps(dir);
  assert.deepEqual(removed, [path.join(dir, stale)]);
  assert.deepEqual(fs.readdirSync(dir).sort(), [mine, parent, `.dir.${dead}.1.tmp`, ...others].sort());
  assert.deepEqual(removeStaleTemps(path.join(dir, 'missing')), []);
});

test('two writes in the same millisecond both land (distinct temp names)', () => {
  const dir = tempDir();
  for (let i = 0; i < 20; i++) writeFileAtomic(path.join(dir, 'a.txt'), String(i));
  assert.equal(fs.readFileSync(path.join(dir, 'a.txt'), 'utf8'), '19');
  assert.deepEqual(temps(dir), []);
});
