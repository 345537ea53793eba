/**
 * The scoring processes of `anogen serve`: `workers` child processes (./score-worker.ts, started
 * with child_process.fork), each scoring one job at a time with its own LRU of loaded bundles;
 * jobs wait in one FIFO queue for the next free process. Scoring never runs on the server's
 * event loop, so a slow request does not stall the API or the dashboard.
 *
 * Why processes and not worker_threads: the native addon keeps per-process globals that hold
 * per-thread JavaScript state (the TorchError class reference is one global napi reference,
 * and the operator table is an unsynchronised vector). Loaded in two threads, a TorchError
 * raised in one thread is built through the other thread's reference: measured, this aborts
 * the process ("Entering the V8 API without proper locking") with two worker threads, and
 * segfaults on the main thread once a worker thread has exited. Separate processes each load
 * their own copy of the addon; a native crash then ends one scoring process (its request gets a
 * 500 and the process is restarted), never the server.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { HttpError } from './http.js';
import type { ScoreAnswer, ScoreJob } from './score-worker.js';

/** Options of {@link ScoringPool}. */
export interface PoolOptions {
  /** Scoring processes (default 1). */
  workers?: number;
  /** Bundles each process keeps loaded, least recently used evicted (default 4). */
  bundleCache?: number;
  /**
   * libtorch threads per process (default 1: requests are many and small, so processes
   * (`workers`) scale better than threads, and an oversubscribed OpenMP pool is slow: 62 ms
   * instead of 3.9 ms per 16 px image with 2 threads on a busy 2-core machine).
   */
  threads?: number;
  /** Where the processes' own messages go (default: process.stderr, each line prefixed). */
  log?: (line: string) => void;
  /** Start the processes now (default true) rather than at the first job. */
  warmup?: boolean;
}

interface Pending {
  job: ScoreJob;
  resolve: (a: ScoreAnswer) => void;
  reject: (e: Error) => void;
}

interface Slot {
  index: number;
  child: ChildProcess | null;
  ready: boolean;
  busy: Pending | null;
  /** Consecutive exits before becoming ready. */
  failedStarts: number;
  /** The last lines the process wrote on stderr (for a start failure's message). */
  tail: string[];
}

/** How the child is started: the .ts source needs tsx's loader, the compiled .js does not. */
function workerEntry(): { file: string; execArgv: string[] } {
  const ts = new URL('./score-worker.ts', import.meta.url);
  const self = fileURLToPath(import.meta.url);
  if (self.endsWith('.ts')) {
    let tsx = 'tsx';
    try {
      tsx = import.meta.resolve('tsx');
    } catch {
      /* resolved from the working folder instead */
    }
    return { file: fileURLToPath(ts), execArgv: ['--import', tsx] };
  }
  return { file: fileURLToPath(new URL('./score-worker.js', import.meta.url)), execArgv: [] };
}

/** A pool of scoring processes (see the module comment). */
export class ScoringPool {
  private readonly slots: Slot[];
  private readonly queue: Pending[] = [];
  private readonly opts: Required<Omit<PoolOptions, 'log' | 'warmup'>> & { log: (line: string) => void };
  private started = false;
  private nextId = 1;
  private closed = false;
  private startError: string | null = null;

  constructor(opts: PoolOptions = {}) {
    const workers = Math.max(1, Math.floor(opts.workers ?? 1));
    this.opts = {
      workers,
      bundleCache: Math.max(1, Math.floor(opts.bundleCache ?? 4)),
      threads: Math.max(1, Math.floor(opts.threads ?? 1)),
      log: opts.log ?? ((line) => process.stderr.write(`${line}\n`)),
    };
    this.slots = Array.from({ length: workers }, (_, index) => ({ index, child: null, ready: false, busy: null, failedStarts: 0, tail: [] }));
    if (opts.warmup !== false) this.start();
  }

  /** Starts the processes (once). */
  private start(): void {
    if (this.started) return;
    this.started = true;
    for (const s of this.slots) this.spawn(s);
  }

  /** Jobs being scored now. */
  get busyCount(): number {
    return this.slots.filter((s) => s.busy !== null).length;
  }

  /** Processes started and ready to score. */
  get readyCount(): number {
    return this.slots.filter((s) => s.ready).length;
  }

  /** Jobs waiting for a free process. */
  get queued(): number {
    return this.queue.length;
  }

