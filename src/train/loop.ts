/**
 * The one training loop of anogen. A model supplies only its {@link TrainingProcess}: its
 * optimisers and its step (losses, then optimiser updates); the loop does the rest, the
 * same way for every model:
 *
 * - seeding (torch's generator, then the JS shuffle generator mulberry32(seed)), a seeded
 *   permutation per epoch, mini-batches of positions fetched from a {@link BatchSource} with
 *   the next batch prefetched while the current step runs;
 * - a divergence guard: every loss of a step is read once and checked BEFORE the model's
 *   update runs, so a NaN/Inf loss stops training with a {@link DivergenceError} naming the
 *   epoch, the step and the loss, and the weights (and the last checkpoint) stay good;
 * - progress events (losses, images/s, ETA, per-step milliseconds), stop requests (Ctrl-C),
 *   and a checkpoint callback at every epoch end (and every `checkpointEvery` steps, and when
 *   stopped) with a {@link LoopState} that is enough to resume exactly;
 * - exact resume: given a LoopState, the loop restores the optimisers, torch's generator and
 *   the shuffle generator's position and continues at the next step, so the run ends with
 *   the same weights as one that was never interrupted.
 *
 * Devices: the loop creates no tensor itself but the batch (on `device`, the model's).
 */
import { AnogenError } from '../core/errors.js';
import { getRngState, manualSeed, setRngState } from '../core/runtime.js';
import { stack, type Device, type Tensor } from '../core/tensor.js';
import { noGrad } from '../core/autograd.js';
import { tidy } from '../core/scope.js';
import { mulberry32, permutation } from '../data/random.js';
import type { Optimizer, OptimizerStateDict } from '../optim/optimizer.js';
import type { BatchSource } from './source.js';

/** What a model's step returns: its losses (0-d tensors) and the update to run once they are checked. */
export interface StepOutput {
  /** Loss values of this step by name (0-d tensors; read once by the loop). */
  losses: Record<string, Tensor>;
  /** Applies the optimiser updates (backward + step); called only when every loss is finite. */
  update(): void;
}

/** Where the loop is, given to each step. */
export interface StepContext {
  /** 1-based epoch. */
  epoch: number;
  /** 1-based step within the epoch. */
  step: number;
  /** Steps completed before this one, over all epochs. */
  globalStep: number;
  /** The model's device (the batch is already there). */
  device: Device;
  /** The class labels of the batch's images, when the source has them (BatchSource.labels; default absent). */
  labels?: Int32Array;
}

/** One training run of a model: what the model supplies to {@link trainLoop}. */
export interface TrainingProcess {
  /** The optimisers by name; their state is saved in checkpoints and restored on resume. */
  optimizers: Record<string, Optimizer<any>>;
  /** One step on the batch `x` (N x C x H x W on the model's device). Runs inside tidy(). */
  step(x: Tensor, ctx: StepContext): StepOutput;
  /** After a step's update, with the loss values (e.g. GANomaly re-initialises D when its loss collapses). */
  afterStep?(losses: Record<string, number>, ctx: StepContext): void;
  /**
   * Makes the current weights ready for inference without changing any weight (e.g. batch-norm
   * statistics recomputed on the training images); run before every checkpoint and at the end.
   */
  finish?(): Promise<void>;
  /** Frees what only training needs (optimiser state, gradients, constants). */
  dispose(): void;
}

/** The position and state of a run, enough to resume it exactly (JSON + tensors). */
export interface LoopState {
  /** Epoch of the last completed step (1-based; 0 before the first step). */
  epoch: number;
  /** Last completed step within `epoch` (stepsPerEpoch when the epoch is complete). */
  step: number;
  /** Steps completed in all. */
  globalStep: number;
  /** Images seen in all. */
  seen: number;
  /** Training seconds so far (over every resumed part). */
  seconds: number;
  /** Loss history, one entry per step (with `ms`, the step's milliseconds). */
  history: Record<string, number>[];
  /** torch's CPU generator state after the last completed step. */
  rngState: Uint8Array;
  /** Each optimiser's state dict (tensors owned by the state: dispose with {@link disposeLoopState}). */
  optimizers: Record<string, OptimizerStateDict>;
  /** The run's fixed settings, checked on resume. */
  settings: { seed: number; batchSize: number; dropLast: boolean; n: number; stepsPerEpoch: number };
}

