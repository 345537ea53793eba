// BMP header validation (issue 8): every field is checked against the file size before any
// loop, so a malformed header is an AnogenError naming the file and the field, never a hang.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { AnogenError } from '../../src/core/errors.js';
import { decodeBmp } from '../../src/data/image.js';

const isAnogen = (re: RegExp) => (e: unknown) => {
  assert.ok(e instanceof AnogenError, `expected AnogenError, got ${String(e)}`);
  assert.match((e as Error).message, re);
  return true;
};

/** An 8-bit palette BMP: `palette` as [r,g,b] triples, `idx` one palette index per pixel. */
export function bmp8(w: number, h: number, palette: number[][], idx: number[], clrUsed = palette.length): Buffer {
  const stride = Math.ceil(w / 4) * 4;
  const off = 54 + 4 * palette.length;
  const b = Buffer.alloc(off + stride * h);
  b.write('BM', 0, 'latin1');
  b.writeUInt32LE(b.length, 2);
  b.writeUInt32LE(off, 10);
  b.writeUInt32LE(40, 14);
  b.writeInt32LE(w, 18);
  b.writeInt32LE(h, 22);
  b.writeUInt16LE(1, 26);
  b.writeUInt16LE(8, 28);
  b.writeUInt32LE(clrUsed, 46);
  palette.forEach(([r, g, bl], i) => {
    b[54 + 4 * i] = bl;
    b[55 + 4 * i] = g;
    b[56 + 4 * i] = r;
  });
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) b[off + (h - 1 - y) * stride + x] = idx[y * w + x];
  return b;
}

/** A 32-bit BI_RGB BMP (top-down when `topDown`), pixel (x,y) = (x, y, x+y). */
export function bmp32(w: number, h: number, topDown = false): Buffer {
  const b = Buffer.alloc(54 + 4 * w * h);
  b.write('BM', 0, 'latin1');
  b.writeUInt32LE(b.length, 2);
  b.writeUInt32LE(54, 10);
  b.writeUInt32LE(40, 14);
  b.writeInt32LE(w, 18);
  b.writeInt32LE(topDown ? -h : h, 22);
  b.writeUInt16LE(1, 26);
  b.writeUInt16LE(32, 28);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const o = 54 + 4 * ((topDown ? y : h - 1 - y) * w + x);
      b[o] = x + y;
      b[o + 1] = y;
      b[o + 2] = x;
    }
  }
  return b;
}

const grayPal = Array.from({ length: 256 }, (_, i) => [i, i, i]);

test('valid 8-bit (gray, colour, short palette) and 32-bit top-down BMPs still decode', () => {
  const g = decodeBmp(bmp8(3, 2, grayPal, [0, 1, 2, 250, 251, 255]), 'g.bmp');
  assert.deepEqual([g.width, g.height, g.channels], [3, 2, 1]);
  assert.deepEqual(Array.from(g.data), [0, 1, 2, 250, 251, 255]);
  const c = decodeBmp(
    bmp8(
      2,
      1,
      [
        [255, 0, 0],
        [0, 0, 255],
      ],
      [1, 0],
    ),
    'c.bmp',
  );
  assert.deepEqual([c.channels, ...c.data], [3, 0, 0, 255, 255, 0, 0]);
  const z = decodeBmp(bmp8(2, 2, grayPal, [0, 9, 99, 255], 0), 'zero-means-256.bmp');
  assert.deepEqual(Array.from(z.data), [0, 9, 99, 255]);
  const t = decodeBmp(bmp32(2, 2, true), 't.bmp');
  assert.deepEqual(Array.from(t.data), [0, 0, 0, 1, 0, 1, 0, 1, 1, 1, 1, 2]);
  assert.deepEqual(Array.from(decodeBmp(bmp32(2, 2, false), 'b.bmp').data), Array.from(t.data));
});

test('8-bit BMP with palette count 0xFFFFFFFF and a zero palette: error at once, no 4.3e9-turn loop', () => {
  // Run in a child with a time limit: before the fix this looped for minutes.
  const code = `
    import('./src/data/image.ts').then(({ decodeBmp }) => {
      const b = Buffer.alloc(54 + 4 * 4);
      b.write('BM', 0, 'latin1'); b.writeUInt32LE(54, 10); b.writeUInt32LE(40, 14);
      b.writeInt32LE(2, 18); b.writeInt32LE(2, 22); b.writeUInt16LE(1, 26); b.writeUInt16LE(8, 28);
      b.writeUInt32LE(0xffffffff, 46);
      try { decodeBmp(b, 'evil.bmp'); console.log('NO ERROR'); } catch (e) { console.log(e.name + ': ' + e.message); }
    });`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '-e', code], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(r.signal, null, `decodeBmp did not return within 30 s (killed by ${r.signal})`);
  assert.match(r.stdout, /AnogenError: evil\.bmp: malformed BMP header: palette count 4294967295; expected 0 \(meaning 256\) to 256/);
});

