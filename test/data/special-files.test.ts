// Non-regular files and symlinks (issue 8): a FIFO named x.png must not block forever, and
// dataset listings follow symlinks the way reading one file does.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { AnogenError } from '../../src/core/errors.js';
import { decodeImage, imageHeader, readRegularFile } from '../../src/data/image.js';
import { openFolder, openLabelledFolder, openNormalAbnormal } from '../../src/data/folder.js';
import { tempDir, writePng } from './helpers.js';

const isAnogen = (re: RegExp) => (e: unknown) => {
  assert.ok(e instanceof AnogenError, `expected AnogenError, got ${String(e)}`);
  assert.match((e as Error).message, re);
  return true;
};
const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

function mkfifo(p: string): boolean {
  return spawnSync('mkfifo', [p], { stdio: 'ignore' }).status === 0;
}

/** Rejects when `p` takes longer than `ms` (a hang shows as a failure, not a stuck suite). */
async function within<T>(ms: number, p: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, rej) => {
    timer = setTimeout(() => rej(new Error(`${what} did not finish within ${ms} ms (blocked?)`)), ms);
  });
  try {
    return await Promise.race([p, t]);
  } finally {
    clearTimeout(timer);
  }
}

/** Unblocks a reader stuck in open() or read() on `fifo` (only matters when the code under test is wrong). */
function releaseFifo(fifo: string): void {
  try {
    fs.closeSync(fs.openSync(fifo, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK));
  } catch {
    // no reader waiting
  }
}

const canFifo = process.platform !== 'win32';

test('decodeImage, imageHeader and readRegularFile refuse a FIFO named x.png instead of blocking', { skip: !canFifo }, async () => {
  const dir = tempDir();
  const fifo = path.join(dir, 'x.png');
  assert.ok(mkfifo(fifo), 'mkfifo failed');
  try {
    const re = new RegExp(`^${esc(fifo)}: cannot read image: it is a FIFO \\(named pipe\\); expected a regular file$`);
    await assert.rejects(within(5000, decodeImage(fifo), 'decodeImage(FIFO)'), isAnogen(re));
    await assert.rejects(within(5000, imageHeader(fifo), 'imageHeader(FIFO)'), isAnogen(re));
    await assert.rejects(within(5000, readRegularFile(fifo, 'mask'), 'readRegularFile(FIFO)'), isAnogen(/cannot read mask: it is a FIFO/));
    // a symlink to the FIFO is followed and refused the same way
    fs.symlinkSync(fifo, path.join(dir, 'link.png'));
    await assert.rejects(within(5000, decodeImage(path.join(dir, 'link.png')), 'decodeImage(link to FIFO)'), isAnogen(/link\.png: cannot read image: it is a FIFO/));
  } finally {
    releaseFifo(fifo);
  }
});

test('a socket, a character device and a directory named like images are refused', { skip: !canFifo }, async () => {
  const dir = tempDir();
  const sock = path.join(dir, 's.png');
  const server = net.createServer();
  await new Promise<void>((res) => server.listen(sock, res));
  try {
    await assert.rejects(within(5000, decodeImage(sock), 'decodeImage(socket)'), isAnogen(/s\.png: cannot read image: it is a socket; expected a regular file/));
  } finally {
    server.close();
  }
  fs.symlinkSync('/dev/zero', path.join(dir, 'zero.png'));
  await assert.rejects(within(5000, decodeImage(path.join(dir, 'zero.png')), 'decodeImage(/dev/zero)'), isAnogen(/zero\.png: cannot read image: it is a character device/));
  fs.mkdirSync(path.join(dir, 'd.png'));
  await assert.rejects(decodeImage(path.join(dir, 'd.png')), isAnogen(/d\.png: cannot read image: it is a directory/));
  await assert.rejects(decodeImage(path.join(dir, 'missing.png')), isAnogen(/missing\.png: cannot read image: no such file or directory \(ENOENT\)/));
});

test('listing a folder with a FIFO named x.png is an AnogenError, not a hang or a silent skip', { skip: !canFifo }, async () => {
  const root = tempDir();
  const normal = path.join(root, 'normal');
  const abnormal = path.join(root, 'abnormal');
  fs.mkdirSync(normal);
  fs.mkdirSync(abnormal);
  await writePng(path.join(normal, 'a.png'), 4, 4, 1, 1);
  await writePng(path.join(abnormal, 'b.png'), 4, 4, 1, 2);
  assert.ok(mkfifo(path.join(normal, 'x.png')));
  try {
    assert.throws(() => openNormalAbnormal({ normal, abnormal }), isAnogen(new RegExp(`${esc(path.join(normal, 'x.png'))}: cannot read image: it is a FIFO`)));
  } finally {
    releaseFifo(path.join(normal, 'x.png'));
  }
});

