/**
 * The run registry: every `train`, `eval` and `benchmark` run, its per-step and per-epoch
 * metrics, its artifacts (bundles, reports, results) and evaluations, in one SQLite database
 * (`<home>/anogen.db`, better-sqlite3, WAL mode). See src/runs/README.md for the schema.
 *
 * Crash safety: SQLite's WAL keeps every committed transaction through a SIGKILL; a run whose
 * process died stays 'running' until the next {@link Registry.open} (or
 * {@link Registry.markStale}) marks it 'failed' ("no heartbeat since <time> (process <pid> gone)").
 * Schema: `PRAGMA user_version` is the schema version; {@link MIGRATIONS} bring an older database
 * up to date in order, and a database newer than this anogen knows is refused.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { AnogenError } from '../core/errors.js';
import { torchVersion } from '../core/runtime.js';
import { ANOGEN_VERSION } from '../detectors/version.js';

/** What a run did. */
export type RunKind = 'train' | 'eval' | 'benchmark';
/** Where a run stands. */
export type RunStatus = 'running' | 'finished' | 'failed' | 'interrupted';

/** Every kind of run. */
export const RUN_KINDS: readonly RunKind[] = ['train', 'eval', 'benchmark'];
/** Every status of a run. */
export const RUN_STATUSES: readonly RunStatus[] = ['running', 'finished', 'failed', 'interrupted'];
/** Every kind of artifact. */
export const ARTIFACT_KINDS: readonly Artifact['kind'][] = ['bundle', 'report', 'results', 'scores', 'benchmark', 'eval-data'];

/** One run. Times are ISO 8601 (UTC). */
export interface RunRecord {
  id: number;
  kind: RunKind;
  /** The detector (train, eval), or the comma-separated detectors (benchmark). */
  model: string | null;
  /** The dataset ('mnist', or an absolute folder path). */
  data: string | null;
  /** The data protocol (the bundle's protocol record for train/eval). */
  protocol: unknown;
  /** The run's options (the request; `resumedFrom` for a resumed training). */
  options: Record<string, unknown>;
  seed: number | null;
  status: RunStatus;
  /** Why the run failed or was interrupted (null otherwise). */
  error: string | null;
  startedAt: string;
  finishedAt: string | null;
  /** Last sign of life of the recording process. */
  heartbeatAt: string;
  pid: number;
  host: string;
  anogenVersion: string;
  torchVersion: string;
  nodeVersion: string;
  /** Absolute path of the bundle trained (train) or evaluated (eval). */
  bundle: string | null;
  /** eval run -> the train run that made the bundle (looked up by bundle path). */
  parentId: number | null;
  /** Headline numbers: auroc, auprc, f1, final loss values (`loss.<name>`), seconds. */
  summary: Record<string, number>;
}

/** The losses of one training step. */
export interface StepMetric {
  epoch: number;
  /** Step within the epoch (1-based). */
  step: number;
  /** Milliseconds since the run started. */
  t: number;
  values: Record<string, number>;
}

/** Metrics of one epoch (e.g. the mean step losses). */
export interface EpochMetric {
  epoch: number;
  values: Record<string, number>;
}

/** A file or folder a run produced. */
export interface Artifact {
  id: number;
  runId: number;
  kind: 'bundle' | 'report' | 'results' | 'scores' | 'benchmark' | 'eval-data';
  /** Absolute path. */
  path: string;
}

/** One evaluation's results. */
export interface Evaluation {
  id: number;
  runId: number;
  /** Absolute bundle path. */
  bundle: string;
  /** The results.json contents. */
  results: unknown;
  /** Absolute path of the eval-data.json written for the dashboard, or null. */
  dataPath: string | null;
}

/** Filters of {@link Registry.listRuns} (every one optional). */
export interface RunFilter {
  /** Exact detector name (a benchmark matches when it lists it). */
  model?: string;
  /** Dataset name or folder: matches the recorded data exactly or its last path component. */
  data?: string;
  status?: RunStatus;
  kind?: RunKind;
  /** Newest N runs (default all). */
  limit?: number;
}

/** Name of the database file inside the home folder. */
export const DB_FILE = 'anogen.db';

