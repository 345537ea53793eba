/**
 * Fuzz targets: every parser of untrusted input, with its seeds (valid files made here, never
 * committed), the generator of hostile variants, and a check of what a successful parse
 * returned. The property every target must keep: a valid result, or an AnogenError/TorchError;
 * never another error type, never a hang, never an absurd allocation (the harness in
 * campaign.ts watches time and memory from outside).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import fc from 'fast-check';
import sharp from 'sharp';
import { bytesFrom, jsonTextFrom, mutationArb, applyMutation, fieldMutationArb, type Field } from './mutate.js';
import type { OptionSpec } from '../../src/cli/args.js';

/** A fuzz target. */
export interface Target {
  name: string;
  /** What it exercises (printed by the campaign). */
  doc: string;
  /** Builds the seeds and the generator (once per process). */
  init(): Promise<fc.Arbitrary<Uint8Array>>;
  /** Parses one input; throws on rejection; throws InvalidResult when it accepted garbage. */
  run(input: Uint8Array): Promise<void>;
}

/** Thrown by a target when the parser returned a result that breaks its own invariants. */
export class InvalidResult extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidResult';
  }
}

let scratch: string | null = null;
/** A per-process scratch folder for targets that parse files. */
export function scratchDir(): string {
  if (scratch === null) {
    scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'anogen-fuzz-'));
    const dir = scratch;
    process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  }
  return scratch;
}

function check(cond: boolean, what: string): void {
  if (!cond) throw new InvalidResult(what);
}

// ---------------------------------------------------------------------------- seeds

/** IDX bytes: magic 0 0 code ndim, big-endian dims, then `body` (or zeros of the right size). */
export function idxFile(code: number, shape: number[], esize: number, fill = (i: number) => i % 251): Uint8Array {
  const numel = shape.reduce((a, b) => a * b, 1);
  const b = Buffer.alloc(4 + 4 * shape.length + numel * esize);
  b[2] = code;
  b[3] = shape.length;
  shape.forEach((d, i) => b.writeUInt32BE(d, 4 + 4 * i));
  for (let i = 4 + 4 * shape.length; i < b.length; i++) b[i] = fill(i);
  return new Uint8Array(b);
}

/** IDX header fields: dtype code, ndim, and the first four big-endian dimensions. */
export const IDX_FIELDS: readonly Field[] = [
  { pos: 2, width: 1, le: false },
  { pos: 3, width: 1, le: false },
  ...[4, 8, 12, 16].map((pos) => ({ pos, width: 4 as const, le: false })),
];

/** BMP header fields: file size, pixel offset, header size, width, height, planes, bits, compression, image size, palette count. */
export const BMP_FIELDS: readonly Field[] = [
  { pos: 2, width: 4, le: true },
  { pos: 10, width: 4, le: true },
  { pos: 14, width: 4, le: true },
  { pos: 18, width: 4, le: true },
  { pos: 22, width: 4, le: true },
  { pos: 26, width: 2, le: true },
  { pos: 28, width: 2, le: true },
  { pos: 30, width: 4, le: true },
  { pos: 34, width: 4, le: true },
  { pos: 46, width: 4, le: true },
];

/** PNG IHDR fields (width, height, bit depth, colour type, interlace); the chunk CRC is not fixed. */
const PNG_FIELDS: readonly Field[] = [
  { pos: 16, width: 4, le: false },
  { pos: 20, width: 4, le: false },
  { pos: 24, width: 1, le: false },
  { pos: 25, width: 1, le: false },
  { pos: 28, width: 1, le: false },
];

const IDX_SEEDS = (): Uint8Array[] => [
  idxFile(0x08, [3, 4, 4], 1),
  idxFile(0x08, [5], 1),
  idxFile(0x09, [2, 3], 1),
  idxFile(0x0b, [2, 2], 2),
  idxFile(0x0c, [3], 4),
  idxFile(0x0d, [2, 2, 1, 1], 4),
  idxFile(0x0e, [2], 8),
  idxFile(0x08, [0, 28, 28], 1),
];

