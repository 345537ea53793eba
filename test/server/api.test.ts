// anogen serve's JSON API in-process on --port 0 over a temp registry home: every route, scores
// equal to `anogen score`, every bad input of issue 9 answered with a 4xx JSON error (and the
// server still serving afterwards), the token, scoring off the event loop, live SSE steps; and
// the command line: --port 0 prints the real port, SIGTERM stops it (exit 0), a port in use and a
// non-loopback address without a token are one clear line and exit 2. One file: the CLI and the
// tiny bundle are loaded and trained once.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import sharp from 'sharp';
import { Registry } from '../../src/runs/registry.js';
import { startServer, type AnogenServer } from '../../src/server/server.js';
import { runCli } from '../helpers/cli.js';
import { cliOutput } from '../../src/cli/io.js';
import { multipart, request, tempDir, tinyPng, trainTinyBundle, type Answer } from './helpers.js';

const root = tempDir();
const home = path.join(root, 'home');
let server: AnogenServer;
let base: string;
let reg: Registry;
let fx: Awaited<ReturnType<typeof trainTinyBundle>>;
const ids = { train: 0, eval: 0, running: 0, bundleArt: 0, dataArt: 0, reportArt: 0, evaluation: 0 };

const get = (p: string, headers: Record<string, string> = {}) => request(base, 'GET', p, { headers });
/** A 4xx/5xx JSON error whose message matches `re`. */
function isError(a: Answer, status: number, re: RegExp): void {
  assert.equal(a.status, status, `expected ${status}, got ${a.status}: ${a.body.toString().slice(0, 300)}`);
  assert.match(String(a.headers['content-type']), /^application\/json/);
  assert.equal(typeof a.json?.error, 'string');
  assert.match(a.json.error, re);
}
/** The server still answers. */
async function stillServing(): Promise<void> {
  const h = await get('/api/health');
  assert.equal(h.status, 200);
  assert.equal(h.json.ok, true);
}

before(async () => {
  // The server first: its scoring process starts while the bundle trains.
  reg = Registry.open(home);
  server = await startServer({ port: 0, home, maxUploadMb: 1, pollMs: 100, log: () => {} });
  base = server.url;
  fx = await trainTinyBundle(root);
  // The registry rows the server reads, written directly (as train/eval would record them).
  ids.train = reg.startRun({ kind: 'train', model: 'ganomaly', data: fx.data, seed: 1, bundle: fx.bundle, options: { epochs: 1 } });
  reg.addSteps(
    ids.train,
    [1, 2, 3].map((s) => ({ epoch: 1, step: s, t: s * 10, values: { 'loss.g': 2 - s / 10, 'loss.d': 0.7 } })),
  );
  reg.addEpoch(ids.train, { epoch: 1, values: { 'loss.g': 1.8 } });
  ids.bundleArt = reg.addArtifact(ids.train, 'bundle', fx.bundle);
  reg.finishRun(ids.train, 'finished', { summary: { 'loss.g': 1.7 } });
  ids.eval = reg.startRun({ kind: 'eval', model: 'ganomaly', data: fx.data, bundle: fx.bundle });
  const evalDir = path.join(root, 'eval');
  fs.mkdirSync(path.join(evalDir, 'eval-data.files'), { recursive: true });
  const dataPath = path.join(evalDir, 'eval-data.json');
  fs.writeFileSync(
    dataPath,
    JSON.stringify({ version: 1, detector: 'ganomaly', threshold: 0.5, top: [{ name: 'a', score: 2, label: 1, image: 'top-0.png', reconstruction: null, map: null }] }),
  );
  fs.writeFileSync(path.join(evalDir, 'eval-data.files', 'top-0.png'), await tinyPng(1, true));
  fs.symlinkSync(path.join(root, 'secret.txt'), path.join(evalDir, 'eval-data.files', 'link.png'));
  fs.writeFileSync(path.join(root, 'secret.txt'), 'not for clients');
  fs.writeFileSync(path.join(evalDir, 'report.html'), '<!doctype html><title>report</title>');
  ids.evaluation = reg.addEvaluation(ids.eval, { bundle: fx.bundle, results: { auroc: 0.9 }, dataPath });
  ids.dataArt = reg.addArtifact(ids.eval, 'eval-data', dataPath);
  ids.reportArt = reg.addArtifact(ids.eval, 'report', path.join(evalDir, 'report.html'));
  reg.finishRun(ids.eval, 'finished', { summary: { auroc: 0.9 } });
  ids.running = reg.startRun({ kind: 'train', model: 'ae', data: 'mnist' });
  await server.pool.whenReady();
});