/** A run 'running' whose heartbeat is older than this is considered dead (ms). */
export const STALE_MS = 30_000;

/**
 * The schema, one migration per version: MIGRATIONS[i] brings a database from user_version i to
 * i + 1. Append new migrations; never edit a released one.
 */
export const MIGRATIONS: readonly string[] = [
  // v1: runs, their metrics, artifacts and evaluations
  `CREATE TABLE runs (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     kind TEXT NOT NULL,
     model TEXT,
     data TEXT,
     protocol TEXT,
     options TEXT NOT NULL DEFAULT '{}',
     seed INTEGER,
     status TEXT NOT NULL,
     error TEXT,
     started_at TEXT NOT NULL,
     finished_at TEXT,
     heartbeat_at TEXT NOT NULL,
     pid INTEGER NOT NULL,
     host TEXT NOT NULL,
     anogen_version TEXT NOT NULL,
     torch_version TEXT NOT NULL,
     node_version TEXT NOT NULL,
     bundle TEXT,
     parent_id INTEGER REFERENCES runs(id) ON DELETE SET NULL,
     summary TEXT NOT NULL DEFAULT '{}'
   );
   CREATE TABLE steps (
     run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
     idx INTEGER NOT NULL,
     epoch INTEGER NOT NULL,
     step INTEGER NOT NULL,
     t REAL NOT NULL,
     vals TEXT NOT NULL,
     PRIMARY KEY (run_id, idx)
   ) WITHOUT ROWID;
   CREATE TABLE epochs (
     run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
     epoch INTEGER NOT NULL,
     vals TEXT NOT NULL,
     PRIMARY KEY (run_id, epoch)
   ) WITHOUT ROWID;
   CREATE TABLE artifacts (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
     kind TEXT NOT NULL,
     path TEXT NOT NULL,
     created_at TEXT NOT NULL
   );
   CREATE TABLE evaluations (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
     bundle TEXT NOT NULL,
     results TEXT NOT NULL,
     data_path TEXT,
     created_at TEXT NOT NULL
   );`,
  // v2: indexes for the lookups the CLI and the server make
  `CREATE INDEX runs_status ON runs (status);
   CREATE INDEX runs_model ON runs (model);
   CREATE INDEX runs_parent ON runs (parent_id);
   CREATE INDEX artifacts_run ON artifacts (run_id);
   CREATE INDEX artifacts_path ON artifacts (path, kind);
   CREATE INDEX evaluations_run ON evaluations (run_id);`,
];

/** The schema version this anogen writes. */
export const SCHEMA_VERSION = MIGRATIONS.length;

/**
 * The registry's home folder: `opt` (`--home`) > the ANOGEN_HOME environment variable >
 * `~/.anogen`; returned absolute.
 */
export function resolveHome(opt?: string): string {
  const h = opt ?? (process.env.ANOGEN_HOME ? process.env.ANOGEN_HOME : path.join(os.homedir(), '.anogen'));
  return path.resolve(h);
}

/** True when process `pid` exists on this machine (EPERM: it exists but belongs to someone else). */
export function pidAlive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

interface RunRow {
  id: number;
  kind: string;
  model: string | null;
  data: string | null;
  protocol: string | null;
  options: string;
  seed: number | null;
  status: string;
  error: string | null;
  started_at: string;
  finished_at: string | null;
  heartbeat_at: string;
  pid: number;
  host: string;
  anogen_version: string;
  torch_version: string;
  node_version: string;
  bundle: string | null;
  parent_id: number | null;
  summary: string;
}

const parseJson = (s: string | null, fallback: unknown): unknown => {
  if (s === null) return fallback;
  try {
    return JSON.parse(s) as unknown;
  } catch {
    return fallback;
  }
};

function toRecord(r: RunRow): RunRecord {
  return {
    id: r.id,
    kind: r.kind as RunKind,
    model: r.model,
    data: r.data,
    protocol: parseJson(r.protocol, null),
    options: parseJson(r.options, {}) as Record<string, unknown>,
    seed: r.seed,
    status: r.status as RunStatus,
    error: r.error,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
    heartbeatAt: r.heartbeat_at,
    pid: r.pid,
    host: r.host,
    anogenVersion: r.anogen_version,
    torchVersion: r.torch_version,
    nodeVersion: r.node_version,
    bundle: r.bundle,
    parentId: r.parent_id,
    summary: parseJson(r.summary, {}) as Record<string, number>,
  };
}