/** An 8-bit palette BMP (gray palette of `colours` entries), a 24-bit and a 32-bit top-down one. */
export function bmpSeeds(): Uint8Array[] {
  const make = (w: number, h: number, bpp: number, colours: number, topDown: boolean, black = false): Uint8Array => {
    const stride = Math.ceil((w * bpp) / 32) * 4;
    const off = 54 + 4 * colours;
    const b = Buffer.alloc(off + stride * h);
    b.write('BM', 0, 'latin1');
    b.writeUInt32LE(b.length, 2);
    b.writeUInt32LE(off, 10);
    b.writeUInt32LE(40, 14);
    b.writeInt32LE(w, 18);
    b.writeInt32LE(topDown ? -h : h, 22);
    b.writeUInt16LE(1, 26);
    b.writeUInt16LE(bpp, 28);
    b.writeUInt32LE(colours === 256 ? 0 : colours, 46);
    for (let i = 0; i < colours; i++) b.fill((i * 255) / Math.max(1, colours - 1), 54 + 4 * i, 57 + 4 * i);
    for (let i = off; i < b.length; i++) b[i] = black ? 0 : bpp === 8 ? i % colours : (i * 37) % 256;
    return new Uint8Array(b);
  };
  return [make(5, 3, 8, 256, false), make(4, 4, 8, 16, false), make(6, 2, 8, 2, false, true), make(3, 2, 24, 0, false), make(2, 3, 32, 0, true)];
}

async function imageSeeds(): Promise<Uint8Array[]> {
  const px = (w: number, h: number, c: number) => Buffer.from(Array.from({ length: w * h * c }, (_, i) => (i * 29) % 256));
  const raw = (w: number, h: number, c: 1 | 3) => sharp(px(w, h, c), { raw: { width: w, height: h, channels: c } });
  const out = await Promise.all([
    raw(8, 8, 1).png().toBuffer(),
    raw(6, 5, 3).png().toBuffer(),
    sharp(Buffer.from(new Uint16Array(16).map((_, i) => i * 4000).buffer), { raw: { width: 4, height: 4, channels: 1 } })
      .toColourspace('grey16')
      .png()
      .toBuffer(),
    raw(8, 8, 3).jpeg({ quality: 80 }).toBuffer(),
    raw(8, 8, 3).webp({ lossless: true }).toBuffer(),
    raw(4, 4, 3).tiff().toBuffer(),
    raw(4, 4, 3).gif().toBuffer(),
  ]);
  return [...out.map((b) => new Uint8Array(b)), ...bmpSeeds()];
}

// ---------------------------------------------------------------------------- targets

function idxResult(a: { dtype: string; shape: number[]; data: ArrayLike<number> }): void {
  check(a.shape.length >= 1 && a.shape.every((d) => Number.isInteger(d) && d >= 0), `shape [${a.shape}] is not a list of non-negative integers`);
  check(a.data.length === a.shape.reduce((x, y) => x * y, 1), `data has ${a.data.length} elements for shape [${a.shape}]`);
}

function imageResult(img: { width: number; height: number; channels: number; data: ArrayLike<number> }): void {
  check(img.width >= 1 && img.height >= 1, `image of ${img.width}x${img.height}`);
  check(img.channels === 1 || img.channels === 3, `image of ${img.channels} channels`);
  check(img.data.length === img.width * img.height * img.channels, `image data of ${img.data.length} for ${img.width}x${img.height}x${img.channels}`);
}

const idxRaw: Target = {
  name: 'idx',
  doc: 'parseIdx on raw IDX bytes',
  async init() {
    return bytesFrom(IDX_SEEDS(), 2048, IDX_FIELDS);
  },
  async run(input) {
    const { parseIdx } = await import('../../src/data/idx.js');
    idxResult(parseIdx(input, 'fuzz-idx'));
  },
};