test('every malformed header field is an AnogenError naming the file and the field', () => {
  const good = () => bmp8(4, 3, grayPal, new Array(12).fill(7));
  const cases: [string, (b: Buffer) => Buffer | void, RegExp][] = [
    ['header size 0x7ffffff0', (b) => void b.writeUInt32LE(0x7ffffff0, 14), /header size 2147483632 is not valid for a \d+-byte file; expected 40 to 124/],
    ['header size 200', (b) => void b.writeUInt32LE(200, 14), /header size 200 /],
    ['header size 12 (OS/2)', (b) => void b.writeUInt32LE(12, 14), /BMP core header \(OS\/2, header size 12\) is not supported/],
    ['palette count 257', (b) => void b.writeUInt32LE(257, 46), /palette count 257; expected 0 \(meaning 256\) to 256/],
    ['palette count 0x80000000', (b) => void b.writeUInt32LE(0x80000000, 46), /palette count 2147483648/],
    ['palette beyond the file', (b) => b.subarray(0, 54 + 100), /palette count 256 colours need bytes 54 to 1078, beyond the end of the 154-byte file/],
    ['width 0', (b) => void b.writeInt32LE(0, 18), /width 0; expected 1 to 65535/],
    ['width -4', (b) => void b.writeInt32LE(-4, 18), /width -4; expected 1 to 65535/],
    ['width 2^31-1', (b) => void b.writeInt32LE(0x7fffffff, 18), /width 2147483647; expected 1 to 65535/],
    ['height 0', (b) => void b.writeInt32LE(0, 22), /malformed BMP header: height 0; expected 1 to 65535/],
    ['height -2^31', (b) => void b.writeInt32LE(-0x80000000, 22), /height -2147483648; expected 1 to 65535/],
    ['height 70000', (b) => void b.writeInt32LE(70000, 22), /height 70000/],
    ['planes 0', (b) => void b.writeUInt16LE(0, 26), /planes 0; expected 1/],
    ['pixel offset 0', (b) => void b.writeUInt32LE(0, 10), /pixel offset 0; expected 1078 to 1090 \(after the 40-byte header and 256-colour palette/],
    ['pixel offset 0xFFFFFFFF', (b) => void b.writeUInt32LE(0xffffffff, 10), /pixel offset 4294967295; expected 1078 to 1090/],
    ['pixel offset inside the palette', (b) => void b.writeUInt32LE(60, 10), /pixel offset 60/],
    ['pixel rows past the end', (b) => void b.writeInt32LE(100, 22), /truncated BMP: 1090 bytes, expected 1478 for 4x100x8/],
    ['16 bits', (b) => void b.writeUInt16LE(16, 28), /unsupported BMP \(16 bits, compression 0\)/],
    ['RLE8', (b) => void b.writeUInt32LE(1, 30), /unsupported BMP \(8 bits, compression 1\)/],
    ['not BM', (b) => void b.write('XX', 0, 'latin1'), /not a BMP file/],
    ['53 bytes', (b) => b.subarray(0, 53), /not a BMP file \(expected 'BM' and a 54-byte header, got 53 bytes\)/],
  ];
  for (const [what, mutate, re] of cases) {
    const b = good();
    const m = mutate(b) ?? b;
    assert.throws(() => decodeBmp(m, 'bad.bmp'), isAnogen(new RegExp(`^bad\\.bmp: .*${re.source}`)), what);
  }
});

test('a pixel whose palette index is past a short palette is an error, not a black pixel', () => {
  const b = bmp8(
    2,
    1,
    [
      [0, 0, 0],
      [9, 9, 9],
    ],
    [1, 5],
  );
  assert.throws(() => decodeBmp(b, 'short.bmp'), isAnogen(/short\.bmp: malformed BMP: pixel \(1, 0\) uses palette index 5 but the palette has 2 colours/));
});