after(async () => {
  await server?.close();
  reg?.close();
});

test('runs, run details, metrics, bundles, eval data and artifacts', async () => {
  const h = await get('/api/health');
  assert.deepEqual(Object.keys(h.json).sort(), ['ok', 'version']);
  const all = await get('/api/runs');
  assert.deepEqual(
    all.json.runs.map((r: { id: number }) => r.id),
    [ids.running, ids.eval, ids.train],
  );
  assert.deepEqual(
    (await get('/api/runs?status=finished&kind=train')).json.runs.map((r: { id: number }) => r.id),
    [ids.train],
  );
  assert.deepEqual(
    (await get('/api/runs?model=ae&limit=5')).json.runs.map((r: { id: number }) => r.id),
    [ids.running],
  );
  assert.equal((await get('/api/runs?limit=1')).json.runs.length, 1);
  isError(await get('/api/runs?status=done'), 400, /status="done" is not valid; expected 'running', 'finished', 'failed' or 'interrupted'/);
  isError(await get('/api/runs?limit=0'), 400, /limit="0" is not valid/);
  isError(await get('/api/runs?colour=red'), 400, /unknown query parameter "colour"/);

  const d = await get(`/api/runs/${ids.eval}`);
  assert.equal(d.status, 200);
  assert.equal(d.json.run.parentId, ids.train);
  assert.deepEqual(
    d.json.artifacts.map((a: { kind: string }) => a.kind),
    ['eval-data', 'report'],
  );
  assert.equal(d.json.evaluations[0].id, ids.evaluation);
  assert.deepEqual((await get(`/api/runs/${ids.train}`)).json.children, [ids.eval]);

  const m = await get(`/api/runs/${ids.train}/metrics`);
  assert.deepEqual(
    m.json.steps.map((s: { index: number }) => s.index),
    [1, 2, 3],
  );
  assert.deepEqual(m.json.epochs, [{ epoch: 1, values: { 'loss.g': 1.8 } }]);
  assert.deepEqual(
    (await get(`/api/runs/${ids.train}/metrics?since=2`)).json.steps.map((s: { index: number }) => s.index),
    [3],
  );
  isError(await get(`/api/runs/${ids.train}/metrics?since=x`), 400, /since="x" is not valid/);

  const b = await get('/api/bundles');
  assert.equal(b.json.bundles.length, 1);
  assert.equal(b.json.bundles[0].path, fx.bundle);
  assert.equal(b.json.bundles[0].runId, ids.train);
  assert.equal(b.json.bundles[0].model, 'ganomaly');
  assert.equal(typeof b.json.bundles[0].threshold, 'number');

  // eval data: of the run itself, and of the train run through its eval child
  for (const id of [ids.eval, ids.train]) {
    const e = await get(`/api/runs/${id}/eval-data`);
    assert.equal(e.status, 200);
    assert.equal(e.json.detector, 'ganomaly');
    assert.equal(e.json.runId, ids.eval);
    const img = await get(`${e.json.filesUrl}${encodeURIComponent(e.json.top[0].image)}`);
    assert.equal(img.status, 200);
    assert.equal(img.headers['content-type'], 'image/png');
    assert.equal((await sharp(img.body).metadata()).width, 16);
  }
  isError(await get(`/api/runs/${ids.running}/eval-data`), 404, /has no evaluation data/);

  // artifacts: a file, a folder (400 without ?path=), files inside
  const rep = await get(`/api/artifacts/${ids.reportArt}`);
  assert.equal(rep.status, 200);
  assert.match(String(rep.headers['content-type']), /^text\/html/);
  assert.match(String(rep.headers['content-security-policy']), /^sandbox/, 'an HTML artifact cannot read the dashboard origin');
  isError(await get(`/api/artifacts/${ids.bundleArt}`), 400, /is a bundle folder; ask for one of its files with \?path=.*config\.json/);
  const cfg = await get(`/api/artifacts/${ids.bundleArt}?path=config.json`);
  assert.equal(cfg.status, 200);
  assert.equal(cfg.json.detector, 'ganomaly');
  assert.equal((await get(`/api/artifacts/${ids.bundleArt}/files?path=config.json`)).json.detector, 'ganomaly');
  const png = await get(`/api/artifacts/${ids.dataArt}/files?path=top-0.png`);
  assert.equal(png.status, 200);
  assert.equal(png.headers['content-type'], 'image/png');
  const dj = await get(`/api/artifacts/${ids.dataArt}`);
  assert.equal(dj.json.version, 1);
});