const idxGzip: Target = {
  name: 'idx-gzip',
  doc: 'readIdx on gzip files: gzip of mutated IDX, mutated gzip bytes, multi-member and zero-stream bombs',
  async init() {
    const seeds = IDX_SEEDS();
    const gz = seeds.map((s) => new Uint8Array(zlib.gzipSync(s)));
    const zeros = new Uint8Array(zlib.gzipSync(Buffer.alloc(1 << 20)));
    // a small header followed by 8 MiB of zeros: the shape of the 9 MB file that inflated to 4.4 GB
    const bomb = new Uint8Array(zlib.gzipSync(Buffer.concat([Buffer.from(idxFile(0x08, [1, 28, 28], 1)), Buffer.alloc(8 << 20)])));
    const inner = fc
      .tuple(fc.constantFrom(...seeds), fc.array(fc.oneof(mutationArb, fieldMutationArb(IDX_FIELDS)), { minLength: 1, maxLength: 3 }))
      .map(([s, ms]) => new Uint8Array(zlib.gzipSync(ms.reduce((a, m) => applyMutation(a, m), s))));
    // k members of 1 MiB of zeros after a valid file: up to 4 GiB of output from ~4 MB
    const members = fc
      .tuple(fc.constantFrom(...gz), fc.oneof(fc.integer({ min: 1, max: 64 }), fc.constantFrom(1024, 4096)))
      .map(([g, k]) => new Uint8Array(Buffer.concat([Buffer.from(g), ...new Array(k).fill(Buffer.from(zeros))])));
    const bombs = fc.tuple(fc.constant(bomb), fc.array(fc.record({ pos: fc.integer({ min: 0, max: 40 }), v: fc.nat(255) }), { maxLength: 3 })).map(([b, edits]) => {
      const o = b.slice();
      for (const e of edits) o[e.pos] = e.v;
      return o;
    });
    return fc.oneof({ weight: 4, arbitrary: inner }, { weight: 4, arbitrary: bytesFrom(gz) }, { weight: 1, arbitrary: members }, { weight: 1, arbitrary: bombs });
  },
  async run(input) {
    const { readIdx } = await import('../../src/data/idx.js');
    const f = path.join(scratchDir(), 'fuzz-idx3-ubyte.gz');
    fs.writeFileSync(f, input);
    idxResult(readIdx(f));
  },
};

const bmp: Target = {
  name: 'bmp',
  doc: 'decodeBmp on BMP bytes',
  async init() {
    return bytesFrom(bmpSeeds(), 2048, BMP_FIELDS);
  },
  async run(input) {
    const { decodeBmp } = await import('../../src/data/image.js');
    imageResult(decodeBmp(input, 'fuzz.bmp'));
  },
};

const image: Target = {
  name: 'image',
  doc: 'decodeImageBytes (sharp: PNG 8/16-bit, JPEG, WebP, TIFF, GIF; and BMP)',
  async init() {
    return bytesFrom(await imageSeeds(), 1024, PNG_FIELDS);
  },
  async run(input) {
    const { decodeImageBytes } = await import('../../src/data/image.js');
    imageResult(await decodeImageBytes(Buffer.from(input), 'fuzz.png'));
  },
};