/** Frees the tensors a LoopState holds. */
export function disposeLoopState(s: LoopState): void {
  for (const o of Object.values(s.optimizers)) for (const t of o.state.values()) t.dispose();
}

/** One progress report of a training loop. */
export interface ProgressEvent {
  epoch: number;
  epochs: number;
  step: number;
  stepsPerEpoch: number;
  /** Loss values of this step, by name. */
  losses: Record<string, number>;
  /** Training throughput (images per second) measured since the start (of this process). */
  imagesPerSecond: number;
  /** Estimated seconds left. */
  etaSeconds: number;
  /** Milliseconds this step took (fetching the batch excluded). */
  stepMs: number;
}

/** The training options every model's `fit` takes (detectors add validation and calibration). */
export interface ModelFitOptions {
  /** Number of epochs (default: the model's own default). */
  epochs?: number;
  /** Mini-batch size (default: the model's own default). */
  batchSize?: number;
  /** Learning rate (default: the model's own default). */
  lr?: number;
  /** Seed of torch and of every JS-side shuffle (default 0). */
  seed?: number;
  /** Called after every step (default none). */
  onProgress?: (e: ProgressEvent) => void;
  /** Checked between steps: when it returns true, training stops early (e.g. after Ctrl-C; default none). */
  shouldStop?: () => boolean;
  /**
   * Called at every epoch end (and every `checkpointEvery` steps, and when stopped) with the
   * loop's state, after the weights were made ready for inference (default none). The model's
   * own weights are current at that moment: save them with the state.
   */
  onCheckpoint?: (state: LoopState, reason: 'epoch' | 'step' | 'interrupt') => void | Promise<void>;
  /** Also checkpoint every N steps (default 0: epoch ends only). */
  checkpointEvery?: number;
  /** Resume from a checkpoint's loop state; the model must hold the checkpoint's weights (default none). */
  resume?: LoopState;
}

/** Options of {@link trainLoop}. */
export interface LoopOptions {
  /** Number of epochs (total, including epochs done before a resume). */
  epochs: number;
  /** Mini-batch size. */
  batchSize: number;
  /** Seed of torch's generator and of the shuffles (default 0). */
  seed?: number;
  /** Device of the model: batches are moved there (default 'cpu'). */
  device?: Device;
  /** Drop the last incomplete batch of an epoch (default true, as the GAN references' loaders). */
  dropLast?: boolean;
  /** Called after every step. */
  onProgress?: (e: ProgressEvent) => void;
  /** Checked before every step: when it returns true, the loop saves a checkpoint and stops. */
  shouldStop?: () => boolean;
  /**
   * Called with the state to save at each epoch end, every `checkpointEvery` steps and when
   * stopped (default none). The state's tensors are freed by the loop after the call.
   */
  onCheckpoint?: (state: LoopState, reason: 'epoch' | 'step' | 'interrupt') => void | Promise<void>;
  /** Also checkpoint every N steps (default 0: at epoch ends only). */
  checkpointEvery?: number;
  /** Continue from this state (from a checkpoint) instead of starting afresh (default none). */
  resume?: LoopState;
}

/** Training stopped because a loss became NaN or infinite. */
export class DivergenceError extends AnogenError {
  constructor(
    message: string,
    /** Epoch (1-based) of the step that diverged. */
    readonly epoch: number,
    /** Step (1-based) within the epoch. */
    readonly step: number,
    /** Name of the loss (or quantity) that was not finite. */
    readonly loss: string,
    /** Its value. */
    readonly value: number,
  ) {
    super(message);
    this.name = 'DivergenceError';
  }
}

