/**
 * `anogen runs list | show <id> | compare <id...>`: the run registry (src/runs) as tables, or
 * JSON with `--json`. Also the `--home` / `--no-registry` options that train, eval and benchmark
 * share ({@link REGISTRY_SPECS}).
 */
import path from 'node:path';
import { AnogenError } from '../../core/index.js';
import { didYouMean } from '../../detectors/schema.js';
import type { RecordOptions } from '../../runs/record.js';
import { Registry, RUN_KINDS, RUN_STATUSES, type RunFilter, type RunKind, type RunRecord, type RunStatus } from '../../runs/registry.js';
import { parseArgs, type OptionSpec } from '../args.js';
import { stdout } from '../io.js';

/** `--home`, shared by every verb that touches the registry. */
export const HOME_SPEC: OptionSpec = { name: 'home', type: 'string', doc: 'run registry folder, holding anogen.db (default: $ANOGEN_HOME, else ~/.anogen)' };

/** `--home` and `--no-registry` of the verbs that record runs (train, eval, benchmark). */
export const REGISTRY_SPECS: OptionSpec[] = [
  HOME_SPEC,
  { name: 'no-registry', type: 'bool', doc: 'do not record this run in the run registry (default false: recorded; anogen runs list shows them)' },
];

/** The recording options of parsed `--home` / `--no-registry` flags. */
export function registryOptions(opts: Record<string, unknown>): RecordOptions {
  return { ...(typeof opts.home === 'string' ? { home: opts.home } : {}), disabled: opts.noRegistry === true };
}

const SUBCOMMANDS = ['list', 'show', 'compare'] as const;

/** Options of `anogen runs`. */
export const RUNS_SPECS: OptionSpec[] = [
  HOME_SPEC,
  { name: 'model', type: 'string', doc: 'list: only runs of this detector (default all)' },
  { name: 'data', type: 'string', doc: "list: only runs on this dataset ('mnist', a folder or its name; default all)" },
  { name: 'status', type: 'string', values: RUN_STATUSES, doc: 'list: only runs with this status (default all)' },
  { name: 'kind', type: 'string', values: RUN_KINDS, doc: 'list: only runs of this kind (default all)' },
  { name: 'limit', type: 'int', min: 1, doc: 'list: the newest N runs (default all)' },
  {
    name: 'metrics',
    type: 'string',
    doc: "comma-separated columns from the runs' summaries, e.g. auroc,auprc,f1,fpr95,seconds,loss.<name> (default auroc,auprc and the final losses)",
  },
  { name: 'json', type: 'bool', doc: 'machine-readable JSON instead of tables (default false)' },
];

/** `anogen help runs`. */
export const RUNS_HELP = `anogen runs list [--model M] [--data D] [--status S] [--kind K] [--limit N] [--metrics a,b] [--json]
anogen runs show <id> [--json]
anogen runs compare <id> <id>... [--metrics a,b] [--json]

The run registry: every anogen train, eval and benchmark run (unless --no-registry), with its
options, versions, per-step and per-epoch losses, artifacts and evaluation results, in
<home>/anogen.db. A train run's AUROC/AUPRC columns come from its newest evaluation.

`;

/** A registry error in a `runs` verb is the user's to fix (exit 2). */
function openRegistry(home: string | undefined): Registry {
  return Registry.open(home);
}

/** 'no runs yet' or the ids as ranges: '1-5, 7'. */
function idRanges(ids: number[]): string {
  if (ids.length === 0) return 'no runs yet';
  const parts: string[] = [];
  let a = ids[0]!;
  let b = a;
  for (const id of [...ids.slice(1), NaN]) {
    if (id === b + 1) b = id;
    else {
      parts.push(a === b ? String(a) : `${a}-${b}`);
      a = b = id;
    }
  }
  return `runs there: ${parts.join(', ')}`;
}