const safetensors: Target = {
  name: 'safetensors',
  doc: 'deserializeSafetensors: byte mutations and structural mutations of the JSON header',
  async init() {
    const T = await import('../../src/core/index.js');
    const { serializeSafetensors } = await import('../../src/nn/safetensors.js');
    const sd = new Map<string, InstanceType<typeof T.Tensor>>([
      ['a.weight', T.tensor(new Float32Array([1, 2, 3, 4, 5, 6]), { shape: [2, 3] })],
      ['a.bias', T.tensor(new Float32Array([0.5, -0.5]), { shape: [2] })],
      ['bn.num_batches_tracked', T.tensor(new BigInt64Array([3n]), { shape: [] })],
      ['mask', T.tensor(new Uint8Array([1, 0, 1]), { shape: [3] }).to('bool')],
      ['half', T.tensor(new Float32Array([1, 2]), { shape: [2] }).to('float16')],
    ]);
    const seeds = [serializeSafetensors(sd, { format: 'pt' }), serializeSafetensors(new Map([['x', sd.get('a.bias')!]]))];
    T.dispose(sd);
    // structural: the header JSON mutated, re-encoded with a correct (or sometimes wrong) length
    const headers = seeds.map((s) => {
      const n = Number(new DataView(s.buffer, s.byteOffset).getBigUint64(0, true));
      return { json: JSON.parse(Buffer.from(s.subarray(8, 8 + n)).toString('utf8')) as unknown, data: s.subarray(8 + n) };
    });
    const structural = fc
      .tuple(fc.constantFrom(...headers), fc.nat(), fc.oneof({ weight: 5, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: -16, max: 16 }) }))
      .chain(([h, _, lenDelta]) =>
        jsonTextFrom([h.json]).map((text) => {
          const out = new Uint8Array(8 + text.length + h.data.length);
          new DataView(out.buffer).setBigUint64(0, BigInt(Math.max(0, text.length + lenDelta)), true);
          out.set(text, 8);
          out.set(h.data, 8 + text.length);
          return out;
        }),
      );
    return fc.oneof({ weight: 1, arbitrary: bytesFrom(seeds, 2048, [{ pos: 0, width: 8, le: true }]) }, { weight: 1, arbitrary: structural });
  },
  async run(input) {
    const { deserializeSafetensors } = await import('../../src/nn/safetensors.js');
    const { dispose } = await import('../../src/core/index.js');
    const r = deserializeSafetensors(input, 'fuzz.safetensors');
    try {
      for (const [name, t] of r.tensors) check(typeof name === 'string' && t.shape.every((d) => Number.isInteger(d) && d >= 0), `tensor ${name} of shape [${t.shape}]`);
      check(
        Object.values(r.metadata).every((v) => typeof v === 'string'),
        'metadata values are not all strings',
      );
    } finally {
      dispose(r.tensors);
    }
  },
};

const bundleConfig: Target = {
  name: 'bundle-config',
  doc: "readBundleConfig on a folder holding a fuzzed config.json (from saveBundle's own output)",
  async init() {
    const { createDetector, getDetector, saveBundle } = await import('../../src/detectors/index.js');
    const { fitCalibration } = await import('../../src/eval/threshold.js');
    const docs: unknown[] = [];
    const d = createDetector('ganomaly', getDetector('ganomaly').tiny);
    try {
      const dir = path.join(scratchDir(), 'seed-bundle');
      saveBundle(dir, d, { transforms: [{ type: 'rgb' }, { type: 'resize', size: 16 }, { type: 'normalize', mean: [0.5], std: [0.25] }] as never }, { replace: true } as never);
      docs.push(JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')));
      try {
        d.calibration = fitCalibration(Float32Array.from({ length: 50 }, (_, i) => i / 10) as never);
        const dir2 = path.join(scratchDir(), 'seed-bundle2');
        saveBundle(dir2, d);
        docs.push(JSON.parse(fs.readFileSync(path.join(dir2, 'config.json'), 'utf8')));
      } catch {
        // calibration API changed: one seed is enough
      }
    } finally {
      d.dispose();
    }
    return jsonTextFrom(docs);
  },
  async run(input) {
    const { readBundleConfig } = await import('../../src/detectors/bundle.js');
    const dir = path.join(scratchDir(), 'fuzz-bundle');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'config.json'), input);
    const c = readBundleConfig(dir);
    check(c !== null && typeof c === 'object', 'config is not an object');
  },
};