/** What {@link trainLoop} reports. */
export interface LoopReport {
  /** Loss history: one entry per step (including steps before a resume). */
  history: Record<string, number>[];
  /** Epoch of the last step. */
  epochs: number;
  /** Steps completed in all. */
  steps: number;
  /** Seconds of training (including time before a resume). */
  seconds: number;
  /** Images per second of this process's part. */
  imagesPerSecond: number;
  /** True when stopped early by `shouldStop`. */
  interrupted: boolean;
}

function checkResume(r: LoopState, s: LoopState['settings']): void {
  for (const k of Object.keys(s) as (keyof LoopState['settings'])[]) {
    if (r.settings?.[k] !== s[k]) {
      throw new AnogenError(`resume: the checkpoint was made with ${k} = ${String(r.settings?.[k])}, this run has ${String(s[k])}; resume with the same data and options`);
    }
  }
}

/**
 * Trains with the step of `makeProcess(fresh)` over `source` for `opts.epochs` epochs. See the
 * module comment for what the loop guarantees. `makeProcess` is called once, after torch has been
 * seeded: a fresh run (fresh = true) re-initialises its weights there, so initialisation is
 * seeded too; a resumed one keeps the weights it was loaded with. Rejects with
 * {@link DivergenceError} on a NaN/Inf loss.
 */
