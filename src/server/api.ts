/**
 * The JSON API of `anogen serve` over the run registry: runs, metrics, artifacts, evaluation
 * data, bundles, and scoring (see src/server/README.md for every route with examples).
 * Each handler answers or throws an HttpError; server.ts routes, authenticates and turns
 * errors into `{ error }` answers.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { validList } from '../core/errors.js';
import { ANOGEN_VERSION } from '../detectors/version.js';
import { evalDataFilesDir } from '../pipeline/eval-data.js';
import { RUN_KINDS, RUN_STATUSES, type Artifact, type Evaluation, type Registry, type RunFilter, type RunKind, type RunRecord, type RunStatus } from '../runs/registry.js';
import { checkContentLength, HttpError, readBody, sendJson } from './http.js';
import { resolveInside, sendFile } from './files.js';
import { extractUploads } from './uploads.js';
import type { ScoringPool } from './pool.js';
import { streamRunEvents } from './events.js';

/** What the handlers share. */
export interface ApiContext {
  registry: Registry;
  pool: ScoringPool;
  /** Upload limit in bytes. */
  maxUploadBytes: number;
  /** SSE poll interval (ms). */
  pollMs: number;
  /** Open event streams, ended when the server closes. */
  streams: Set<() => void>;
}

/**
 * Headers of files served from runs' artifacts: never cached (a bundle or report may be
 * rewritten), and sandboxed, so that an HTML artifact (a report) opened from the dashboard runs
 * in its own origin and cannot read the dashboard's stored token.
 */
const ARTIFACT_HEADERS = { 'Cache-Control': 'no-cache', 'Content-Security-Policy': 'sandbox allow-scripts allow-popups' };

/** The message of a 403 for a path leaving the artifacts (tests match it). */
export const OUTSIDE = "path outside the run's artifacts";

/** A positive integer id from a URL segment (400 otherwise). */
export function parseId(s: string, what: string): number {
  const n = Number(s);
  if (!/^\d{1,15}$/.test(s) || !Number.isSafeInteger(n) || n < 1) throw new HttpError(400, `${what} ${JSON.stringify(s)} is not valid; expected a positive integer`);
  return n;
}

function requireRun(ctx: ApiContext, id: number): RunRecord {
  const run = ctx.registry.getRun(id);
  if (run === null) throw new HttpError(404, `no run ${id} in the registry (${ctx.registry.home}); GET /api/runs lists the runs`);
  return run;
}

function requireArtifact(ctx: ApiContext, id: number): Artifact {
  const a = ctx.registry.artifact(id);
  if (a === null) throw new HttpError(404, `no artifact ${id} in the registry; GET /api/runs/:id lists a run's artifacts`);
  return a;
}

/** GET /api/health */
export function health(res: ServerResponse): void {
  sendJson(res, 200, { ok: true, version: ANOGEN_VERSION });
}

/** GET /api/runs?model=&data=&status=&kind=&limit= */
export function listRuns(ctx: ApiContext, res: ServerResponse, q: URLSearchParams): void {
  const known = ['model', 'data', 'status', 'kind', 'limit', 'token'];
  for (const k of q.keys()) if (!known.includes(k)) throw new HttpError(400, `unknown query parameter ${JSON.stringify(k)}; valid: ${known.slice(0, 5).join(', ')}`);
  const f: RunFilter = {};
  const model = q.get('model');
  const data = q.get('data');
  if (model) f.model = model;
  if (data) f.data = data;
  const status = q.get('status');
  if (status) {
    if (!(RUN_STATUSES as readonly string[]).includes(status)) throw new HttpError(400, `status=${JSON.stringify(status)} is not valid; expected ${validList(RUN_STATUSES)}`);
    f.status = status as RunStatus;
  }
  const kind = q.get('kind');
  if (kind) {
    if (!(RUN_KINDS as readonly string[]).includes(kind)) throw new HttpError(400, `kind=${JSON.stringify(kind)} is not valid; expected ${validList(RUN_KINDS)}`);
    f.kind = kind as RunKind;
  }
  const limit = q.get('limit');
  if (limit) {
    const n = Number(limit);
    if (!/^\d+$/.test(limit) || n < 1 || n > 100000) throw new HttpError(400, `limit=${JSON.stringify(limit)} is not valid; expected an integer from 1 to 100000`);
    f.limit = n;
  }
  sendJson(res, 200, { runs: ctx.registry.listRuns(f) });
}