let specsCache: OptionSpec[] | null = null;
/** `anogen train`'s option specs for ganomaly (whatever train.ts calls its spec builder), or a stand-in list. */
async function runSpecs(): Promise<OptionSpec[]> {
  if (specsCache !== null) return specsCache;
  const mod = (await import('../../src/cli/commands/train.js')) as Record<string, unknown>;
  const build = (mod.trainSpecs ?? mod.trainSpecsFor) as ((d?: string) => OptionSpec[]) | undefined;
  specsCache = build
    ? build('ganomaly')
    : [
        ...((mod.DATA_SPECS as OptionSpec[] | undefined) ?? []),
        { name: 'epochs', type: 'int', min: 1, doc: 'epochs' },
        { name: 'lr', type: 'number', min: 0, doc: 'learning rate' },
        { name: 'detector', type: 'string', values: ['ganomaly'], doc: 'detector' },
        { name: 'quiet', type: 'bool', doc: 'quiet' },
      ];
  return specsCache;
}

const runConfig: Target = {
  name: 'run-config',
  doc: "readConfigFile (JSON and YAML) against `anogen train`'s option specs",
  async init() {
    const doc = { detector: 'ganomaly', data: 'mnist', epochs: 2, 'batch-size': 32, lr: 0.0002, seed: 1, out: 'runs/x' };
    const yamlSeeds = [
      'detector: ganomaly\nepochs: 3\nbatch-size: 8\nlr: 1e-3\n',
      'a: &x [1, 2]\nb: *x\n',
      'epochs: !!int "5"\nlr: .inf\n',
      'x: &a [*a]\n',
      'k: [[[[[[[[[[1]]]]]]]]]]\n',
      '? [a, b]\n: c\n',
    ].map((s) => new Uint8Array(Buffer.from(s)));
    return fc.tuple(fc.boolean(), fc.oneof(jsonTextFrom([doc, { epochs: 1 }]), bytesFrom(yamlSeeds, 256))).map(([yaml, bytes]) => {
      const out = new Uint8Array(bytes.length + 1);
      out[0] = yaml ? 1 : 0; // first byte: the file's extension
      out.set(bytes, 1);
      return out;
    });
  },
  async run(input) {
    const { readConfigFile } = await import('../../src/cli/args.js');
    const f = path.join(scratchDir(), input[0] === 1 ? 'run.yaml' : 'run.json');
    fs.writeFileSync(f, input.subarray(1));
    const r = readConfigFile(f, await runSpecs());
    check(
      Object.values(r).every((v) => ['string', 'number', 'boolean'].includes(typeof v)),
      'a config value is not a string, number or boolean',
    );
  },
};

/** Every target, in campaign order. */
export const TARGETS: readonly Target[] = [idxRaw, idxGzip, bmp, image, safetensors, bundleConfig, runConfig];

/** Targets that misbehave on purpose, to test the harness itself (not part of campaigns). */
export const SELFTEST_TARGETS: readonly Target[] = [
  {
    name: 'selftest-ok',
    doc: 'rejects with AnogenError',
    init: async () => fc.uint8Array({ maxLength: 4 }),
    run: async () => {
      const { AnogenError } = await import('../../src/core/errors.js');
      throw new AnogenError('fine');
    },
  },
  {
    name: 'selftest-error',
    doc: 'throws a TypeError',
    init: async () => fc.uint8Array({ minLength: 1, maxLength: 4 }),
    run: async (i) => void (null as unknown as number[]).at(i[0]!),
  },
  { name: 'selftest-invalid', doc: 'returns garbage', init: async () => fc.constant(Uint8Array.of(1)), run: async () => check(false, 'width -1') },
  {
    name: 'selftest-hang',
    doc: 'never returns',
    init: async () => fc.constant(Uint8Array.of(2, 2)),
    run: async () => {
      for (;;);
    },
  },
  {
    name: 'selftest-crash',
    doc: 'dies (SIGKILL, as a native crash would, without a core file)',
    init: async () => fc.constant(Uint8Array.of(3, 3, 3)),
    run: async () => void process.kill(process.pid, 'SIGKILL'),
  },
];

/** The target named `name` (throws listing the names otherwise). */
export function targetByName(name: string): Target {
  const t = [...TARGETS, ...SELFTEST_TARGETS].find((x) => x.name === name);
  if (!t) throw new Error(`unknown fuzz target '${name}'; expected one of ${TARGETS.map((x) => x.name).join(', ')}`);
  return t;
}