/** Run `raw` (an id argument), or an AnogenError naming it and the runs that exist. */
function findRun(reg: Registry, raw: string, verb: string): RunRecord {
  const id = /^\d+$/.test(raw) ? Number(raw) : NaN;
  const run = Number.isSafeInteger(id) ? reg.getRun(id) : null;
  if (run === null) {
    const what = Number.isSafeInteger(id) ? `no run ${id}` : `${JSON.stringify(raw)} is not a run id (a number from anogen runs list)`;
    throw new AnogenError(`anogen runs ${verb}: ${what} in ${reg.file}; ${idRanges(reg.runIds())}`);
  }
  return run;
}

/** The run's summary, with a train run's missing metrics taken from its newest finished evaluation. */
function metricsOf(reg: Registry, run: RunRecord): Record<string, number> {
  if (run.kind !== 'train') return run.summary;
  const child = reg.children(run.id).find((c) => c.kind === 'eval' && c.status === 'finished');
  return child === undefined ? run.summary : { ...child.summary, ...run.summary };
}

/** The columns: `--metrics`, or auroc, auprc and every final loss (`loss.*`) of the runs. */
function metricNames(opt: unknown, summaries: Record<string, number>[]): string[] {
  if (typeof opt === 'string') {
    const names = opt
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    if (names.length === 0) throw new AnogenError('--metrics: expected comma-separated metric names, e.g. auroc,auprc,loss.<name>');
    return names;
  }
  const losses = new Set<string>();
  for (const s of summaries) for (const k of Object.keys(s)) if (k.startsWith('loss.')) losses.add(k);
  return ['auroc', 'auprc', ...[...losses].sort()];
}

/** A number for a table: 4 decimals, or 4 significant digits for very large or small values. */
export function fmtNumber(x: number | null | undefined): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return '-';
  if (Number.isInteger(x) && Math.abs(x) < 1e6) return String(x);
  const a = Math.abs(x);
  return a !== 0 && (a >= 1e5 || a < 1e-3) ? x.toPrecision(4) : x.toFixed(4);
}