test('static files: / is the dashboard (or the fallback page), content types, no way out of the folder', async () => {
  const index = await get('/');
  assert.equal(index.status, 200);
  assert.match(String(index.headers['content-type']), /^text\/html; charset=utf-8/);
  assert.match(index.body.toString(), /<html/i);
  const dir = path.resolve(import.meta.dirname, '..', '..', 'src', 'server', 'static');
  for (const f of fs.existsSync(dir) ? fs.readdirSync(dir) : []) {
    const a = await get(`/${f}`);
    assert.equal(a.status, 200, f);
    if (f.endsWith('.js')) assert.equal(a.headers['content-type'], 'text/javascript; charset=utf-8');
    if (f.endsWith('.css')) assert.equal(a.headers['content-type'], 'text/css; charset=utf-8');
  }
  isError(await get('/..%2f..%2fpackage.json'), 403, /outside the dashboard's files/);
  isError(await get('/%2e%2e/%2e%2e/package.json'), 404, /no such file/); // the URL parser removes dot segments first
  isError(await get('/no-such-file.js'), 404, /no such file "\/no-such-file.js"/);
  // an empty static folder still serves / (a fallback page) and the API
  const empty = await startServer({ port: 0, home, staticDir: tempDir(), warmup: false, log: () => {} });
  try {
    const r = await request(empty.url, 'GET', '/');
    assert.equal(r.status, 200);
    assert.match(r.body.toString(), /dashboard files are not installed/);
    assert.equal((await request(empty.url, 'GET', '/api/health')).status, 200);
  } finally {
    await empty.close();
  }
});

test('paths leaving the artifacts, unknown runs/artifacts/routes, wrong methods: 4xx JSON errors, server keeps serving', async () => {
  const cases: [string, number, RegExp][] = [
    [`/api/artifacts/${ids.bundleArt}/files?path=../secret.txt`, 403, /path outside the run's artifacts/],
    [`/api/artifacts/${ids.bundleArt}/files?path=%2e%2e%2fsecret.txt`, 403, /path outside the run's artifacts/],
    [`/api/artifacts/${ids.bundleArt}/files?path=..%2F..%2F..%2Fetc%2Fpasswd`, 403, /path outside the run's artifacts/],
    [`/api/artifacts/${ids.bundleArt}/files?path=%2Fetc%2Fpasswd`, 403, /path outside the run's artifacts/],
    [`/api/artifacts/${ids.bundleArt}?path=../secret.txt`, 403, /path outside the run's artifacts/],
    [`/api/artifacts/${ids.dataArt}/files?path=link.png`, 403, /path outside the run's artifacts: "link.png" is a link that leads outside/],
    [`/api/runs/${ids.eval}/evaluations/${ids.evaluation}/files?path=..%2F..%2Fsecret.txt`, 403, /path outside the run's artifacts/],
    [`/api/artifacts/${ids.bundleArt}/files?path=nope.json`, 404, /no file "nope.json" in artifact/],
    [`/api/artifacts/${ids.bundleArt}/files`, 400, /\?path= is required/],
    ['/api/artifacts/999', 404, /no artifact 999 in the registry/],
    ['/api/runs/999', 404, /no run 999 in the registry/],
    ['/api/runs/999/metrics', 404, /no run 999/],
    ['/api/runs/999/events', 404, /no run 999/],
    ['/api/runs/abc', 400, /run id "abc" is not valid; expected a positive integer/],
    ['/api/runs/1/nothing', 404, /unknown route GET \/api\/runs\/1\/nothing/],
    ['/api/nope', 404, /unknown route GET \/api\/nope/],
  ];
  for (const [p, status, re] of cases) {
    isError(await get(p), status, re);
    await stillServing();
  }
  const wrong = await request(base, 'DELETE', `/api/runs/${ids.train}`);
  isError(wrong, 405, /method DELETE is not allowed on \/api\/runs\/\d+; allowed: GET/);
  assert.equal(wrong.headers.allow, 'GET');
  isError(await request(base, 'GET', '/api/score'), 405, /allowed: POST/);
  isError(await request(base, 'POST', '/index.html', { body: 'x' }), 405, /dashboard's files take GET/);
  await stillServing();
});

test('POST /api/score: scores equal `anogen score`, maps as PNG data URLs, raw and JSON bodies, bundle by run id', async () => {
  const cli = await runCli('score', fx.bundle, fx.good, fx.defect, '--json');
  assert.equal(cli.code, 0, cli.err);
  const expected = JSON.parse(cli.out) as { threshold: number; images: { file: string; score: number; normalized: number; anomalous: boolean }[] };
  const close = (a: number, b: number) => assert.ok(Math.abs(a - b) <= 1e-6 * Math.max(1e-12, Math.abs(b)), `${a} vs ${b}`);
  const { body, contentType } = multipart([
    { name: 'good.png', data: fs.readFileSync(fx.good) },
    { name: 'defect.png', data: fs.readFileSync(fx.defect) },
  ]);
  const r = await request(base, 'POST', `/api/score?bundle=${encodeURIComponent(fx.bundle)}&maps=1`, { body, headers: { 'Content-Type': contentType } });
  assert.equal(r.status, 200, r.body.toString());
  assert.equal(r.json.bundle, fx.bundle);
  assert.equal(r.json.results.length, 2);
  for (const [k, row] of (r.json.results as { name: string; score: number; normalized: number; anomalous: boolean; threshold: number; map: string; overlay: string }[]).entries()) {
    assert.equal(row.name, ['good.png', 'defect.png'][k]);
    close(row.score, expected.images[k]!.score);
    close(row.normalized, expected.images[k]!.normalized);
    assert.equal(row.anomalous, expected.images[k]!.anomalous);
    assert.equal(row.threshold, expected.threshold);
    for (const uri of [row.map, row.overlay]) {
      assert.match(uri, /^data:image\/png;base64,/);
      const meta = await sharp(Buffer.from(uri.split(',')[1]!, 'base64')).metadata();
      assert.deepEqual([meta.format, meta.width, meta.height], ['png', 16, 16]);
    }
  }
  // a raw image body, the bundle by run id, no maps by default
  const raw = await request(base, 'POST', `/api/score?bundle=${ids.train}&name=d.png`, { body: fs.readFileSync(fx.defect), headers: { 'Content-Type': 'image/png' } });
  assert.equal(raw.status, 200, raw.body.toString());
  assert.equal(raw.json.results[0].name, 'd.png');
  close(raw.json.results[0].score, expected.images[1]!.score);
  assert.equal(raw.json.results[0].map, null);
  // JSON with base64 images
  const js = await request(base, 'POST', '/api/score', {
    body: JSON.stringify({ bundle: fx.bundle, images: [{ name: 'g.png', data: `data:image/png;base64,${fs.readFileSync(fx.good).toString('base64')}` }] }),
    headers: { 'Content-Type': 'application/json' },
  });
  assert.equal(js.status, 200, js.body.toString());
  close(js.json.results[0].score, expected.images[0]!.score);
});

test('POST /api/score bad input: oversized, not an image, truncated, unknown bundle, malformed bodies; the server keeps serving', async () => {
  const png = fs.readFileSync(fx.defect);
  const big = Buffer.alloc(1024 * 1024 + 10, 7);
  const at = `/api/score?bundle=${encodeURIComponent(fx.bundle)}`;
  const mp = (files: { name: string; data: Buffer; type?: string }[]) => {
    const m = multipart(files);
    return { body: m.body, headers: { 'Content-Type': m.contentType } };
  };
  const cases: [string, Parameters<typeof request>[3], number, RegExp][] = [
    [at, { ...mp([{ name: 'big.png', data: big }]) }, 413, /request body of \d+ bytes is over the upload limit of 1 MiB = 1048576 bytes \(--max-upload-mb\)/],
    [at, { ...mp([{ name: 'big.png', data: big }]), chunked: true }, 413, /more than 1 MiB received.*--max-upload-mb/],
    [at, mp([{ name: 'notes.txt', data: Buffer.from('hello, not an image'), type: 'text/plain' }]), 415, /upload "notes.txt" is not an image/],
    [
      at,
      mp([
        { name: 'ok.png', data: png },
        { name: 'cut.png', data: png.subarray(0, 60) },
      ]),
      422,
      /cut\.png: cannot decode image/,
    ],
    [at, mp([{ name: 'empty.png', data: Buffer.alloc(0) }]), 422, /upload "empty.png" is empty/],
    [at, { body: png.subarray(0, 40), headers: { 'Content-Type': 'image/png' } }, 422, /upload-1: cannot decode image/],
    [at, { body: 'x', headers: { 'Content-Type': 'text/plain' } }, 415, /Content-Type "text\/plain" is not accepted/],
    [at, { body: '{"images": [', headers: { 'Content-Type': 'application/json' } }, 400, /request body is not valid JSON/],
    [at, { body: '{"pictures": []}', headers: { 'Content-Type': 'application/json' } }, 400, /must be an object with an "images" array/],
    [at, { body: '--x\r\nContent-Disposition: form-data; name="file"\r\n\r\nabc', headers: { 'Content-Type': 'multipart/form-data; boundary=x' } }, 400, /no closing boundary/],
    [at, { body: 'abc', headers: { 'Content-Type': 'multipart/form-data' } }, 400, /without a valid boundary/],
    [
      at,
      (({ body, contentType }) => ({ body, headers: { 'Content-Type': contentType } }))(multipart([{ name: 'a.png', data: png }], 'image')),
      400,
      /no 'file' field \(fields: image\)/,
    ],
    ['/api/score?bundle=%2Fno%2Fsuch%2Fbundle', mp([{ name: 'a.png', data: png }]), 404, /bundle "\/no\/such\/bundle" is not a bundle recorded in the registry/],
    ['/api/score?bundle=999', mp([{ name: 'a.png', data: png }]), 404, /bundle=999: no run 999/],
    [`/api/score?bundle=${ids.running}`, mp([{ name: 'a.png', data: png }]), 404, /has no bundle recorded/],
    ['/api/score', mp([{ name: 'a.png', data: png }]), 400, /\?bundle= is required/],
    [`${at}&maps=maybe`, mp([{ name: 'a.png', data: png }]), 400, /maps="maybe" is not valid/],
  ];
  for (const [p, opts, status, re] of cases) {
    isError(await request(base, 'POST', p, opts), status, re);
    await stillServing();
  }
  // fetch (as the dashboard and most programs send) reads the 413 too, not a broken pipe
  const form = new FormData();
  form.append('file', new Blob([big]), 'big.png');
  const viaFetch = await fetch(new URL(at, base), { method: 'POST', body: form });
  assert.equal(viaFetch.status, 413);
  assert.match(((await viaFetch.json()) as { error: string }).error, /over the upload limit of 1 MiB/);
  const ok = await request(base, 'POST', at, mp([{ name: 'a.png', data: png }]));
  assert.equal(ok.status, 200, 'a good upload still scores after the bad ones');
});

test('a slow scoring request does not stall the API: GET /api/runs answers before it', async () => {
  const png = fs.readFileSync(fx.good);
  const { body, contentType } = multipart(Array.from({ length: 100 }, (_, i) => ({ name: `${i}.png`, data: png })));
  const order: string[] = [];
  const scoring = request(base, 'POST', `/api/score?bundle=${encodeURIComponent(fx.bundle)}`, { body, headers: { 'Content-Type': contentType } }).then((a) => {
    order.push('score');
    return a;
  });
  while (server.pool.busyCount === 0) await new Promise((r) => setTimeout(r, 2));
  const runs = await get('/api/runs');
  order.push('runs');
  assert.equal(runs.status, 200);
  const s = await scoring;
  assert.equal(s.status, 200);
  assert.equal(s.json.results.length, 100);
  assert.deepEqual(order, ['runs', 'score'], 'the runs list answered while the scoring process was busy');
});

test('token: required on /api when given (Bearer or ?token=), not on /api/health or static files', async () => {
  const s = await startServer({ port: 0, home, token: 'secret-token-1', warmup: false, log: () => {} });
  try {
    isError(await request(s.url, 'GET', '/api/runs'), 401, /this server requires a token: send Authorization: Bearer <token>/);
    isError(await request(s.url, 'GET', '/api/runs', { headers: { Authorization: 'Bearer wrong-token' } }), 403, /wrong token/);
    isError(await request(s.url, 'GET', '/api/runs?token=wrong-token'), 403, /wrong token/);
    assert.equal((await request(s.url, 'GET', '/api/runs', { headers: { Authorization: 'Bearer secret-token-1' } })).status, 200);
    assert.equal((await request(s.url, 'GET', '/api/runs?token=secret-token-1')).status, 200);
    isError(await request(s.url, 'POST', '/api/score'), 401, /requires a token/);
    assert.equal((await request(s.url, 'GET', '/api/health')).status, 200);
    assert.equal((await request(s.url, 'GET', '/')).status, 200);
  } finally {
    await s.close();
  }
});

/** Reads server-sent events until `until` says stop or the stream ends. */
function readEvents(url: string, until: (events: { event: string; data: any }[]) => boolean): Promise<{ events: { event: string; data: any }[]; ended: boolean }> {
  return new Promise((resolve, reject) => {
    const events: { event: string; data: any }[] = [];
    const req = http.get(url, { agent: false }, (res) => {
      assert.equal(res.headers['content-type'], 'text/event-stream; charset=utf-8');
      let buf = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        buf += c;
        for (let i = buf.indexOf('\n\n'); i >= 0; i = buf.indexOf('\n\n')) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const ev = /^event: (.*)$/m.exec(block);
          const data = /^data: (.*)$/m.exec(block);
          if (ev && data) events.push({ event: ev[1]!, data: JSON.parse(data[1]!) });
        }
        if (until(events)) {
          req.destroy();
          resolve({ events, ended: false });
        }
      });
      res.on('end', () => resolve({ events, ended: true }));
    });
    req.on('error', reject);
  });
}

test('SSE: steps appended to a running run arrive as metrics events; status change, end, and a client disconnect', async () => {
  const id = ids.running;
  const writer = Registry.open(home); // as a training process would
  try {
    writer.addSteps(id, [{ epoch: 1, step: 1, t: 5, values: { loss: 1 } }]);
    const streamed = readEvents(`${base}api/runs/${id}/events`, () => false);
    // the first poll sends the status and the step already there; later steps follow
    await new Promise((r) => setTimeout(r, 250));
    writer.addSteps(id, [
      { epoch: 1, step: 2, t: 10, values: { loss: 0.9 } },
      { epoch: 1, step: 3, t: 15, values: { loss: 0.8 } },
    ]);
    await new Promise((r) => setTimeout(r, 250));
    writer.finishRun(id, 'finished', { summary: { loss: 0.8 } });
    const { events, ended } = await streamed;
    assert.ok(ended, 'the stream ends once the run is no longer running');
    const steps = events.filter((e) => e.event === 'metrics').flatMap((e) => e.data.steps.map((s: { index: number; values: { loss: number } }) => [s.index, s.values.loss]));
    assert.deepEqual(steps, [
      [1, 1],
      [2, 0.9],
      [3, 0.8],
    ]);
    const statuses = events.filter((e) => e.event === 'status').map((e) => e.data.status);
    assert.deepEqual(statuses, ['running', 'finished']);
    assert.equal(events.at(-1)!.event, 'end');
    // resume after step 2 (Last-Event-ID / ?since=): only step 3, then end
    const resumed = await readEvents(`${base}api/runs/${id}/events?since=2`, () => false);
    assert.deepEqual(
      resumed.events.filter((e) => e.event === 'metrics').flatMap((e) => e.data.steps.map((s: { index: number }) => s.index)),
      [3],
    );
    // a client that leaves: the server stops polling for it
    const other = writer.startRun({ kind: 'train', model: 'ae' });
    const first = await readEvents(`${base}api/runs/${other}/events`, (ev) => ev.some((e) => e.event === 'status'));
    assert.equal(first.ended, false);
    for (let i = 0; i < 100 && server.openStreams > 0; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(server.openStreams, 0, 'the disconnected stream was closed');
    writer.finishRun(other, 'finished');
  } finally {
    writer.close();
  }
});

// The command line (in this process: the CLI is loaded already).
test('a port in use: one line naming the port and --port, exit 2', async () => {
  const blocker = net.createServer();
  await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
  const port = (blocker.address() as net.AddressInfo).port;
  try {
    const r = await runCli('serve', '--port', String(port), '--home', tempDir());
    assert.equal(r.code, 2);
    assert.equal(r.err, `anogen serve: port ${port} on 127.0.0.1 is in use (EADDRINUSE); choose another with --port\n`);
    assert.equal(r.out, '');
  } finally {
    blocker.close();
  }
});

test('a non-loopback address needs a token; bad options are errors naming them', async () => {
  const saved = process.env.ANOGEN_TOKEN;
  delete process.env.ANOGEN_TOKEN;
  try {
    const r = await runCli('serve', '--host', '0.0.0.0', '--port', '0', '--home', tempDir());
    assert.equal(r.code, 2);
    assert.match(r.err, /^anogen: error: --host 0\.0\.0\.0 is not a loopback address: give --token T \(or set ANOGEN_TOKEN\)/);
    const short = await runCli('serve', '--host', '0.0.0.0', '--token', 'abc', '--port', '0');
    assert.equal(short.code, 2);
    assert.match(short.err, /--token: too short; use at least 8 characters/);
    const port = await runCli('serve', '--port', '70000');
    assert.equal(port.code, 2);
    assert.match(port.err, /--port: "70000" is not valid; expected a number <= 65535/);
    const extra = await runCli('serve', 'now');
    assert.equal(extra.code, 2);
    assert.match(extra.err, /anogen serve: unexpected argument "now"/);
    const help = await runCli('help', 'serve');
    assert.equal(help.code, 0);
    for (const o of ['--host', '--port', '--home', '--token', '--max-upload-mb', '--bundle-cache', '--workers']) assert.match(help.out, new RegExp(`${o} `));
  } finally {
    if (saved !== undefined) process.env.ANOGEN_TOKEN = saved;
  }
});

test('anogen serve --port 0 prints the real port, serves, and stops on SIGTERM with exit 0', async () => {
  // In this process (spawning another CLI costs seconds): main() until the address line, then SIGTERM's handler.
  const { main } = await import('../../src/cli/main.js');
  let out = '';
  const write = cliOutput.write;
  cliOutput.write = (c: string) => void (out += c);
  const saved = process.env.ANOGEN_TOKEN;
  delete process.env.ANOGEN_TOKEN;
  let running: Promise<number> | null = null;
  try {
    running = main(['serve', '--port', '0', '--home', tempDir()]);
    let m: RegExpExecArray | null = null;
    while ((m = /^anogen serve: (http:\/\/127\.0\.0\.1:(\d+)\/)\n$/.exec(out)) === null) {
      const done: number | null = await Promise.race([running, new Promise<null>((r) => setTimeout(() => r(null), 10))]);
      if (done !== null) assert.fail(`anogen serve ended (${String(done)}) before printing its address`);
    }
    assert.notEqual(m[2], '0');
    const h = await request(m[1]!, 'GET', '/api/health');
    assert.equal(h.status, 200);
    assert.equal(h.json.ok, true);
    assert.equal(process.listenerCount('SIGTERM') > 0, true);
    process.emit('SIGTERM');
    assert.equal(await running, 0);
    running = null;
    await assert.rejects(request(m[1]!, 'GET', '/api/health'), /ECONNREFUSED/, 'the server stopped listening');
  } finally {
    if (running !== null) {
      process.emit('SIGTERM');
      await running;
    }
    cliOutput.write = write;
    if (saved !== undefined) process.env.ANOGEN_TOKEN = saved;
  }
});
