/**
 * Load benchmark of `anogen serve` on loopback (issue 9): N concurrent scoring clients POST a
 * 28x28 PNG (an MNIST test digit) to /api/score for a bounded time (autocannon, programmatic
 * API) while a dashboard client requests GET /api/runs and GET / every 250 ms and times them.
 *
 * What it does, in one run:
 *  1. trains a small GANomaly bundle on MNIST digit 1 (256 images, 1 epoch, default widths,
 *     32 px) into `<work>/bundle`, or reuses it when present (or uses `--bundle DIR`);
 *  2. records that bundle in a fresh temp registry (`--home`), as `anogen train` would;
 *  3. starts `anogen serve --port 0 --home <temp> --workers W` as a child process and warms
 *     its scoring processes;
 *  4. measures the reference in this process, interleaved with single requests on the idle
 *     server (so both see the same machine load): `anogen score <bundle> <png>` through the
 *     CLI's main() (bundle loaded per call), and the same scoring with the model loaded once
 *     (decode + preprocess + score, what a warm server worker does per request); then runs
 *     the load;
 *  5. prints requests/s, latency p50/p99, errors and non-2xx (0 expected), the dashboard's
 *     latency p50/p99/max while scoring is saturated, and the ratios to the reference.
 *
 * Usage (from the repository root; the machine is shared, so nice it):
 *   nice -n 5 node --import tsx bench/serve-load.ts [--clients 8] [--duration 20] [--workers 1]
 *       [--bundle DIR] [--maps] [--work DIR] [--reference-runs 20] [--threads N]
 * Defaults: 8 clients, 20 s, 1 scoring process, libtorch threads per scoring process = cores /
 * workers (the server's default; the in-process reference uses the same number), no maps (`--maps` asks for map + overlay PNGs
 * as the dashboard's upload page does), work folder `$TMPDIR/anogen-serve-load`.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import sharp from 'sharp';
import { openIdxDataset } from '../src/data/index.js';
import { Registry } from '../src/runs/registry.js';
import { openScoringModel, scoreBatch } from '../src/pipeline/score.js';
import { preprocessFiles } from '../src/pipeline/data.js';
import { cliOutput } from '../src/cli/io.js';
import { getNumThreads, setNumThreads } from '../src/core/index.js';
import { main as cliMain } from '../src/cli/main.js';

const root = path.resolve(import.meta.dirname, '..');

const { values: o } = parseArgs({
  options: {
    clients: { type: 'string', default: '8' },
    duration: { type: 'string', default: '20' },
    workers: { type: 'string', default: '1' },
    bundle: { type: 'string' },
    maps: { type: 'boolean', default: false },
    work: { type: 'string', default: path.join(os.tmpdir(), 'anogen-serve-load') },
    'reference-runs': { type: 'string', default: '20' },
    threads: { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});
if (o.help) {
  process.stdout.write(
    'nice -n 5 node --import tsx bench/serve-load.ts [--clients 8] [--duration 20] [--workers 1] [--bundle DIR] [--maps] [--work DIR] [--reference-runs 20] [--threads N]\n',
  );
  process.exit(0);
}
const int = (name: string, v: string, min: number): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new Error(`--${name} ${v}: expected an integer >= ${min}`);
  return n;
};
const clients = int('clients', o.clients!, 1);
const duration = int('duration', o.duration!, 1);
const workers = int('workers', o.workers!, 1);
const referenceRuns = int('reference-runs', o['reference-runs']!, 1);
const withMaps = o.maps === true;
const cores = typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
/** libtorch threads of each scoring process and of the in-process reference: the server's default split unless --threads. */
const threads = o.threads !== undefined ? int('threads', o.threads, 1) : Math.max(1, Math.floor(cores / workers));

const log = (s: string) => process.stderr.write(`[serve-load] ${s}\n`);
const quantile = (xs: number[], q: number): number => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))]!;
};
const ms = (v: number) => `${v.toFixed(1)} ms`;