/** GET /api/runs/:id */
export function getRun(ctx: ApiContext, res: ServerResponse, id: number): void {
  const run = requireRun(ctx, id);
  sendJson(res, 200, { run, artifacts: ctx.registry.artifacts(id), evaluations: ctx.registry.evaluations(id), children: ctx.registry.children(id).map((r) => r.id) });
}

/** The `since` query parameter: steps with a larger index (default 0: all). */
function parseSince(q: URLSearchParams, header?: string | string[]): number {
  const raw = q.get('since') ?? (typeof header === 'string' ? header : null);
  if (raw === null || raw === '') return 0;
  if (!/^-?\d{1,15}$/.test(raw)) throw new HttpError(400, `since=${JSON.stringify(raw)} is not valid; expected a step index (an integer; steps with a larger index are sent)`);
  return Number(raw);
}

/** GET /api/runs/:id/metrics?since=N */
export function metrics(ctx: ApiContext, res: ServerResponse, id: number, q: URLSearchParams): void {
  requireRun(ctx, id);
  const since = parseSince(q);
  sendJson(res, 200, { steps: ctx.registry.steps(id, since), epochs: ctx.registry.epochs(id) });
}

/** GET /api/runs/:id/events (SSE, see ./events.ts) */
export function events(ctx: ApiContext, req: IncomingMessage, res: ServerResponse, id: number, q: URLSearchParams): void {
  requireRun(ctx, id);
  const since = parseSince(q, req.headers['last-event-id']);
  let end: (() => void) | null = null;
  end = streamRunEvents(req, res, ctx.registry, id, { pollMs: ctx.pollMs, since, onClose: () => end !== null && ctx.streams.delete(end) });
  if (!res.writableEnded) ctx.streams.add(end);
}

/** The newest evaluation with eval data of run `id` or of its eval child runs. */
function newestEvalData(ctx: ApiContext, id: number): Evaluation | null {
  const runs = [id, ...ctx.registry.children(id).map((r) => r.id)];
  let best: Evaluation | null = null;
  for (const r of runs) for (const e of ctx.registry.evaluations(r)) if (e.dataPath !== null && (best === null || e.id > best.id)) best = e;
  return best;
}

/** The folder of an eval-data (or any file) artifact's images: `<name>.files/` beside `<name>.json`. */
export function filesFolderOf(file: string): string {
  return path.join(path.dirname(file), `${path.basename(file).replace(/\.[^.]*$/, '')}.files`);
}

/**
 * GET /api/runs/:id/eval-data: the EvalData JSON of the newest evaluation of the run (or of its
 * eval child runs), with added fields `runId`, `evaluationId` and `filesUrl` (prefix of the URL
 * of its image files: append an encodeURIComponent'ed file name).
 */
export function evalData(ctx: ApiContext, res: ServerResponse, id: number): void {
  requireRun(ctx, id);
  const e = newestEvalData(ctx, id);
  if (e === null) throw new HttpError(404, `run ${id} has no evaluation data (eval-data.json): evaluate its bundle with anogen eval (without --no-eval-data)`);
  let data: unknown;
  try {
    data = JSON.parse(fs.readFileSync(e.dataPath!, 'utf8'));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new HttpError(404, `the evaluation data of run ${e.runId} (${e.dataPath}) cannot be read: ${code === 'ENOENT' ? 'the file is gone' : (err as Error).message}`);
  }
  if (data === null || typeof data !== 'object' || Array.isArray(data)) throw new HttpError(500, `the evaluation data ${e.dataPath} is not a JSON object`);
  sendJson(res, 200, { ...(data as object), runId: e.runId, evaluationId: e.id, filesUrl: `/api/runs/${e.runId}/evaluations/${e.id}/files?path=` });
}