  /** Resolves once every process is ready (or rejects when one cannot start). */
  async whenReady(timeoutMs = 60_000): Promise<void> {
    this.start();
    const t0 = Date.now();
    while (this.readyCount < this.slots.length) {
      if (this.startError !== null) throw new Error(this.startError);
      if (Date.now() - t0 > timeoutMs) throw new Error(`scoring processes not ready after ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  private spawn(s: Slot): void {
    if (this.closed) return;
    const { file, execArgv } = workerEntry();
    const child = fork(file, [], {
      execArgv,
      serialization: 'advanced',
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      env: {
        ...process.env,
        ANOGEN_SERVE_WORKER: '1',
        ANOGEN_SERVE_THREADS: String(this.opts.threads),
        ANOGEN_SERVE_BUNDLE_CACHE: String(this.opts.bundleCache),
      },
    });
    s.child = child;
    s.ready = false;
    s.tail = [];
    const onLines = (buf: Buffer) => {
      for (const line of buf.toString('utf8').split('\n')) {
        if (line.trim() === '') continue;
        s.tail.push(line);
        if (s.tail.length > 20) s.tail.shift();
        this.opts.log(`anogen serve: scoring process ${s.index + 1}: ${line}`);
      }
    };
    child.stdout!.on('data', onLines);
    child.stderr!.on('data', onLines);
    child.on('message', (m: { type: string; id?: number; ok?: boolean; value?: ScoreAnswer; status?: number; error?: string }) => {
      if (m.type === 'ready') {
        s.ready = true;
        s.failedStarts = 0;
        this.dispatch();
      } else if (m.type === 'result' && s.busy !== null && s.busy.job.id === m.id) {
        const p = s.busy;
        s.busy = null;
        if (m.ok) p.resolve(m.value!);
        else p.reject(new HttpError(m.status ?? 500, m.error ?? 'scoring failed'));
        this.dispatch();
      }
    });
    child.on('error', (e) => this.opts.log(`anogen serve: scoring process ${s.index + 1}: ${e.message}`));
    child.on('exit', (code, signal) => {
      if (s.child !== child) return;
      const wasReady = s.ready;
      s.child = null;
      s.ready = false;
      const how = signal !== null ? `signal ${signal}` : `exit code ${code}`;
      if (s.busy !== null) {
        s.busy.reject(new HttpError(500, `the scoring process ended (${how}) while scoring this request; it is being restarted`));
        s.busy = null;
      }
      if (this.closed) return;
      if (!wasReady) s.failedStarts++;
      if (s.failedStarts >= 3) {
        this.startError = `the scoring process cannot start (${how}): ${s.tail.slice(-3).join(' | ') || 'no message'}`;
        for (const p of this.queue.splice(0)) p.reject(new HttpError(500, this.startError));
        return;
      }
      this.opts.log(`anogen serve: scoring process ${s.index + 1} ended (${how}); restarting it`);
      this.spawn(s);
    });
  }

  private dispatch(): void {
    for (const s of this.slots) {
      if (this.queue.length === 0) return;
      if (!s.ready || s.busy !== null || s.child === null) continue;
      const p = this.queue.shift()!;
      s.busy = p;
      s.child.send(p.job, (e) => {
        if (e && s.busy === p) {
          s.busy = null;
          p.reject(new HttpError(500, `cannot send the images to the scoring process: ${e.message}`));
          this.dispatch();
        }
      });
    }
  }

  /** Scores images with a bundle (absolute folder) in the next free process. */
  score(bundle: string, images: { name: string; data: Uint8Array }[], maps: boolean): Promise<ScoreAnswer> {
    if (this.closed) return Promise.reject(new HttpError(500, 'the server is shutting down'));
    if (this.startError !== null) return Promise.reject(new HttpError(500, this.startError));
    return new Promise((resolve, reject) => {
      this.queue.push({ job: { type: 'score', id: this.nextId++, bundle, images, maps }, resolve, reject });
      this.start();
      this.dispatch();
    });
  }

  /** Stops every process (jobs not finished are rejected). */
  async close(): Promise<void> {
    this.closed = true;
    for (const p of this.queue.splice(0)) p.reject(new HttpError(500, 'the server is shutting down'));
    await Promise.all(
      this.slots.map(async (s) => {
        const c = s.child;
        if (c === null) return;
        if (s.busy !== null) {
          s.busy.reject(new HttpError(500, 'the server is shutting down'));
          s.busy = null;
        }
        const gone = c.exitCode !== null || c.signalCode !== null ? Promise.resolve() : new Promise<void>((r) => c.once('exit', () => r()));
        c.kill('SIGTERM');
        const t = setTimeout(() => c.kill('SIGKILL'), 3000);
        await gone;
        clearTimeout(t);
        s.child = null;
      }),
    );
  }
}
