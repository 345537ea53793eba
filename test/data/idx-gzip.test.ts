// Bounded gzip decompression of IDX files (issue 8): a 9 MB file used to inflate to 4.4 GB
// before its error; now the IDX header bounds the output.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { spawnSync } from 'node:child_process';
import { AnogenError } from '../../src/core/errors.js';
import { readIdx } from '../../src/data/idx.js';
import { idxBytes, tempDir } from './helpers.js';

const isAnogen = (re: RegExp) => (e: unknown) => {
  assert.ok(e instanceof AnogenError, `expected AnogenError, got ${String(e)}`);
  assert.match((e as Error).message, re);
  return true;
};

/** The 16-byte IDX header of a uint8 [n, h, w] array. */
function header(n: number, h: number, w: number): Buffer {
  const b = Buffer.alloc(16);
  b[2] = 0x08;
  b[3] = 3;
  b.writeUInt32BE(n, 4);
  b.writeUInt32BE(h, 8);
  b.writeUInt32BE(w, 12);
  return b;
}

/** A gzip member with the FEXTRA and FNAME fields set (as some tools and the MNIST originals write). */
function withExtraFields(gz: Buffer, extra: number, name: string): Buffer {
  const out = Buffer.from(gz);
  out[3] |= 0x04 | 0x08;
  const xlen = Buffer.alloc(2);
  xlen.writeUInt16LE(extra);
  return Buffer.concat([out.subarray(0, 10), xlen, Buffer.alloc(extra, 0x41), Buffer.from(`${name}\0`, 'latin1'), out.subarray(10)]);
}

test('a gzip bomb (header 1x28x28 then 4 GiB of zeros in 4 MB) stops after the declared 800 bytes', () => {
  const dir = tempDir();
  const f = path.join(dir, 'bomb-idx3-ubyte.gz');
  const mib = zlib.gzipSync(Buffer.alloc(1024 * 1024), { level: 9 });
  const members = [zlib.gzipSync(Buffer.concat([header(1, 28, 28), Buffer.alloc(784)])), ...new Array(4096).fill(mib)];
  fs.writeFileSync(f, Buffer.concat(members));
  assert.ok(fs.statSync(f).size < 8 * 1024 * 1024);
  const t0 = Date.now();
  assert.throws(
    () => readIdx(f),
    isAnogen(
      /bomb-idx3-ubyte\.gz: IDX file has trailing bytes: the gzip stream decompresses to more than the 800 bytes its header declares \(shape \[1, 28, 28\] of uint8\); decompression was stopped there/,
    ),
  );
  assert.ok(Date.now() - t0 < 5000, `took ${Date.now() - t0} ms`);
});

test('one gzip member of 32 MB of zeros after a 1x28x28 header is stopped the same way', () => {
  const dir = tempDir();
  const f = path.join(dir, 'zeros.gz');
  fs.writeFileSync(f, zlib.gzipSync(Buffer.concat([header(1, 28, 28), Buffer.alloc(32 * 1024 * 1024)]), { level: 9 }));
  assert.ok(fs.statSync(f).size < 64 * 1024);
  assert.throws(() => readIdx(f), isAnogen(/zeros\.gz: IDX file has trailing bytes: .*more than the 800 bytes/));
});

test('a header declaring more than the cap is refused before decompressing; maxBytes lowers the cap', () => {
  const dir = tempDir();
  const f = path.join(dir, 'huge.gz');
  fs.writeFileSync(f, zlib.gzipSync(Buffer.concat([header(0xffffffff, 0xffffffff, 0xffffffff), Buffer.alloc(100)])));
  assert.throws(
    () => readIdx(f),
    isAnogen(/huge\.gz: IDX header declares shape \[4294967295, 4294967295, 4294967295\] of uint8, .* bytes, more than the limit of 2147483648 bytes/),
  );
  const g = path.join(dir, 'ok.gz');
  fs.writeFileSync(g, zlib.gzipSync(idxBytes(0x08, [10, 4, 4], new Array(160).fill(3))));
  assert.equal(readIdx(g).shape[0], 10);
  assert.throws(() => readIdx(g, { maxBytes: 100 }), isAnogen(/ok\.gz: IDX header declares shape \[10, 4, 4\] of uint8, 176 bytes, more than the limit of 100 bytes/));
  const r = path.join(dir, 'ok-raw');
  fs.writeFileSync(r, idxBytes(0x08, [10, 4, 4], new Array(160).fill(3)));
  assert.throws(() => readIdx(r, { maxBytes: 100 }), isAnogen(/ok-raw: IDX file of 176 bytes is larger than the limit of 100 bytes/));
});

test('short, empty and header-only gzip streams name what is missing', () => {
  const dir = tempDir();
  const f = path.join(dir, 'x.gz');
  const cases: [Buffer, RegExp][] = [
    [zlib.gzipSync(Buffer.concat([header(1, 28, 28), Buffer.alloc(100)])), /truncated IDX file: 116 bytes, expected 800/],
    [zlib.gzipSync(Buffer.alloc(0)), /not an IDX file: 0 bytes/],
    [zlib.gzipSync(Buffer.from([0, 0, 8, 3, 0, 0])), /truncated IDX header: 6 bytes, expected 16 for 3 dimensions/],
    [zlib.gzipSync(Buffer.from([1, 2, 8, 3, 0, 0, 0, 0])), /bad IDX magic number 0x01 0x02 0x08 0x03/],
    [zlib.gzipSync(Buffer.from([0, 0, 0x42, 1, 0, 0, 0, 1, 0])), /unknown IDX dtype code 0x42/],
    [zlib.gzipSync(header(1, 2, 2)).subarray(0, 12), /truncated or corrupt gzip stream/],
    [Buffer.concat([zlib.gzipSync(idxBytes(0x08, [2], [1, 2])), Buffer.from([1, 2, 3])]), /truncated or corrupt gzip stream/],
  ];
  for (const [bytes, re] of cases) {
    fs.writeFileSync(f, bytes);
    assert.throws(() => readIdx(f), isAnogen(new RegExp(`x\\.gz: .*${re.source}`)), re.source);
  }
});

test('a gzip file with a 60 KB extra field and a file name still reads (header search grows its prefix)', () => {
  const dir = tempDir();
  const f = path.join(dir, 'named.gz');
  const body = idxBytes(
    0x08,
    [3, 2, 2],
    Array.from({ length: 12 }, (_, i) => i),
  );
  fs.writeFileSync(f, withExtraFields(zlib.gzipSync(body), 60_000, 'train-images-idx3-ubyte'));
  const a = readIdx(f);
  assert.deepEqual(a.shape, [3, 2, 2]);
  assert.deepEqual(
    Array.from(a.data),
    Array.from({ length: 12 }, (_, i) => i),
  );
});

test('readIdx refuses a FIFO and a folder instead of blocking', { skip: process.platform === 'win32' }, () => {
  const dir = tempDir();
  const fifo = path.join(dir, 'train-images-idx3-ubyte');
  assert.equal(spawnSync('mkfifo', [fifo]).status, 0);
  assert.throws(() => readIdx(fifo), isAnogen(/train-images-idx3-ubyte: cannot read IDX file: it is not a regular file/));
  assert.throws(() => readIdx(dir), isAnogen(/cannot read IDX file: it is not a regular file/));
});