/** GET /api/runs/:id/evaluations/:evalId/files?path=REL: a file of the evaluation data's `<name>.files/` folder. */
export async function evaluationFile(ctx: ApiContext, req: IncomingMessage, res: ServerResponse, id: number, evalId: number, q: URLSearchParams): Promise<void> {
  requireRun(ctx, id);
  const e = ctx.registry.evaluations(id).find((x) => x.id === evalId);
  if (e === undefined) throw new HttpError(404, `run ${id} has no evaluation ${evalId}`);
  if (e.dataPath === null) throw new HttpError(404, `evaluation ${evalId} of run ${id} wrote no evaluation data`);
  const file = resolveInside(evalDataFilesDir(e.dataPath), q.get('path'), OUTSIDE, `the files of evaluation ${evalId} of run ${id}`);
  await sendFile(req, res, file, ARTIFACT_HEADERS);
}

function isDir(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/**
 * GET /api/artifacts/:aid[?path=REL]: the artifact's file; a folder artifact (a bundle) needs
 * `?path=` (a file inside it).
 */
export async function artifactFile(ctx: ApiContext, req: IncomingMessage, res: ServerResponse, aid: number, q: URLSearchParams): Promise<void> {
  const a = requireArtifact(ctx, aid);
  if (q.has('path')) return artifactInner(ctx, req, res, aid, q);
  if (!fs.existsSync(a.path)) throw new HttpError(404, `artifact ${aid} (${a.kind}) is gone from disk: ${a.path}`);
  if (isDir(a.path)) {
    const names = fs.readdirSync(a.path).slice(0, 20);
    throw new HttpError(400, `artifact ${aid} is a ${a.kind} folder; ask for one of its files with ?path= (e.g. ${names.join(', ')})`);
  }
  await sendFile(req, res, a.path, ARTIFACT_HEADERS);
}

/** GET /api/artifacts/:aid/files?path=REL: a file under a folder artifact, or under a file artifact's `<name>.files/` sibling. */
export async function artifactInner(ctx: ApiContext, req: IncomingMessage, res: ServerResponse, aid: number, q: URLSearchParams): Promise<void> {
  const a = requireArtifact(ctx, aid);
  const base = isDir(a.path) ? a.path : filesFolderOf(a.path);
  const file = resolveInside(base, q.get('path'), OUTSIDE, `artifact ${aid} (${a.kind})`);
  await sendFile(req, res, file, ARTIFACT_HEADERS);
}

/** A bundle's detector and Φ from its config.json (nulls when unreadable). */
function bundleInfo(dir: string): { exists: boolean; detector: string | null; threshold: number | null } {
  try {
    const c = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')) as { detector?: unknown; calibration?: { threshold?: { value?: unknown } } | null };
    const t = c.calibration?.threshold?.value;
    return { exists: true, detector: typeof c.detector === 'string' ? c.detector : null, threshold: typeof t === 'number' ? t : null };
  } catch {
    return { exists: false, detector: null, threshold: null };
  }
}

/** GET /api/bundles: every bundle recorded as an artifact, newest first, one row per folder. */
export function bundles(ctx: ApiContext, res: ServerResponse): void {
  const seen = new Set<string>();
  const out: { path: string; runId: number; artifactId: number; model: string | null; threshold: number | null; exists: boolean }[] = [];
  for (const a of ctx.registry.allArtifacts('bundle')) {
    if (seen.has(a.path)) continue;
    seen.add(a.path);
    const run = ctx.registry.getRun(a.runId);
    const info = bundleInfo(a.path);
    out.push({ path: a.path, runId: a.runId, artifactId: a.id, model: run?.model ?? info.detector, threshold: info.threshold, exists: info.exists });
  }
  sendJson(res, 200, { bundles: out });
}

/** The bundle folder named by `?bundle=` (a recorded bundle path, or a run id): 404 for anything else. */
export function resolveBundle(ctx: ApiContext, spec: string | null): { path: string; runId: number } {
  if (spec === null || spec === '') throw new HttpError(400, '?bundle= is required: a bundle path from GET /api/bundles, or a run id');
  const recorded = ctx.registry.allArtifacts('bundle');
  if (/^\d{1,15}$/.test(spec)) {
    const id = Number(spec);
    const run = ctx.registry.getRun(id);
    if (run === null) throw new HttpError(404, `bundle=${spec}: no run ${id} in the registry; give a run id or a bundle path from GET /api/bundles`);
    const own = recorded.find((a) => a.runId === id);
    if (own !== undefined) return { path: own.path, runId: id };
    if (run.bundle !== null && recorded.some((a) => a.path === run.bundle)) return { path: run.bundle, runId: id };
    throw new HttpError(404, `bundle=${spec}: run ${id} (${run.kind}) has no bundle recorded in the registry`);
  }
  const abs = path.resolve(spec);
  let real = abs;
  try {
    real = fs.realpathSync(abs);
  } catch {
    /* compared as given */
  }
  const hit = recorded.find((a) => a.path === abs || a.path === real);
  if (hit === undefined) throw new HttpError(404, `bundle ${JSON.stringify(spec)} is not a bundle recorded in the registry; GET /api/bundles lists them (or give a run id)`);
  return { path: hit.path, runId: hit.runId };
}

/** A boolean query flag: 1/true/yes or 0/false/no (default false). */
function flag(q: URLSearchParams, name: string): boolean {
  const v = q.get(name);
  if (v === null || v === '') return false;
  if (/^(1|true|yes)$/i.test(v)) return true;
  if (/^(0|false|no)$/i.test(v)) return false;
  throw new HttpError(400, `${name}=${JSON.stringify(v)} is not valid; expected 1 or 0`);
}

/**
 * POST /api/score?bundle=<path or run id>&maps=1: scores the uploaded images (multipart `file`
 * fields, a raw image/* body, or JSON { images }) in a scoring process.
 */
export async function score(ctx: ApiContext, req: IncomingMessage, res: ServerResponse, q: URLSearchParams): Promise<void> {
  let maps = flag(q, 'maps');
  checkContentLength(req, ctx.maxUploadBytes, '--max-upload-mb'); // 413 before anything else
  // A bundle named in the query is checked before the body is read (a JSON body may name it instead).
  let b = q.get('bundle') ? resolveBundle(ctx, q.get('bundle')) : null;
  const body = await readBody(req, res, ctx.maxUploadBytes, '--max-upload-mb');
  const { images, json } = extractUploads(body, req.headers['content-type'], q);
  if (json !== null) {
    if (b === null && (typeof json.bundle === 'string' || typeof json.bundle === 'number')) b = resolveBundle(ctx, String(json.bundle));
    if (json.maps !== undefined) maps = json.maps === true || json.maps === 1 || json.maps === '1';
  }
  b ??= resolveBundle(ctx, null);
  if (!fs.existsSync(path.join(b.path, 'config.json')))
    throw new HttpError(404, `bundle ${b.path} (run ${b.runId}) is recorded in the registry but its folder or config.json is gone`);
  const answer = await ctx.pool.score(
    b.path,
    images.map((u) => ({ name: u.name, data: u.data })),
    maps,
  );
  if (res.destroyed) return;
  sendJson(res, 200, { bundle: b.path, runId: b.runId, detector: answer.detector, threshold: answer.threshold, mapScale: answer.mapScale, results: answer.results });
}