/** JSON text of `v`, non-finite numbers as null (JSON has none). */
const json = (v: unknown): string => JSON.stringify(v ?? null);

/** Finite numbers only (NaN/Infinity dropped: JSON cannot hold them). */
function finiteValues(v: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, x] of Object.entries(v)) if (typeof x === 'number' && Number.isFinite(x)) out[k] = x;
  return out;
}

let torchVersionCache: string | null = null;
function torchVersionSafe(): string {
  if (torchVersionCache === null) {
    try {
      torchVersionCache = torchVersion();
    } catch {
      torchVersionCache = 'unknown';
    }
  }
  return torchVersionCache;
}

/** The run registry (one SQLite connection; synchronous, safe to share between processes). */
export class Registry {
  /** The database file. */
  readonly file: string;
  /** The home folder. */
  readonly home: string;
  private readonly db: Database.Database;

  private constructor(home: string, db: Database.Database) {
    this.home = home;
    this.file = path.join(home, DB_FILE);
    this.db = db;
  }

  /**
   * Opens (creating the folder and database when missing) the registry in `home` (default
   * {@link resolveHome}()), migrates it to {@link SCHEMA_VERSION}, and marks runs whose process
   * is gone failed ({@link markStale}). AnogenError when the folder cannot be made, the file is
   * not an SQLite database, or its schema is newer than this anogen knows.
   */
  static open(home?: string): Registry {
    const dir = resolveHome(home);
    const file = path.join(dir, DB_FILE);
    try {
      fs.mkdirSync(dir, { recursive: true });
    } catch (e) {
      throw new AnogenError(`run registry: cannot create the folder ${dir} (${(e as Error).message}); set --home or ANOGEN_HOME to a writable folder`);
    }
    if (!fs.statSync(dir).isDirectory()) throw new AnogenError(`run registry: ${dir} is not a folder; set --home or ANOGEN_HOME to a folder`);
    let db: Database.Database;
    try {
      db = new Database(file);
    } catch (e) {
      throw new AnogenError(`run registry: cannot open ${file} (${(e as Error).message})`);
    }
    try {
      db.pragma('busy_timeout = 5000');
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL');
      db.pragma('foreign_keys = ON');
      migrate(db, file);
    } catch (e) {
      db.close();
      if (e instanceof AnogenError) throw e;
      const code = (e as { code?: string }).code;
      if (code === 'SQLITE_NOTADB' || code === 'SQLITE_CORRUPT')
        throw new AnogenError(`run registry: ${file} is not an anogen database (${(e as Error).message}); move it away or set --home / ANOGEN_HOME to another folder`);
      throw new AnogenError(`run registry: cannot use ${file} (${(e as Error).message})`);
    }
    const reg = new Registry(dir, db);
    reg.markStale();
    return reg;
  }

  /**
   * Marks 'running' runs failed whose process is gone: same host and the pid is not alive, or
   * (any host) no heartbeat for {@link STALE_MS} (default `now` = the current time). Returns
   * their ids.
   */
  markStale(now: number = Date.now()): number[] {
    const host = os.hostname();
    const rows = this.db.prepare("SELECT id, pid, host, heartbeat_at FROM runs WHERE status = 'running'").all() as Pick<RunRow, 'id' | 'pid' | 'host' | 'heartbeat_at'>[];
    const stale = rows.filter((r) => (r.host === host && !pidAlive(r.pid)) || now - Date.parse(r.heartbeat_at) > STALE_MS);
    const upd = this.db.prepare("UPDATE runs SET status = 'failed', error = ?, finished_at = ? WHERE id = ? AND status = 'running'");
    this.db.transaction(() => {
      for (const r of stale) upd.run(`no heartbeat since ${r.heartbeat_at} (process ${r.pid} gone)`, new Date(now).toISOString(), r.id);
    })();
    return stale.map((r) => r.id);
  }