export async function trainLoop(makeProcess: (fresh: boolean) => TrainingProcess, source: BatchSource, opts: LoopOptions): Promise<LoopReport> {
  const n = source.length;
  if (n === 0) throw new AnogenError('fit: the training set is empty');
  const seed = opts.seed ?? 0;
  const device = opts.device ?? 'cpu';
  const dropLast = opts.dropLast ?? true;
  const bs = Math.min(opts.batchSize, n);
  const stepsPerEpoch = dropLast ? Math.floor(n / bs) : Math.ceil(n / bs);
  const settings = { seed, batchSize: bs, dropLast, n, stepsPerEpoch };
  const resume = opts.resume;
  if (resume) checkResume(resume, settings);
  manualSeed(seed);
  const proc = makeProcess(resume === undefined);
  const t0 = performance.now();
  const history: Record<string, number>[] = resume ? resume.history.map((h) => ({ ...h })) : [];
  let steps = resume?.globalStep ?? 0;
  let seen = resume?.seen ?? 0;
  const secondsBefore = resume?.seconds ?? 0;
  let seenHere = 0;
  let lastEpoch = resume?.epoch ?? 0;
  let lastStep = resume?.step ?? 0;
  let interrupted = false;
  let finishedAt = -1;
  const totalSteps = opts.epochs * stepsPerEpoch;

  const finish = async (): Promise<void> => {
    if (finishedAt === steps || proc.finish === undefined) return;
    await proc.finish();
    finishedAt = steps;
  };
  /** The loop's state now, with torch's generator state `rngState` taken before `finish()` ran. */
  const snapshot = (rngState: Uint8Array): LoopState => {
    const optimizers: Record<string, OptimizerStateDict> = {};
    for (const [k, o] of Object.entries(proc.optimizers)) optimizers[k] = o.stateDict();
    return { epoch: lastEpoch, step: lastStep, globalStep: steps, seen, seconds: secondsBefore + (performance.now() - t0) / 1000, history, rngState, optimizers, settings };
  };
  const checkpoint = async (reason: 'epoch' | 'step' | 'interrupt'): Promise<void> => {
    if (opts.onCheckpoint === undefined) return;
    const rng = getRngState();
    await finish();
    const state = snapshot(rng);
    try {
      await opts.onCheckpoint(state, reason);
    } finally {
      disposeLoopState(state);
      setRngState(rng); // whatever the callback drew, training continues from the same state
    }
  };

  try {
    if (resume) {
      for (const [k, o] of Object.entries(proc.optimizers)) {
        const sd = resume.optimizers[k];
        if (sd === undefined) throw new AnogenError(`resume: the checkpoint has no state for optimiser '${k}' (it has ${Object.keys(resume.optimizers).join(', ') || 'none'})`);
        o.loadStateDict(sd);
      }
      setRngState(resume.rngState);
    }
    const rand = mulberry32(seed);
    let rowMs = 0;
    outer: for (let epoch = 1; epoch <= opts.epochs; epoch++) {
      const perm = permutation(n, rand); // drawn for every epoch, so a resumed run replays the same orders
      if (epoch < lastEpoch || (epoch === lastEpoch && lastStep >= stepsPerEpoch)) continue;
      const first = epoch === lastEpoch ? lastStep + 1 : 1;
      const positions = (s: number) => perm.subarray((s - 1) * bs, Math.min(s * bs, n));
      let next: Promise<Tensor> | null = first <= stepsPerEpoch ? source.get(positions(first), device) : null;
      try {
        for (let step = first; step <= stepsPerEpoch; step++) {
          const x = await next!;
          next = step < stepsPerEpoch ? source.get(positions(step + 1), device) : null;
          if (opts.shouldStop?.()) {
            x.dispose();
            interrupted = true;
            break outer;
          }
          const nb = x.shape[0]!;
          const ctx: StepContext = { epoch, step, globalStep: steps, device, ...(source.labels ? { labels: source.labels(positions(step)) } : {}) };
          const ts = performance.now();
          let losses: Record<string, number>;
          try {
            losses = tidy(() => {
              const out = proc.step(x, ctx);
              const names = Object.keys(out.losses);
              const vals = noGrad(() => stack(names.map((k) => out.losses[k]!.detach().reshape([]).float())).toFloat32Array());
              const rec: Record<string, number> = {};
              names.forEach((k, i) => (rec[k] = vals[i]!));
              for (const k of names) {
                if (!Number.isFinite(rec[k])) throw divergence(epoch, step, `loss '${k}'`, rec[k]!, opts.onCheckpoint !== undefined);
              }
              out.update();
              return rec;
            });
          } finally {
            x.dispose();
          }
          proc.afterStep?.(losses, ctx);
          rowMs = performance.now() - ts;
          history.push({ ...losses, ms: rowMs });
          seen += nb;
          seenHere += nb;
          steps++;
          lastEpoch = epoch;
          lastStep = step;
          const elapsed = (performance.now() - t0) / 1000;
          const ips = seenHere / Math.max(elapsed, 1e-9);
          opts.onProgress?.({
            epoch,
            epochs: opts.epochs,
            step,
            stepsPerEpoch,
            losses,
            imagesPerSecond: ips,
            etaSeconds: ((totalSteps - steps) * bs) / Math.max(ips, 1e-9),
            stepMs: rowMs,
          });
          await new Promise<void>((r) => setImmediate(r));
          const every = opts.checkpointEvery ?? 0;
          if (every > 0 && steps % every === 0 && step < stepsPerEpoch) await checkpoint('step');
        }
      } finally {
        if (next !== null)
          next.then(
            (t) => t.dispose(),
            () => undefined,
          );
      }
      await checkpoint('epoch');
    }
    if (interrupted) await checkpoint('interrupt');
    if (steps > 0) await finish();
  } finally {
    proc.dispose();
  }
  const seconds = secondsBefore + (performance.now() - t0) / 1000;
  return { history, epochs: lastEpoch, steps, seconds, imagesPerSecond: seenHere / Math.max((performance.now() - t0) / 1000, 1e-9), interrupted };
}

/** The DivergenceError of a non-finite quantity at (epoch, step). */
export function divergence(epoch: number, step: number, what: string, value: number, checkpointed: boolean): DivergenceError {
  return new DivergenceError(
    `training diverged: ${what} is ${String(value)} at epoch ${epoch}, step ${step}` +
      (checkpointed ? '; the last good checkpoint is kept' : '') +
      '; try a lower learning rate (--lr) or check the input images for NaN/Inf',
    epoch,
    step,
    what,
    value,
  );
}
