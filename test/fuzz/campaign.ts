/**
 * A bounded fuzzing campaign over the targets of targets.ts, run in a child process
 * (child.ts) watched from here: a case that does not finish within `caseTimeoutMs` is a
 * hang, a child that dies is a crash (a native abort in sharp or libtorch included); either
 * way the input is known, because the child announces each input before parsing it, and the
 * campaign goes on in a fresh child. Findings are de-duplicated by kind and message shape.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { TARGETS } from './targets.js';

/** What the parent asks a child to run. */
export interface RunRequest {
  target: string;
  seed: number;
  /** Cases to run (0: until `seconds`). */
  runs: number;
  /** Time budget in seconds (0: until `runs`). */
  seconds: number;
  slowMs: number;
  maxRssMb: number;
}

/** A finding as the child reports it (inputs base64). */
export interface ChildFinding {
  type: 'finding';
  kind: FindingKind;
  name: string;
  message: string;
  frame: string;
  input: string;
}

export type FindingKind = 'error' | 'invalid-result' | 'hang' | 'crash' | 'slow' | 'memory';

/** One distinct problem found, with the smallest input that showed it. */
export interface Finding {
  target: string;
  kind: FindingKind;
  /** The de-duplication key. */
  signature: string;
  /** First message seen (error name and message, or what happened). */
  message: string;
  /** Top stack frame (for 'error'). */
  frame: string;
  input: Uint8Array;
  /** How many cases showed it. */
  count: number;
}

/** The result of one target. */
export interface TargetReport {
  target: string;
  cases: number;
  findings: Finding[];
  /** Wall time in ms, child start-ups included. */
  ms: number;
  /** Slowest case in ms. */
  maxCaseMs: number;
  /** Children restarted after a hang or a crash. */
  restarts: number;
}

/** Options of {@link runCampaign}. */
export interface CampaignOptions {
  /** Target names (default: all). */
  targets?: string[];
  /** Cases per target, or per target name (default 300; 0 with `seconds` set: as many as fit). */
  runs?: number | Record<string, number>;
  /** Seconds per target (default 0: no time bound, `runs` decides). */
  seconds?: number;
  /** fast-check seed (default 42: campaigns are reproducible). */
  seed?: number;
  /** A case still running after this many ms is a hang (default 10000). */
  caseTimeoutMs?: number;
  /** A case slower than this many ms is reported as 'slow' (default 3000). */
  slowMs?: number;
  /** A peak resident size above this many MB is reported as 'memory' (default 1500). */
  maxRssMb?: number;
  /** Progress lines (default: none). */
  log?: (line: string) => void;
}

const CHILD = fileURLToPath(new URL('./child.ts', import.meta.url));