test('symlinked images and folders are listed like files (30 files, 20 of them symlinks, count 30)', async () => {
  const root = tempDir();
  const store = path.join(root, 'store');
  fs.mkdirSync(store);
  const normal = path.join(root, 'normal');
  fs.mkdirSync(normal);
  for (let i = 0; i < 30; i++) {
    const name = `img${String(i).padStart(2, '0')}.png`;
    if (i < 10) await writePng(path.join(normal, name), 4, 4, 1, i);
    else {
      await writePng(path.join(store, name), 4, 4, 1, i);
      // half absolute, half relative links
      fs.symlinkSync(i % 2 ? path.join(store, name) : path.join('..', 'store', name), path.join(normal, name));
    }
  }
  // an all-symlink folder is not "empty"
  const abnormal = path.join(root, 'abnormal');
  fs.mkdirSync(abnormal);
  for (let i = 10; i < 13; i++) fs.symlinkSync(path.join(store, `img${i}.png`), path.join(abnormal, `a${i}.png`));
  const ds = openNormalAbnormal({ normal, abnormal });
  assert.equal(ds.count('normal'), 30);
  assert.equal(ds.count('abnormal'), 3);
  const linked = await ds.loadItem('normal', 15);
  const direct = await decodeImage(path.join(store, 'img15.png'));
  assert.deepEqual(linked.image.data, direct.data);

  // a symlinked class folder (labelled form) and a symlinked test/<defect> folder (MVTec form)
  const lab = path.join(root, 'labelled');
  fs.mkdirSync(lab);
  fs.symlinkSync(normal, path.join(lab, 'good'));
  fs.symlinkSync(abnormal, path.join(lab, 'scratch'));
  const l = openLabelledFolder(lab);
  assert.deepEqual(l.classes, ['good', 'scratch']);
  assert.equal(l.count('validation'), 33);
  const mv = path.join(root, 'mvtec');
  fs.mkdirSync(path.join(mv, 'train'), { recursive: true });
  fs.mkdirSync(path.join(mv, 'test'));
  fs.symlinkSync(normal, path.join(mv, 'train', 'good'));
  fs.symlinkSync(abnormal, path.join(mv, 'test', 'crack'));
  fs.symlinkSync(store, path.join(mv, 'test', 'good'));
  const m = openFolder(mv);
  assert.equal(m.count('train'), 30);
  assert.equal(m.count('test'), 23);
  assert.deepEqual(m.classes, ['good', 'crack']);
});

test('symlink loops and broken symlinks are reported by name, when listing and when reading', async () => {
  const root = tempDir();
  const normal = path.join(root, 'normal');
  const abnormal = path.join(root, 'abnormal');
  fs.mkdirSync(normal);
  fs.mkdirSync(abnormal);
  await writePng(path.join(normal, 'a.png'), 4, 4, 1, 1);
  await writePng(path.join(abnormal, 'b.png'), 4, 4, 1, 2);
  const loop = path.join(normal, 'loop.png');
  fs.symlinkSync('loop.png', loop);
  assert.throws(() => openNormalAbnormal({ normal, abnormal }), isAnogen(new RegExp(`^${esc(loop)}: symlink loop \\(ELOOP\\)`)));
  await assert.rejects(decodeImage(loop), isAnogen(new RegExp(`^${esc(loop)}: cannot read image: symlink loop \\(ELOOP\\)`)));
  fs.rmSync(loop);
  const broken = path.join(normal, 'gone.png');
  fs.symlinkSync(path.join(root, 'nowhere.png'), broken);
  assert.throws(() => openNormalAbnormal({ normal, abnormal }), isAnogen(new RegExp(`^${esc(broken)}: broken symlink: its target .*nowhere\\.png does not exist`)));
  fs.rmSync(broken);
  // a looping folder link among class folders, and a looping dataset root
  const lab = path.join(root, 'lab');
  fs.mkdirSync(lab);
  fs.symlinkSync(normal, path.join(lab, 'good'));
  fs.symlinkSync('a', path.join(lab, 'b'));
  fs.symlinkSync('b', path.join(lab, 'a'));
  assert.throws(() => openLabelledFolder(lab), isAnogen(/lab\/[ab]: symlink loop \(ELOOP\)/));
  const selfRoot = path.join(root, 'self');
  fs.symlinkSync('self', selfRoot);
  assert.throws(() => openFolder(selfRoot), isAnogen(/self: symlink loop \(ELOOP\)/));
});