/** A duration in seconds: 12.3s, 4m05s, 2h03m. */
function fmtSeconds(s: number | null): string {
  if (s === null || !Number.isFinite(s)) return '-';
  if (s < 60) return `${s.toFixed(1)}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(Math.floor(s % 60)).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** Local time, to the second: 2026-11-30 14:05:09. */
function fmtTime(iso: string | null): string {
  if (iso === null) return '-';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** Wall time of a run (to now while it runs). */
function runSeconds(r: RunRecord): number {
  const end = r.finishedAt !== null ? Date.parse(r.finishedAt) : r.status === 'running' ? Date.now() : Date.parse(r.heartbeatAt);
  return (end - Date.parse(r.startedAt)) / 1000;
}

/** A dataset for a table: a folder by its name. */
function shortData(d: string | null): string {
  if (d === null) return '-';
  return d
    .split(',')
    .map((x) => (path.isAbsolute(x) ? path.basename(x) : x))
    .join(',');
}

/** Plain text table: header, rows; numeric-looking columns right-aligned. */
export function table(header: string[], rows: string[][]): string {
  const w = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const numeric = header.map((_, i) => rows.some((r) => (r[i] ?? '-') !== '-') && rows.every((r) => /^(-|[+-]?[\d.]+(e[+-]?\d+)?[a-z]*|\d+m\d+s|\d+h\d+m)$/.test(r[i] ?? '-')));
  const line = (r: string[]) =>
    r
      .map((c, i) => (numeric[i] ? c.padStart(w[i]!) : c.padEnd(w[i]!)))
      .join('  ')
      .trimEnd();
  return `${[line(header), ...rows.map(line)].join('\n')}\n`;
}

const runRow = (r: RunRecord, metrics: Record<string, number>, names: string[]): string[] => [
  String(r.id),
  r.kind,
  r.status,
  r.model ?? '-',
  shortData(r.data),
  fmtTime(r.startedAt),
  fmtSeconds(runSeconds(r)),
  ...names.map((m) => fmtNumber(metrics[m])),
];
const RUN_HEADER = ['id', 'kind', 'status', 'model', 'data', 'started', 'time'];

/** The chosen metrics of a summary, null where missing. */
const pick = (m: Record<string, number>, names: string[]): Record<string, number | null> => Object.fromEntries(names.map((n) => [n, m[n] ?? null]));

function listRuns(reg: Registry, opts: Record<string, unknown>): void {
  const f: RunFilter = {};
  if (typeof opts.model === 'string') f.model = opts.model;
  if (typeof opts.data === 'string') f.data = opts.data;
  if (typeof opts.status === 'string') f.status = opts.status as RunStatus;
  if (typeof opts.kind === 'string') f.kind = opts.kind as RunKind;
  if (typeof opts.limit === 'number') f.limit = opts.limit;
  const runs = reg.listRuns(f);
  const metrics = runs.map((r) => metricsOf(reg, r));
  const names = metricNames(opts.metrics, metrics);
  if (opts.json === true) {
    stdout(`${JSON.stringify({ home: reg.home, metrics: names, runs: runs.map((r, i) => ({ ...r, metrics: pick(metrics[i]!, names) })) }, null, 2)}\n`);
    return;
  }
  if (runs.length === 0) {
    const filtered = Object.keys(f).length > 0;
    stdout(filtered ? `no runs match in ${reg.file} (${idRanges(reg.runIds())})\n` : `no runs yet in ${reg.file} (anogen train, eval and benchmark record them)\n`);
    return;
  }
  stdout(
    table(
      [...RUN_HEADER, ...names],
      runs.map((r, i) => runRow(r, metrics[i]!, names)),
    ),
  );
}

function showRun(reg: Registry, raw: string, opts: Record<string, unknown>): void {
  const run = findRun(reg, raw, 'show');
  const metrics = metricsOf(reg, run);
  const epochs = reg.epochs(run.id);
  const steps = reg.steps(run.id);
  const artifacts = reg.artifacts(run.id);
  const evaluations = reg.evaluations(run.id);
  const children = reg.children(run.id);
  if (opts.json === true) {
    stdout(`${JSON.stringify({ run, metrics, epochs, steps, artifacts, evaluations, children }, null, 2)}\n`);
    return;
  }
  const kv: [string, string][] = [
    ['run', `${run.id} (${run.kind})`],
    ['status', run.status + (run.error ? `: ${run.error}` : '')],
    ['model', run.model ?? '-'],
    ['data', run.data ?? '-'],
    ['protocol', run.protocol === null ? '-' : JSON.stringify(run.protocol)],
    ['seed', run.seed === null ? '-' : String(run.seed)],
    ['started', fmtTime(run.startedAt)],
    ['finished', fmtTime(run.finishedAt)],
    ['time', fmtSeconds(runSeconds(run))],
    ['bundle', run.bundle ?? '-'],
    ['parent', run.parentId === null ? '-' : `run ${run.parentId}`],
    ['process', `${run.pid} on ${run.host} (last heartbeat ${fmtTime(run.heartbeatAt)})`],
    ['versions', `anogen ${run.anogenVersion}, libtorch ${run.torchVersion}, node ${run.nodeVersion}`],
    ['options', JSON.stringify(run.options)],
  ];
  const w = Math.max(...kv.map(([k]) => k.length));
  let out = kv.map(([k, v]) => `${k.padEnd(w)}  ${v}`).join('\n') + '\n';
  const names = Object.keys(metrics).sort();
  if (names.length > 0)
    out += `\nsummary\n${table(
      ['metric', 'value'],
      names.map((n) => [n, fmtNumber(metrics[n])]),
    )}`;
  if (epochs.length > 0) {
    const keys = [...new Set(epochs.flatMap((e) => Object.keys(e.values)))];
    out += `\nepochs (mean step losses)\n${table(
      ['epoch', ...keys],
      epochs.map((e) => [String(e.epoch), ...keys.map((k) => fmtNumber(e.values[k]))]),
    )}`;
  }
  if (steps.length > 0) out += `\nsteps: ${steps.length} recorded (last: epoch ${steps[steps.length - 1]!.epoch}, step ${steps[steps.length - 1]!.step})\n`;
  if (artifacts.length > 0)
    out += `\nartifacts\n${table(
      ['id', 'kind', 'path'],
      artifacts.map((a) => [String(a.id), a.kind, a.path]),
    )}`;
  for (const e of evaluations) {
    const m = (e.results as { metrics?: { auroc?: number; auprc?: number } } | null)?.metrics;
    out += `\nevaluation ${e.id}: ${e.bundle}  AUROC ${fmtNumber(m?.auroc)}  AUPRC ${fmtNumber(m?.auprc)}${e.dataPath ? `  data ${e.dataPath}` : ''}\n`;
  }
  if (children.length > 0) {
    const cm = children.map((c) => metricsOf(reg, c));
    const cn = metricNames(undefined, cm).filter((n) => !n.startsWith('loss.'));
    out += `\nruns of this bundle\n${table(
      [...RUN_HEADER, ...cn],
      children.map((c, i) => runRow(c, cm[i]!, cn)),
    )}`;
  }
  stdout(out);
}

/** Options whose values differ between the runs (JSON text of each run's value; '-' when absent). */
function differingOptions(runs: RunRecord[]): Record<string, string[]> {
  const keys = [...new Set(runs.flatMap((r) => Object.keys(r.options)))].sort();
  const out: Record<string, string[]> = {};
  for (const k of keys) {
    const vals = runs.map((r) => (k in r.options ? JSON.stringify(r.options[k]) : '-'));
    if (new Set(vals).size > 1) out[k] = vals;
  }
  return out;
}

function compareRuns(reg: Registry, ids: string[], opts: Record<string, unknown>): void {
  if (ids.length === 0) throw new AnogenError('anogen runs compare: expected run ids, e.g. anogen runs compare 3 5 (anogen runs list shows them)');
  const runs = ids.map((raw) => findRun(reg, raw, 'compare'));
  const metrics = runs.map((r) => metricsOf(reg, r));
  const names = metricNames(opts.metrics, metrics);
  const diff = differingOptions(runs);
  if (opts.json === true) {
    stdout(`${JSON.stringify({ metrics: names, runs: runs.map((r, i) => ({ ...r, metrics: pick(metrics[i]!, names) })), differingOptions: diff }, null, 2)}\n`);
    return;
  }
  let out = table(
    [...RUN_HEADER, ...names],
    runs.map((r, i) => runRow(r, metrics[i]!, names)),
  );
  const keys = Object.keys(diff);
  if (keys.length > 0) {
    const clip = (s: string) => (s.length > 40 ? `${s.slice(0, 37)}...` : s);
    out += `\noptions that differ\n${table(
      ['option', ...runs.map((r) => `run ${r.id}`)],
      keys.map((k) => [k, ...diff[k]!.map(clip)]),
    )}`;
  }
  stdout(out);
}

/** `anogen runs <list|show|compare>`. */
export async function runsCommand(argv: string[]): Promise<number> {
  const { positionals, opts } = parseArgs(argv, RUNS_SPECS, 'runs');
  const [sub, ...ids] = positionals;
  if (sub === undefined || !(SUBCOMMANDS as readonly string[]).includes(sub)) {
    throw new AnogenError(
      `anogen runs: ${sub === undefined ? 'expected a subcommand' : `unknown subcommand ${JSON.stringify(sub)}${didYouMean(sub, SUBCOMMANDS)}`}; expected ${SUBCOMMANDS.join(', ')} (anogen help runs)`,
    );
  }
  if (sub === 'list' && ids.length > 0) throw new AnogenError(`anogen runs list: unexpected argument ${ids[0]}; filters are --model, --data, --status, --kind, --limit`);
  if (sub === 'show' && ids.length !== 1) throw new AnogenError(`anogen runs show: expected one run id, got ${ids.length === 0 ? 'none' : ids.join(' ')}`);
  const reg = openRegistry(typeof opts.home === 'string' ? opts.home : undefined);
  try {
    if (sub === 'list') listRuns(reg, opts);
    else if (sub === 'show') showRun(reg, ids[0]!, opts);
    else compareRuns(reg, ids, opts);
  } finally {
    reg.close();
  }
  return 0;
}