/** The de-duplication key: kind, error name, message with numbers and quoted parts blurred, top frame. */
function signatureOf(kind: FindingKind, name: string, message: string, frame: string): string {
  if (kind === 'hang' || kind === 'slow' || kind === 'memory') return kind;
  const blurred = message
    .replace(/(["'`]).*?\1/g, '<q>')
    .replace(/\d+/g, 'N')
    .slice(0, 160);
  return `${kind}:${name}:${blurred}@${frame.replace(/:\d+:\d+\)?$/, '')}`;
}

interface Running {
  child: ChildProcess;
  lastInput: Uint8Array | null;
  caseStart: number;
  output: string;
  /** Resolves when the child has loaded and waits for requests. */
  ready: Promise<void>;
  /** Resolves when the child has exited. */
  exited: Promise<{ code: number | null; signal: string | null }>;
}

/** Runs a campaign; resolves with one report per target (never rejects for findings). */
export async function runCampaign(opts: CampaignOptions = {}): Promise<TargetReport[]> {
  const names = opts.targets ?? TARGETS.map((t) => t.name);
  const runsOf = (name: string) => (typeof opts.runs === 'object' ? (opts.runs[name] ?? 300) : (opts.runs ?? (opts.seconds ? 0 : 300)));
  const seconds = opts.seconds ?? 0;
  const seed = opts.seed ?? 42;
  const caseTimeoutMs = opts.caseTimeoutMs ?? 10_000;
  const log = opts.log ?? (() => {});
  const reports: TargetReport[] = [];
  let run: Running | null = null;

  const start = (): Running => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--max-old-space-size=2048', CHILD], {
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      env: { ...process.env, ANOGEN_TEST: '1' },
    });
    const r: Running = {
      child,
      lastInput: null,
      caseStart: 0,
      output: '',
      ready: new Promise((res) => child.on('message', (m: { type?: string }) => m.type === 'ready' && res())),
      exited: new Promise((res) => child.on('exit', (code, signal) => res({ code, signal }))),
    };
    const keep = (d: Buffer) => {
      r.output = (r.output + d.toString()).slice(-4000);
    };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    return r;
  };

  for (const name of names) {
    const runs = runsOf(name);
    const t0 = Date.now();
    const report: TargetReport = { target: name, cases: 0, findings: [], ms: 0, maxCaseMs: 0, restarts: 0 };
    const bySig = new Map<string, Finding>();
    const add = (kind: FindingKind, nm: string, message: string, frame: string, input: Uint8Array) => {
      const sig = signatureOf(kind, nm, message, frame);
      const f = bySig.get(sig);
      if (f === undefined) bySig.set(sig, { target: name, kind, signature: sig, message: `${nm}: ${message}`, frame, input, count: 1 });
      else {
        f.count++;
        if (input.length < f.input.length) f.input = input;
      }
    };
    let attempt = 0;
    for (;;) {
      const remainingRuns = runs > 0 ? runs - report.cases : 0;
      const remainingSec = seconds > 0 ? seconds - (Date.now() - t0) / 1000 : 0;
      if ((runs > 0 && remainingRuns <= 0) || (seconds > 0 && remainingSec <= 0.5)) break;
      if (run === null) run = start();
      const r: Running = run;
      const req: RunRequest = {
        target: name,
        seed: seed + 7919 * attempt,
        runs: remainingRuns,
        seconds: remainingSec,
        slowMs: opts.slowMs ?? 3000,
        maxRssMb: opts.maxRssMb ?? 1500,
      };
      const up = await Promise.race([r.ready.then(() => true), r.exited.then(() => false)]);
      if (!up) {
        add('crash', 'harness', `the fuzzing child exited before running: ${r.output.trim().split('\n').slice(-5).join(' | ')}`, '', new Uint8Array(0));
        run = null;
        break;
      }
      const outcome = await new Promise<'done' | 'died'>((resolve) => {
        let finished = false;
        const finish = (how: 'done' | 'died') => {
          if (finished) return;
          finished = true;
          clearInterval(watchdog);
          r.child.off('message', onMessage);
          resolve(how);
        };
        const onMessage = (m: { type: string; [k: string]: unknown }) => {
          if (m.type === 'case') {
            r.lastInput = new Uint8Array(Buffer.from(m.input as string, 'base64'));
            r.caseStart = Date.now();
            report.cases++;
          } else if (m.type === 'finding') {
            const f = m as unknown as ChildFinding;
            add(f.kind, f.name, f.message, f.frame, new Uint8Array(Buffer.from(f.input, 'base64')));
          } else if (m.type === 'done') {
            r.caseStart = 0;
            report.maxCaseMs = Math.max(report.maxCaseMs, m.maxCaseMs as number);
            finish('done');
          } else if (m.type === 'fatal') {
            add('crash', 'harness', String(m.message).split('\n')[0]!, '', new Uint8Array(0));
          }
        };
        void r.exited.then(({ code, signal }) => {
          if (finished) return;
          if (r.lastInput !== null && r.caseStart !== 0) {
            const tail = r.output.trim().split('\n').slice(-3).join(' | ');
            add('crash', `exit ${signal ?? code}`, `the child process died (${signal ?? `code ${code}`}) on this input: ${tail}`, '', r.lastInput);
          }
          finish('died');
        });
        const watchdog = setInterval(() => {
          if (r.caseStart !== 0 && Date.now() - r.caseStart > caseTimeoutMs) {
            add('hang', 'hang', `no result within ${caseTimeoutMs} ms`, '', r.lastInput ?? new Uint8Array(0));
            r.caseStart = 0;
            r.child.kill('SIGKILL');
          }
        }, 100);
        r.child.on('message', onMessage);
        r.child.send(req);
      });
      if (outcome === 'done') break;
      run = null;
      attempt++;
      report.restarts++;
      if (report.restarts > 20) {
        add('crash', 'harness', 'more than 20 restarts: giving up on this target', '', new Uint8Array(0));
        break;
      }
    }
    report.findings = [...bySig.values()];
    report.ms = Date.now() - t0;
    reports.push(report);
    log(`${name}: ${report.cases} cases in ${(report.ms / 1000).toFixed(1)} s, ${report.findings.length} finding(s)`);
  }
  if (run !== null) {
    const c: ChildProcess = (run as Running).child;
    c.kill();
  }
  return reports;
}
