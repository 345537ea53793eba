/**
 * Training progress: a one-line bar on a terminal (epoch, step, losses, images/s, ETA),
 * plain log lines otherwise (every `every` steps and at each epoch end).
 */
import type { ProgressEvent } from '../detectors/api.js';

/** Extra listeners every progress printer calls on each step (e.g. a test's or a server's; default none). */
export const progressListeners = new Set<(e: ProgressEvent) => void>();

function fmtTime(s: number): string {
  if (!Number.isFinite(s)) return '?';
  const m = Math.floor(s / 60);
  const r = Math.round(s % 60);
  return m > 0 ? `${m}m${String(r).padStart(2, '0')}s` : `${r}s`;
}

/** Makes an onProgress callback writing to `stream` (default stderr). */
export function progressPrinter(stream: NodeJS.WriteStream = process.stderr, opts: { tty?: boolean; every?: number } = {}) {
  const tty = opts.tty ?? (stream.isTTY === true && process.env.TERM !== 'dumb');
  const every = opts.every ?? 10;
  let lastLen = 0;
  const fn = (e: ProgressEvent): void => {
    for (const l of progressListeners) l(e);
    const losses = Object.entries(e.losses)
      .slice(0, 5)
      .map(([k, v]) => `${k} ${v.toPrecision(4)}`)
      .join(' ');
    const base = `epoch ${e.epoch}/${e.epochs} step ${e.step}/${e.stepsPerEpoch} ${losses} | ${e.imagesPerSecond.toFixed(1)} img/s ETA ${fmtTime(e.etaSeconds)}`;
    if (tty) {
      const frac = ((e.epoch - 1) * e.stepsPerEpoch + e.step) / (e.epochs * e.stepsPerEpoch);
      const width = 20;
      const filled = Math.round(frac * width);
      let line = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${base}`;
      const cols = stream.columns ?? 120;
      if (line.length > cols - 1) line = line.slice(0, cols - 1);
      stream.write(`\r${line}${' '.repeat(Math.max(0, lastLen - line.length))}`);
      lastLen = line.length;
    } else if (e.step % every === 0 || e.step === e.stepsPerEpoch || (e.epoch === 1 && e.step === 1)) {
      stream.write(`${base}\n`);
    }
  };
  fn.done = (): void => {
    if (tty && lastLen > 0) stream.write('\n');
    lastLen = 0;
  };
  return fn;
}