  /** Records a new run 'running' by this process; returns its id. An eval run's parent is the train run whose bundle artifact is `bundle`. */
  startRun(r: {
    kind: RunKind;
    model?: string | null;
    data?: string | null;
    protocol?: unknown;
    options?: Record<string, unknown>;
    seed?: number | null;
    bundle?: string | null;
  }): number {
    const now = new Date().toISOString();
    const bundle = r.bundle ? path.resolve(r.bundle) : null;
    const parentId = r.kind === 'eval' && bundle !== null ? this.bundleRun(bundle) : null;
    const info = this.db
      .prepare(
        `INSERT INTO runs (kind, model, data, protocol, options, seed, status, started_at, heartbeat_at, pid, host, anogen_version, torch_version, node_version, bundle, parent_id)
         VALUES (?, ?, ?, ?, ?, ?, 'running', ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        r.kind,
        r.model ?? null,
        r.data ?? null,
        json(r.protocol ?? null),
        json(r.options ?? {}),
        r.seed ?? null,
        now,
        now,
        process.pid,
        os.hostname(),
        ANOGEN_VERSION,
        torchVersionSafe(),
        process.version,
        bundle,
        parentId,
      );
    return Number(info.lastInsertRowid);
  }

  /** The newest train run with a 'bundle' artifact at `bundle` (absolute), or null. */
  bundleRun(bundle: string): number | null {
    const row = this.db
      .prepare("SELECT a.run_id AS id FROM artifacts a JOIN runs r ON r.id = a.run_id WHERE a.kind = 'bundle' AND a.path = ? AND r.kind = 'train' ORDER BY a.id DESC LIMIT 1")
      .get(path.resolve(bundle)) as { id: number } | undefined;
    return row?.id ?? null;
  }

  /** Changes fields of run `id` known only later (e.g. the protocol record once the splits are built); absent fields are kept. */
  updateRun(
    id: number,
    f: { model?: string | null; data?: string | null; protocol?: unknown; options?: Record<string, unknown>; seed?: number | null; bundle?: string | null },
  ): void {
    const cols: string[] = [];
    const args: unknown[] = [];
    const set = (col: string, v: unknown): void => {
      cols.push(`${col} = ?`);
      args.push(v);
    };
    if (f.model !== undefined) set('model', f.model);
    if (f.data !== undefined) set('data', f.data);
    if (f.protocol !== undefined) set('protocol', json(f.protocol));
    if (f.options !== undefined) set('options', json(f.options));
    if (f.seed !== undefined) set('seed', f.seed);
    if (f.bundle !== undefined) set('bundle', f.bundle === null ? null : path.resolve(f.bundle));
    if (cols.length === 0) return;
    this.db.prepare(`UPDATE runs SET ${cols.join(', ')} WHERE id = ?`).run(...args, id);
  }

  /** Notes that run `id`'s process is alive (a run marked failed for a missed heartbeat becomes 'running' again). */
  heartbeat(id: number): void {
    this.db
      .prepare(
        "UPDATE runs SET heartbeat_at = ?, status = 'running', error = NULL, finished_at = NULL WHERE id = ? AND (status = 'running' OR (status = 'failed' AND error LIKE 'no heartbeat since %'))",
      )
      .run(new Date().toISOString(), id);
  }

  /**
   * Appends steps in one transaction (also a heartbeat). Each step's `index` (its global step
   * number, increasing) is `steps[i].index` when given, else one more than the run's last.
   */
  addSteps(id: number, steps: (StepMetric & { index?: number })[]): void {
    if (steps.length === 0) return;
    const last = this.db.prepare('SELECT MAX(idx) AS m FROM steps WHERE run_id = ?');
    const ins = this.db.prepare('INSERT OR REPLACE INTO steps (run_id, idx, epoch, step, t, vals) VALUES (?, ?, ?, ?, ?, ?)');
    this.db.transaction(() => {
      let next = ((last.get(id) as { m: number | null }).m ?? 0) + 1;
      for (const s of steps) {
        const idx = s.index !== undefined && Number.isSafeInteger(s.index) ? s.index : next;
        ins.run(id, idx, s.epoch, s.step, s.t, json(finiteValues(s.values)));
        next = idx + 1;
      }
      this.heartbeat(id);
    })();
  }

  /** Records (or replaces) one epoch's metrics. */
  addEpoch(id: number, m: EpochMetric): void {
    this.db.prepare('INSERT OR REPLACE INTO epochs (run_id, epoch, vals) VALUES (?, ?, ?)').run(id, m.epoch, json(finiteValues(m.values)));
  }

  /** Records an artifact of run `id` (path made absolute); returns its id. */
  addArtifact(id: number, kind: Artifact['kind'], p: string): number {
    const info = this.db.prepare('INSERT INTO artifacts (run_id, kind, path, created_at) VALUES (?, ?, ?, ?)').run(id, kind, path.resolve(p), new Date().toISOString());
    return Number(info.lastInsertRowid);
  }

  /** Records an evaluation of run `id`; returns its id. */
  addEvaluation(id: number, e: { bundle: string; results: unknown; dataPath: string | null }): number {
    const info = this.db
      .prepare('INSERT INTO evaluations (run_id, bundle, results, data_path, created_at) VALUES (?, ?, ?, ?, ?)')
      .run(id, path.resolve(e.bundle), json(e.results), e.dataPath === null ? null : path.resolve(e.dataPath), new Date().toISOString());
    return Number(info.lastInsertRowid);
  }

  /** Ends run `id` with `status`; `summary` (finite numbers) replaces the run's, `error` says why it failed. */
  finishRun(id: number, status: Exclude<RunStatus, 'running'>, o: { summary?: Record<string, number>; error?: string } = {}): void {
    const now = new Date().toISOString();
    if (o.summary !== undefined) {
      this.db
        .prepare('UPDATE runs SET status = ?, error = ?, finished_at = ?, heartbeat_at = ?, summary = ? WHERE id = ?')
        .run(status, o.error ?? null, now, now, json(finiteValues(o.summary)), id);
    } else {
      this.db.prepare('UPDATE runs SET status = ?, error = ?, finished_at = ?, heartbeat_at = ? WHERE id = ?').run(status, o.error ?? null, now, now, id);
    }
  }

  /** Removes a run and everything recorded for it (steps, epochs, artifacts rows, evaluations; files are kept). */
  deleteRun(id: number): void {
    this.db.prepare('DELETE FROM runs WHERE id = ?').run(id);
  }

  /** Runs matching `f`, newest first. */
  listRuns(f: RunFilter = {}): RunRecord[] {
    const where: string[] = [];
    const args: unknown[] = [];
    if (f.model !== undefined) {
      where.push("(model = ? OR (kind = 'benchmark' AND ',' || model || ',' LIKE '%,' || ? || ',%'))");
      args.push(f.model, f.model);
    }
    if (f.data !== undefined) {
      where.push("(data = ? OR data LIKE '%/' || ?)");
      args.push(f.data, f.data);
    }
    if (f.status !== undefined) {
      where.push('status = ?');
      args.push(f.status);
    }
    if (f.kind !== undefined) {
      where.push('kind = ?');
      args.push(f.kind);
    }
    const limit = f.limit !== undefined ? ' LIMIT ?' : '';
    if (f.limit !== undefined) args.push(f.limit);
    const rows = this.db.prepare(`SELECT * FROM runs${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC${limit}`).all(...args) as RunRow[];
    return rows.map(toRecord);
  }

  /** Run `id`, or null. */
  getRun(id: number): RunRecord | null {
    const row = this.db.prepare('SELECT * FROM runs WHERE id = ?').get(id) as RunRow | undefined;
    return row === undefined ? null : toRecord(row);
  }

  /** Steps of run `id` in order, those with index > `sinceStep` (default all). */
  steps(id: number, sinceStep = 0): (StepMetric & { index: number })[] {
    const rows = this.db.prepare('SELECT idx, epoch, step, t, vals FROM steps WHERE run_id = ? AND idx > ? ORDER BY idx').all(id, sinceStep) as {
      idx: number;
      epoch: number;
      step: number;
      t: number;
      vals: string;
    }[];
    return rows.map((r) => ({ index: r.idx, epoch: r.epoch, step: r.step, t: r.t, values: parseJson(r.vals, {}) as Record<string, number> }));
  }

  /** Epoch metrics of run `id` in order. */
  epochs(id: number): EpochMetric[] {
    const rows = this.db.prepare('SELECT epoch, vals FROM epochs WHERE run_id = ? ORDER BY epoch').all(id) as { epoch: number; vals: string }[];
    return rows.map((r) => ({ epoch: r.epoch, values: parseJson(r.vals, {}) as Record<string, number> }));
  }

  /** Artifacts of run `id`, oldest first. */
  artifacts(id: number): Artifact[] {
    const rows = this.db.prepare('SELECT id, run_id, kind, path FROM artifacts WHERE run_id = ? ORDER BY id').all(id) as {
      id: number;
      run_id: number;
      kind: string;
      path: string;
    }[];
    return rows.map((r) => ({ id: r.id, runId: r.run_id, kind: r.kind as Artifact['kind'], path: r.path }));
  }

  /** One artifact by its id, or null. */
  artifact(artifactId: number): Artifact | null {
    const r = this.db.prepare('SELECT id, run_id, kind, path FROM artifacts WHERE id = ?').get(artifactId) as
      { id: number; run_id: number; kind: string; path: string } | undefined;
    return r === undefined ? null : { id: r.id, runId: r.run_id, kind: r.kind as Artifact['kind'], path: r.path };
  }

  /** Every artifact of a kind (default all kinds), newest first. */
  allArtifacts(kind?: Artifact['kind']): Artifact[] {
    const rows = (
      kind === undefined
        ? this.db.prepare('SELECT id, run_id, kind, path FROM artifacts ORDER BY id DESC').all()
        : this.db.prepare('SELECT id, run_id, kind, path FROM artifacts WHERE kind = ? ORDER BY id DESC').all(kind)
    ) as { id: number; run_id: number; kind: string; path: string }[];
    return rows.map((r) => ({ id: r.id, runId: r.run_id, kind: r.kind as Artifact['kind'], path: r.path }));
  }

  /** Evaluations of run `id`, oldest first. */
  evaluations(id: number): Evaluation[] {
    const rows = this.db.prepare('SELECT id, run_id, bundle, results, data_path FROM evaluations WHERE run_id = ? ORDER BY id').all(id) as {
      id: number;
      run_id: number;
      bundle: string;
      results: string;
      data_path: string | null;
    }[];
    return rows.map((r) => ({ id: r.id, runId: r.run_id, bundle: r.bundle, results: parseJson(r.results, null), dataPath: r.data_path }));
  }

  /** Runs whose parent is `id` (e.g. a train run's evaluations), newest first. */
  children(id: number): RunRecord[] {
    return (this.db.prepare('SELECT * FROM runs WHERE parent_id = ? ORDER BY id DESC').all(id) as RunRow[]).map(toRecord);
  }

  /** The ids of every run, ascending. */
  runIds(): number[] {
    return (this.db.prepare('SELECT id FROM runs ORDER BY id').all() as { id: number }[]).map((r) => r.id);
  }

  /** Runs `PRAGMA integrity_check`; 'ok' when the database is sound. */
  integrityCheck(): string {
    const rows = this.db.pragma('integrity_check') as { integrity_check: string }[];
    return rows.map((r) => r.integrity_check).join('\n');
  }

  /** The schema version of the open database. */
  schemaVersion(): number {
    return this.db.pragma('user_version', { simple: true }) as number;
  }

  /** Closes the connection (idempotent). */
  close(): void {
    if (this.db.open) this.db.close();
  }
}

/** Brings `db` to {@link SCHEMA_VERSION}, one migration per transaction (BEGIN IMMEDIATE: one migrating process at a time). */
function migrate(db: Database.Database, file: string): void {
  const version = (): number => db.pragma('user_version', { simple: true }) as number;
  const v0 = version();
  if (v0 > SCHEMA_VERSION) {
    throw new AnogenError(
      `run registry: ${file} has schema version ${v0}, newer than this anogen ${ANOGEN_VERSION} knows (${SCHEMA_VERSION}); upgrade anogen, or use another registry with --home DIR or ANOGEN_HOME`,
    );
  }
  for (let v = v0; v < SCHEMA_VERSION; v++) {
    db.transaction(() => {
      if (version() !== v) return; // another process migrated meanwhile
      db.exec(MIGRATIONS[v]!);
      db.pragma(`user_version = ${v + 1}`);
    }).immediate();
  }
}