/** The bundle: given, reused from the work folder, or trained there now. */
function ensureBundle(): string {
  if (o.bundle !== undefined) {
    const b = path.resolve(o.bundle);
    if (!fs.existsSync(path.join(b, 'config.json'))) throw new Error(`--bundle ${o.bundle}: no config.json there; expected a bundle folder`);
    return b;
  }
  const b = path.resolve(o.work!, 'bundle');
  if (fs.existsSync(path.join(b, 'config.json')) && fs.existsSync(path.join(b, 'model.safetensors'))) {
    log(`reusing ${b}`);
    return b;
  }
  fs.mkdirSync(o.work!, { recursive: true });
  log(`training a small GANomaly bundle into ${b} (MNIST digit 1, 256 images, 1 epoch)`);
  const t0 = performance.now();
  const throwaway = fs.mkdtempSync(path.join(os.tmpdir(), 'anogen-serve-load-train-'));
  const args = [
    'train',
    'ganomaly',
    '--data',
    'mnist',
    '--protocol',
    'one-vs-rest',
    '--normal',
    '1',
    '--train-limit',
    '256',
    '--val-limit',
    '256',
    '--epochs',
    '1',
    '--out',
    b,
    '--force',
    '--quiet',
  ];
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(root, 'src', 'cli', 'main.ts'), ...args], {
    cwd: root,
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, ANOGEN_HOME: throwaway },
  });
  fs.rmSync(throwaway, { recursive: true, force: true });
  if (r.status !== 0) throw new Error(`training failed (exit ${r.status})`);
  log(`trained in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  return b;
}

/** Records the bundle in a fresh registry, as `anogen train` does; returns the run id. */
function register(home: string, bundle: string): number {
  const reg = Registry.open(home);
  try {
    const cfg = JSON.parse(fs.readFileSync(path.join(bundle, 'config.json'), 'utf8')) as { detector?: string };
    const id = reg.startRun({ kind: 'train', model: cfg.detector ?? null, data: 'mnist', bundle });
    reg.addArtifact(id, 'bundle', bundle);
    reg.finishRun(id, 'finished', { summary: {} });
    return id;
  } finally {
    reg.close();
  }
}

/** A 28x28 PNG of the first MNIST test digit 1 (a normal image for the bundle). */
async function digitPng(file: string): Promise<Buffer> {
  const ds = openIdxDataset('mnist');
  const ids = ds.classIds('test');
  const i = ids.findIndex((c) => c === 1);
  const item = await ds.loadItem('test', i);
  const png = await sharp(Buffer.from(item.image.data as Uint8Array), { raw: { width: item.image.width, height: item.image.height, channels: 1 } })
    .png()
    .toBuffer();
  fs.writeFileSync(file, png);
  return png;
}

/**
 * The in-process reference, one sample per call: `anogen score <bundle> <png>` through the CLI's
 * main() (the bundle loaded per call), then the same scoring with the model loaded once
 * (decode + preprocess + score, what a warm server worker does per request).
 */
async function referenceSampler(bundle: string, png: string): Promise<{ sample: () => Promise<{ cli: number; loaded: number; score: number }>; dispose: () => void }> {
  const model = openScoringModel(bundle, { device: 'cpu' });
  const sample = async () => {
    let out = '';
    const w = cliOutput.write;
    cliOutput.write = (c: string) => void (out += c);
    let cli: number;
    try {
      const t0 = performance.now();
      const code = await cliMain(['score', bundle, png, '--device', 'cpu']);
      cli = performance.now() - t0;
      if (code !== 0) throw new Error(`anogen score exited ${code}: ${out}`);
    } finally {
      cliOutput.write = w;
    }
    const t0 = performance.now();
    const { x } = await preprocessFiles([png], model.chain);
    const r = scoreBatch(model, x!, [png], withMaps);
    r.maps?.dispose();
    x!.dispose();
    return { cli, loaded: performance.now() - t0, score: r.rows[0]!.score };
  };
  return { sample, dispose: () => model.dispose() };
}

/** Starts `anogen serve` on a free loopback port; resolves with its URL once it prints it. */
function startServe(home: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      path.join(root, 'src', 'cli', 'main.ts'),
      'serve',
      '--host',
      '127.0.0.1',
      '--port',
      '0',
      '--home',
      home,
      '--workers',
      String(workers),
      '--threads',
      String(threads),
    ],
    { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ANOGEN_HOME: home, ANOGEN_TOKEN: '' } },
  );
  return new Promise((resolve, reject) => {
    let buf = '';
    let err = '';
    const timer = setTimeout(() => reject(new Error(`anogen serve did not print its URL within 120 s; stderr:\n${err}`)), 120_000);
    child.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      const m = /anogen serve: (http:\/\/\S+)/.exec(buf);
      if (m) {
        clearTimeout(timer);
        resolve({ child, url: m[1]!.replace(/\/$/, '') });
      }
    });
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      if (err.length > 20_000) err = err.slice(-10_000);
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`anogen serve exited ${code} before listening; stderr:\n${err}`));
    });
  });
}

async function postScore(url: string, png: Buffer): Promise<{ ms: number; status: number; body: string }> {
  const t0 = performance.now();
  const r = await fetch(url, { method: 'POST', headers: { 'content-type': 'image/png' }, body: new Uint8Array(png) });
  const body = await r.text();
  return { ms: performance.now() - t0, status: r.status, body };
}

/** The dashboard client: GET /api/runs and GET / every 250 ms until `stop()`; latencies per route. */
function dashboardClient(base: string): { stop: () => Promise<void>; samples: Record<string, number[]>; failures: string[] } {
  const samples: Record<string, number[]> = { '/api/runs': [], '/': [] };
  const failures: string[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      const tick = performance.now();
      for (const route of Object.keys(samples)) {
        const t0 = performance.now();
        try {
          const r = await fetch(base + route);
          await r.arrayBuffer();
          const dt = performance.now() - t0;
          if (r.status < 200 || r.status >= 300) failures.push(`${route}: HTTP ${r.status}`);
          else samples[route]!.push(dt);
        } catch (e) {
          failures.push(`${route}: ${(e as Error).message}`);
        }
      }
      const wait = 250 - (performance.now() - tick);
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
  })();
  return {
    samples,
    failures,
    stop: async () => {
      running = false;
      await loop;
    },
  };
}

async function run(): Promise<void> {
  const bundle = ensureBundle();
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'anogen-serve-load-home-'));
  let server: ChildProcess | null = null;
  try {
    const runId = register(home, bundle);
    const pngFile = path.join(home, 'digit-1.png');
    const png = await digitPng(pngFile);
    log(`starting anogen serve --workers ${workers} (home ${home})`);
    const s = await startServe(home);
    server = s.child;
    const scoreUrl = `${s.url}/api/score?bundle=${runId}${withMaps ? '&maps=1' : ''}`;
    // warm every scoring process (each loads the bundle once)
    const warm = await Promise.all(Array.from({ length: workers * 2 }, () => postScore(scoreUrl, png)));
    for (const w of warm) if (w.status !== 200) throw new Error(`warm-up POST /api/score: HTTP ${w.status} ${w.body}`);
    const served = (JSON.parse(warm[0]!.body) as { results: { score: number }[] }).results[0]!.score;
    // the reference and single requests on the idle server, interleaved so both see the same machine load
    log(`reference: anogen score in-process and single requests on the idle server, ${referenceRuns} each, interleaved (after 2 warm-up rounds)`);
    setNumThreads(threads); // as many as one scoring process has
    const sampler = await referenceSampler(bundle, pngFile);
    const ref = { cli: [] as number[], loaded: [] as number[], score: NaN };
    const idle: number[] = [];
    try {
      for (let i = 0; i < referenceRuns + 2; i++) {
        const a = await sampler.sample();
        const r = await postScore(scoreUrl, png);
        if (r.status !== 200) throw new Error(`POST /api/score: HTTP ${r.status} ${r.body}`);
        ref.score = a.score;
        if (i < 2) continue;
        ref.cli.push(a.cli);
        ref.loaded.push(a.loaded);
        idle.push(r.ms);
      }
    } finally {
      sampler.dispose();
    }
    const idleDash = dashboardClient(s.url);
    await new Promise((r) => setTimeout(r, 2000));
    await idleDash.stop();

    log(`load: ${clients} scoring clients for ${duration} s, dashboard client every 250 ms`);
    const dash = dashboardClient(s.url);
    const result = await autocannon({
      url: scoreUrl,
      connections: clients,
      duration,
      method: 'POST',
      headers: { 'content-type': 'image/png' },
      body: png,
      timeout: 30,
    });
    await dash.stop();

    const lat = result.latency;
    const refCli = quantile(ref.cli, 0.5);
    const refLoaded = quantile(ref.loaded, 0.5);
    const idleP50 = quantile(idle, 0.5);
    const lines = [
      `anogen serve load benchmark: ${clients} scoring clients x ${duration} s, --workers ${workers}, ${threads} libtorch thread(s) per scoring process and in-process (${getNumThreads()}), maps ${withMaps ? 'on' : 'off'}, 28x28 PNG (${png.length} bytes), bundle ${bundle} (${os.cpus().length} cores, load average ${os.loadavg()[0]!.toFixed(2)})`,
      `scoring: ${result.requests.average.toFixed(2)} requests/s (${result.requests.total} requests in ${result.duration.toFixed(1)} s), latency p50 ${lat.p50} ms, p99 ${lat.p99} ms, max ${lat.max} ms`,
      `errors ${result.errors}, timeouts ${result.timeouts}, non-2xx ${result.non2xx} (0 expected)`,
      ...Object.entries(dash.samples).map(
        ([route, xs]) =>
          `dashboard under load: GET ${route} p50 ${ms(quantile(xs, 0.5))}, p99 ${ms(quantile(xs, 0.99))}, max ${ms(Math.max(...xs))}, ${xs.filter((v) => v <= 100).length}/${xs.length} within 100 ms (idle server p50 ${ms(quantile(idleDash.samples[route]!, 0.5))})`,
      ),
      `dashboard failures: ${dash.failures.length}${dash.failures.length ? ` (${dash.failures.slice(0, 3).join('; ')})` : ''}`,
      `reference in-process: anogen score <bundle> <png> p50 ${ms(refCli)} (bundle loaded per call); loaded model p50 ${ms(refLoaded)} (decode + preprocess + score)`,
      `idle server, one request at a time: p50 ${ms(idleP50)} = ${(idleP50 / refLoaded).toFixed(2)}x the loaded in-process score`,
      `under load: p50 ${lat.p50} ms = ${(lat.p50 / refLoaded).toFixed(2)}x the loaded in-process score (${clients} clients queue on ${workers} scoring process${workers > 1 ? 'es' : ''}); throughput ${result.requests.average.toFixed(2)} req/s vs ${(1000 / refLoaded).toFixed(2)} scores/s in-process sequentially`,
      `same score: server ${served} vs in-process ${ref.score} (${served === ref.score ? 'equal' : 'DIFFERENT'}); load average at the end ${os.loadavg()[0]!.toFixed(2)}`,
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    if (server && server.exitCode === null) {
      const exited = new Promise((r) => server!.once('exit', r));
      server.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
      if (server.exitCode === null) server.kill('SIGKILL');
    }
    fs.rmSync(home, { recursive: true, force: true });
  }
}

await run();
