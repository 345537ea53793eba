/**
 * Hand-written SVG charts for the HTML report (no plotting dependency): line charts, score
 * histograms and scatter plots, each with axes, ticks, grid lines, axis titles and a legend.
 * Every function returns one self-contained `<svg>` string.
 */

/** Categorical colours (matplotlib's tab10). */
export const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];
/** Colours of the two classes: normal (0) and anomalous (1). */
export const NORMAL_COLOR = '#1f77b4';
export const ANOMALY_COLOR = '#d62728';

/** Escapes text for HTML/SVG content and attribute values. */
export function esc(s: unknown): string {
  return String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** A short human-readable number: 3 significant digits, exponent form for very large/small. */
export function fmt(v: number, digits = 3): string {
  if (!Number.isFinite(v)) return Number.isNaN(v) ? 'NaN' : v > 0 ? '∞' : '−∞';
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e5 || a < 1e-3) return v.toExponential(digits - 1).replace('e+', 'e');
  return String(Number(v.toPrecision(digits)));
}

/**
 * "Nice" tick values inside [lo, hi] (about n + 1 of them, steps of 1, 2 or 5 × 10^k; n defaults
 * to 5). With `integer` (default false) the step is at least 1, so every tick is a whole number
 * (for axes that count steps or epochs).
 */
export function niceTicks(lo: number, hi: number, n = 5, integer = false): number[] {
  if (!(hi > lo)) {
    const d = lo === 0 ? 1 : Math.abs(lo) * 0.1;
    lo -= d;
    hi += d;
  }
  const raw = (hi - lo) / n;
  const p = 10 ** Math.floor(Math.log10(raw));
  // the 1-2-5 step whose tick count is closest to n + 1
  let step = integer ? Math.max(1, Math.round(p)) : p;
  let best = Infinity;
  for (const m of [0.5, 1, 2, 5, 10]) {
    const st = m * p;
    if (integer && !(st >= 1 && Number.isInteger(Number(st.toPrecision(12))))) continue;
    const count = Math.floor(hi / st + 1e-9) - Math.ceil(lo / st - 1e-9) + 1;
    const d = Math.abs(count - (n + 1));
    if (d < best) {
      best = d;
      step = st;
    }
  }
  const out: number[] = [];
  for (let t = Math.ceil(lo / step - 1e-9) * step; t <= hi + step * 1e-9; t += step) out.push(Math.abs(t) < step * 1e-9 ? 0 : Number(t.toPrecision(12)));
  return out;
}

interface Frame {
  width: number;
  height: number;
  left: number;
  right: number;
  top: number;
  bottom: number;
}
const DEFAULT_FRAME: Frame = { width: 370, height: 300, left: 58, right: 14, top: 34, bottom: 48 };

/** Axis options of a chart. */
export interface AxisOptions {
  /** Chart title above the plot (default none). */
  title?: string;
  /** x-axis title (default none). */
  xLabel?: string;
  /** y-axis title (default none). */
  yLabel?: string;
  /** Fixed x range (default: from the data, padded). */
  xRange?: [number, number];
  /** Fixed y range (default: from the data, padded). */
  yRange?: [number, number];
  /** Logarithmic y axis (default false; values <= 0 are dropped). */
  logY?: boolean;
  /** Whole-number x ticks only (default false; for steps and epochs). */
  integerX?: boolean;
  /** Width of the SVG in px before any legend outside or below the plot (default 370). */
  width?: number;
  /** Height of the SVG in px before any legend below the plot (default 300). */
  height?: number;
}

/**
 * Where a legend goes: inside the plot in a corner (top-right, bottom-right, top-left,
 * bottom-left), outside right of the plot, below the plot, or 'auto': the first corner
 * (tr, tl, br, bl) whose box covers no drawn data, else below the plot.
 */
export type LegendCorner = 'tr' | 'br' | 'tl' | 'bl' | 'outside' | 'below' | 'auto';

/** A legend entry. */
interface LegendItem {
  label: string;
  color: string;
  dash?: boolean;
  dot?: boolean;
}

const CHAR_W = 6.6; // average width of an 11.5 px legend character
const ROW_H = 17;

function legendWidth(items: { label: string }[]): number {
  return 14 + CHAR_W * Math.max(...items.map((i) => i.label.length)) + 22;
}

/** An axis-aligned rectangle in px. */
interface Rect {
  x: number;
  y: number;
  w: number;
  h: number;
}

/** Whether the segment (ax, ay)-(bx, by) touches the rectangle (Liang-Barsky clipping). */
function segmentHitsRect(ax: number, ay: number, bx: number, by: number, r: Rect): boolean {
  const dx = bx - ax,
    dy = by - ay;
  let t0 = 0,
    t1 = 1;
  const clip = (p: number, q: number): boolean => {
    if (p === 0) return q >= 0;
    const t = q / p;
    if (p < 0) {
      if (t > t1) return false;
      if (t > t0) t0 = t;
    } else {
      if (t < t0) return false;
      if (t < t1) t1 = t;
    }
    return true;
  };
  return clip(-dx, ax - r.x) && clip(dx, r.x + r.w - ax) && clip(-dy, ay - r.y) && clip(dy, r.y + r.h - ay);
}

function rectsOverlap(a: Rect, b: Rect): boolean {
  return a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
}

class Plot {
  f: Frame;
  x0: number;
  x1: number;
  y0: number;
  y1: number;
  /** Inner padding in px between the frame and the data (keeps markers inside the frame). */
  inset = 0;
  parts: string[] = [];
  /** What is drawn in the plot, in px, so a legend can avoid it: polylines and boxes. */
  lines: number[][] = [];
  boxes: Rect[] = [];
  constructor(
    public o: AxisOptions,
    xr: [number, number],
    yr: [number, number],
  ) {
    this.f = { ...DEFAULT_FRAME, width: o.width ?? DEFAULT_FRAME.width, height: o.height ?? DEFAULT_FRAME.height };
    [this.x0, this.x1] = xr[1] > xr[0] ? xr : [xr[0] - 0.5, xr[0] + 0.5];
    [this.y0, this.y1] = yr[1] > yr[0] ? yr : [yr[0] - 0.5, yr[0] + 0.5];
  }
  get pw(): number {
    return this.f.width - this.f.left - this.f.right;
  }
  get ph(): number {
    return this.f.height - this.f.top - this.f.bottom;
  }
  sx(v: number): number {
    return this.f.left + this.inset + ((v - this.x0) / (this.x1 - this.x0)) * (this.pw - 2 * this.inset);
  }
  sy(v: number): number {
    const t = this.o.logY ? (Math.log10(v) - Math.log10(this.y0)) / (Math.log10(this.y1) - Math.log10(this.y0)) : (v - this.y0) / (this.y1 - this.y0);
    return this.f.top + this.inset + (1 - t) * (this.ph - 2 * this.inset);
  }
  axes(): void {
    const { left, top } = this.f;
    const pw = this.pw,
      ph = this.ph;
    const xt = niceTicks(this.x0, this.x1, Math.max(3, Math.round(pw / 80)), this.o.integerX ?? false).filter((t) => t >= this.x0 - 1e-12 && t <= this.x1 + 1e-12);
    let yt: number[];
    if (this.o.logY) {
      yt = [];
      for (let e = Math.ceil(Math.log10(this.y0)); e <= Math.floor(Math.log10(this.y1)); e++) yt.push(10 ** e);
      if (yt.length < 2) yt = niceTicks(this.y0, this.y1, 4).filter((t) => t > 0);
    } else yt = niceTicks(this.y0, this.y1, Math.max(3, Math.round(ph / 60)));
    yt = yt.filter((t) => t >= this.y0 - 1e-12 && t <= this.y1 + 1e-12);
    const g: string[] = [];
    for (const t of xt) {
      const x = this.sx(t).toFixed(1);
      g.push(`<line x1="${x}" y1="${top}" x2="${x}" y2="${top + ph}" class="gridline"/>`);
      g.push(`<line x1="${x}" y1="${top + ph}" x2="${x}" y2="${top + ph + 5}" class="tick"/>`);
      g.push(`<text x="${x}" y="${top + ph + 18}" text-anchor="middle" class="ticklabel xtick">${esc(fmt(t))}</text>`);
    }
    for (const t of yt) {
      const y = this.sy(t).toFixed(1);
      g.push(`<line x1="${left}" y1="${y}" x2="${left + pw}" y2="${y}" class="gridline"/>`);
      g.push(`<line x1="${left - 5}" y1="${y}" x2="${left}" y2="${y}" class="tick"/>`);
      g.push(`<text x="${left - 8}" y="${y}" dy="0.32em" text-anchor="end" class="ticklabel ytick">${esc(fmt(t))}</text>`);
    }
    g.push(`<rect x="${left}" y="${top}" width="${pw}" height="${ph}" class="frame"/>`);
    if (this.o.title) g.push(`<text x="${left + pw / 2}" y="${top - 14}" text-anchor="middle" class="title">${esc(this.o.title)}</text>`);
    if (this.o.xLabel) g.push(`<text x="${left + pw / 2}" y="${top + ph + 40}" text-anchor="middle" class="axislabel">${esc(this.o.xLabel)}</text>`);
    if (this.o.yLabel) {
      g.push(`<text transform="translate(14 ${top + ph / 2}) rotate(-90)" text-anchor="middle" class="axislabel">${esc(this.o.yLabel)}</text>`);
    }
    this.parts.unshift(g.join(''));
  }
  /** The legend box at an inside corner, or null when it does not fit in the plot. */
  cornerBox(corner: 'tr' | 'br' | 'tl' | 'bl', w: number, h: number): Rect | null {
    if (w > this.pw - 16 || h > this.ph - 16) return null;
    const x = corner === 'tl' || corner === 'bl' ? this.f.left + 8 : this.f.left + this.pw - w - 8;
    const y = corner === 'br' || corner === 'bl' ? this.f.top + this.ph - h - 8 : this.f.top + 8;
    return { x, y, w, h };
  }
  /** Whether a box covers anything drawn in the plot (a polyline or a box). */
  covers(r: Rect): boolean {
    for (const b of this.boxes) if (rectsOverlap(r, b)) return true;
    const g = { x: r.x - 2, y: r.y - 2, w: r.w + 4, h: r.h + 4 }; // keep a small gap from lines
    for (const pts of this.lines) {
      if (pts.length === 2 && g.x <= pts[0]! && pts[0]! <= g.x + g.w && g.y <= pts[1]! && pts[1]! <= g.y + g.h) return true;
      for (let i = 0; i + 3 < pts.length; i += 2) if (segmentHitsRect(pts[i]!, pts[i + 1]!, pts[i + 2]!, pts[i + 3]!, g)) return true;
    }
    return false;
  }
  /** Reserves room for a legend outside the plot (call before drawing; 'outside' and 'below'). */
  reserve(items: LegendItem[], corner: LegendCorner): void {
    if (items.length === 0) return;
    const w = legendWidth(items);
    if (corner === 'outside') this.f = { ...this.f, width: this.f.width + w + 12, right: this.f.right + w + 12 };
  }
  legend(items: LegendItem[], corner: LegendCorner = 'tr'): void {
    if (items.length === 0) return;
    const w = legendWidth(items);
    const h = 8 + ROW_H * items.length;
    let box: Rect | null = null;
    let where = corner;
    if (corner === 'auto') {
      where = 'below';
      for (const c of ['tr', 'tl', 'br', 'bl'] as const) {
        const b = this.cornerBox(c, w, h);
        if (b && !this.covers(b)) {
          box = b;
          where = c;
          break;
        }
      }
    } else if (corner !== 'outside' && corner !== 'below') {
      box = this.cornerBox(corner, w, h);
      if (!box) where = 'below';
    }
    if (where === 'outside') box = { x: this.f.left + this.pw + 10, y: this.f.top, w, h };
    if (where === 'below') {
      // under the x-axis title; the SVG grows to hold it
      const y = this.f.top + this.ph + 52;
      box = { x: this.f.left, y, w, h };
      const needW = this.f.left + w + 4;
      if (needW > this.f.width) {
        this.f = { ...this.f, width: needW, right: this.f.right + (needW - this.f.width) };
      }
      this.f = { ...this.f, height: this.f.height + h + 10, bottom: this.f.bottom + h + 10 };
    }
    const { x, y } = box!;
    const g = [`<g class="legend legend-${where}"><rect x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${w.toFixed(1)}" height="${h}" rx="3" class="legendbox"/>`];
    items.forEach((it, i) => {
      const cy = (y + 12 + ROW_H * i).toFixed(1);
      if (it.dot) g.push(`<circle cx="${(x + 17).toFixed(1)}" cy="${cy}" r="4" fill="${it.color}"/>`);
      else
        g.push(
          `<line x1="${(x + 8).toFixed(1)}" y1="${cy}" x2="${(x + 26).toFixed(1)}" y2="${cy}" stroke="${it.color}" stroke-width="2.5"${it.dash ? ' stroke-dasharray="5 3"' : ''}/>`,
        );
      g.push(`<text x="${(x + 32).toFixed(1)}" y="${cy}" dy="0.32em" class="legendtext">${esc(it.label)}</text>`);
    });
    g.push('</g>');
    this.parts.push(g.join(''));
  }
  svg(extraClass = ''): string {
    return (
      `<svg xmlns="http://www.w3.org/2000/svg" class="chart ${extraClass}" viewBox="0 0 ${this.f.width.toFixed(0)} ${this.f.height.toFixed(0)}" width="${this.f.width.toFixed(0)}" height="${this.f.height.toFixed(0)}" role="img">` +
      `<defs><clipPath id="clip${clipId}"><rect x="${this.f.left}" y="${this.f.top}" width="${this.pw}" height="${this.ph}"/></clipPath></defs>` +
      this.parts.join('') +
      '</svg>'
    );
  }
}
let clipId = 0;

function pad(lo: number, hi: number, frac = 0.04): [number, number] {
  if (!(hi > lo)) return [lo - 0.5, hi + 0.5];
  const d = (hi - lo) * frac;
  return [lo - d, hi + d];
}

function extent(vals: Iterable<number>, positiveOnly = false): [number, number] {
  let lo = Infinity,
    hi = -Infinity;
  for (const v of vals) {
    if (!Number.isFinite(v) || (positiveOnly && v <= 0)) continue;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return lo <= hi ? [lo, hi] : [0, 1];
}

/** One line of a {@link lineChart}. */
export interface Series {
  /** Name shown in the legend. */
  name: string;
  /** y values. */
  y: ArrayLike<number>;
  /** x values (default 0, 1, 2, ...). */
  x?: ArrayLike<number>;
  /** Line colour (default: the {@link PALETTE} colour of its index). */
  color?: string;
  /** Dashed line (default false). */
  dash?: boolean;
  /** Line width (default 2). */
  width?: number;
  /** Draw as steps (post) instead of straight segments (default false). */
  step?: boolean;
}

/** Options of {@link lineChart}. */
export interface LineChartOptions extends AxisOptions {
  /** Where the legend goes (default 'tr'; 'auto' finds a free corner or goes below). */
  legendCorner?: LegendCorner;
  /** Extra SVG drawn under the series (reference lines, markers), given the px scales (default none). */
  extra?: (p: { sx: (v: number) => number; sy: (v: number) => number }) => string;
}

/** A line chart of several series, with a legend. `extra` is drawn under the series. */
export function lineChart(series: Series[], opts: LineChartOptions = {}): string {
  clipId++;
  const xs = series.flatMap((s) => Array.from(s.x ?? Array.from({ length: s.y.length }, (_, i) => i)));
  const ys = series.flatMap((s) => Array.from(s.y));
  const xr = opts.xRange ?? pad(...extent(xs), 0.01);
  const yr = opts.yRange ?? (opts.logY ? (([a, b]) => [a / 1.2, b * 1.2] as [number, number])(extent(ys, true)) : pad(...extent(ys)));
  const p = new Plot(opts, xr, yr);
  const items: LegendItem[] = series.map((s, k) => ({ label: s.name, color: s.color ?? PALETTE[k % PALETTE.length]!, dash: s.dash }));
  p.reserve(items, opts.legendCorner ?? 'tr');
  p.axes();
  if (opts.extra) p.parts.push(opts.extra({ sx: (v) => p.sx(v), sy: (v) => p.sy(v) }));
  const { top, left } = p.f;
  const clampX = (v: number): number => Math.min(left + p.pw, Math.max(left, v));
  const clampY = (v: number): number => Math.min(top + p.ph, Math.max(top, v));
  series.forEach((s, k) => {
    const color = items[k]!.color;
    const pts: string[] = [];
    const px: number[] = [];
    let prevY: number | null = null;
    for (let i = 0; i < s.y.length; i++) {
      const xv = s.x ? s.x[i]! : i;
      const yv = s.y[i]!;
      if (!Number.isFinite(yv) || !Number.isFinite(xv) || (opts.logY && yv <= 0)) continue;
      const X = p.sx(xv),
        Y = p.sy(yv);
      if (s.step && prevY !== null) {
        pts.push(`${X.toFixed(1)},${prevY.toFixed(1)}`);
        px.push(clampX(X), clampY(prevY));
      }
      pts.push(`${X.toFixed(1)},${Y.toFixed(1)}`);
      px.push(clampX(X), clampY(Y));
      prevY = Y;
    }
    p.lines.push(px);
    p.parts.push(
      `<polyline points="${pts.join(' ')}" fill="none" stroke="${color}" stroke-width="${s.width ?? 2}" stroke-linejoin="round"${s.dash ? ' stroke-dasharray="6 4"' : ''} clip-path="url(#clip${clipId})" class="series"/>`,
    );
  });
  p.legend(items, opts.legendCorner);
  return p.svg();
}

/** Options of {@link scoreHistogram}. */
export interface HistogramOptions extends AxisOptions {
  /** Number of bins over the range of all scores (default 30). */
  bins?: number;
  /** The threshold Φ to mark with a vertical line (default none). */
  threshold?: number;
  /** Where the legend goes (default 'auto': a corner free of bars, else below the plot). */
  legendCorner?: LegendCorner;
}

/**
 * Overlaid histograms of the normal and anomalous scores on shared bins, each class
 * normalised to a density (so unequal class sizes compare), with Φ marked.
 */
export function scoreHistogram(scores: ArrayLike<number>, labels: ArrayLike<number>, opts: HistogramOptions = {}): string {
  clipId++;
  const bins = opts.bins ?? 30;
  let [lo, hi] = extent(Array.from(scores));
  if (opts.threshold !== undefined && Number.isFinite(opts.threshold)) {
    lo = Math.min(lo, opts.threshold);
    hi = Math.max(hi, opts.threshold);
  }
  if (!(hi > lo)) {
    lo -= 0.5;
    hi += 0.5;
  }
  const width = (hi - lo) / bins;
  const counts = [new Float64Array(bins), new Float64Array(bins)];
  const n = [0, 0];
  for (let i = 0; i < scores.length; i++) {
    if (!Number.isFinite(scores[i]!)) continue;
    const c = labels[i] ? 1 : 0;
    const b = Math.min(bins - 1, Math.max(0, Math.floor((scores[i]! - lo) / width)));
    counts[c]![b]!++;
    n[c]!++;
  }
  const dens = counts.map((cs, c) => Array.from(cs, (v) => (n[c]! > 0 ? v / n[c]! / width : 0)));
  const ymax = Math.max(...dens[0]!, ...dens[1]!, 1e-12);
  const p = new Plot({ yLabel: 'density', xLabel: 'anomaly score', ...opts }, opts.xRange ?? [lo, hi], opts.yRange ?? [0, ymax * 1.08]);
  p.axes();
  const colors = [NORMAL_COLOR, ANOMALY_COLOR];
  for (const c of [0, 1]) {
    if (n[c] === 0) continue;
    const d: string[] = [];
    for (let b = 0; b < bins; b++) {
      const h = dens[c]![b]!;
      if (h <= 0) continue;
      const x = p.sx(lo + b * width),
        x2 = p.sx(lo + (b + 1) * width),
        y = p.sy(h),
        y0 = p.sy(0);
      p.boxes.push({ x, y, w: Math.max(0.5, x2 - x), h: y0 - y });
      d.push(`<rect x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${Math.max(0.5, x2 - x).toFixed(1)}" height="${(y0 - y).toFixed(1)}"/>`);
    }
    p.parts.push(`<g fill="${colors[c]}" fill-opacity="0.45" stroke="${colors[c]}" stroke-width="0.8" class="bars">${d.join('')}</g>`);
  }
  const items: LegendItem[] = [
    { label: `normal (n=${n[0]})`, color: NORMAL_COLOR },
    { label: `anomalous (n=${n[1]})`, color: ANOMALY_COLOR },
  ];
  if (opts.threshold !== undefined && Number.isFinite(opts.threshold)) {
    const x = p.sx(opts.threshold);
    p.lines.push([x, p.f.top, x, p.f.top + p.ph]);
    p.parts.push(`<line x1="${x.toFixed(1)}" y1="${p.f.top}" x2="${x.toFixed(1)}" y2="${p.f.top + p.ph}" stroke="#222" stroke-width="1.8" stroke-dasharray="6 4" class="phi"/>`);
    items.push({ label: `Φ = ${fmt(opts.threshold)}`, color: '#222', dash: true });
  }
  p.legend(items, opts.legendCorner ?? 'auto');
  return p.svg('histogram');
}

/** Options of {@link scatterPlot}. */
export interface ScatterOptions extends AxisOptions {
  /** Names of the label values (default: 'normal'/'anomalous' for 0/1, else the value). */
  labelNames?: Record<number, string>;
  /** Point radius (default 2.6, or 3.5 under 300 points). */
  radius?: number;
  /** Hide the numeric axes (default true: t-SNE axes have no meaning). */
  hideTicks?: boolean;
}

/**
 * A scatter plot of 2-D points (`coords` row-major [N, 2]) coloured by integer label, with
 * the legend outside right of the plot. Every point is drawn whole inside the plot frame:
 * the data range is mapped to the frame minus an inner margin of the point radius + 3 px
 * (and points outside a fixed `xRange`/`yRange` are clamped to its edge). Points with a
 * non-finite coordinate are left out.
 */
export function scatterPlot(coords: ArrayLike<number>, labels: ArrayLike<number>, opts: ScatterOptions = {}): string {
  clipId++;
  const n = Math.floor(coords.length / 2);
  const xs = Array.from({ length: n }, (_, i) => coords[2 * i]!);
  const ys = Array.from({ length: n }, (_, i) => coords[2 * i + 1]!);
  const p = new Plot({ width: 460, height: 400, ...opts }, opts.xRange ?? pad(...extent(xs)), opts.yRange ?? pad(...extent(ys)));
  const distinct = Array.from(new Set(Array.from({ length: n }, (_, i) => labels[i]!))).sort((a, b) => a - b);
  const binary = distinct.every((v) => v === 0 || v === 1);
  const colorOf = (v: number): string => (binary ? (v === 1 ? ANOMALY_COLOR : NORMAL_COLOR) : PALETTE[distinct.indexOf(v) % PALETTE.length]!);
  const nameOf = (v: number): string => opts.labelNames?.[v] ?? (binary ? (v === 1 ? 'anomalous' : 'normal') : String(v));
  const r = opts.radius ?? (n < 300 ? 3.5 : 2.6);
  // the whole frame first (legend room, margins), then the scales, then the points
  p.reserve(
    distinct.map((v) => ({ label: `${nameOf(v)} (n=${n})`, color: '' })),
    'outside',
  );
  p.inset = r + 3;
  if (opts.hideTicks ?? true) {
    p.f = { ...p.f, left: 16, bottom: 16, top: opts.title ? p.f.top : 10 };
    const { left, top } = p.f;
    p.parts.push(`<rect x="${left}" y="${top}" width="${p.pw}" height="${p.ph}" class="frame"/>`);
    if (opts.title) p.parts.push(`<text x="${left + p.pw / 2}" y="${top - 14}" text-anchor="middle" class="title">${esc(opts.title)}</text>`);
  } else p.axes();
  const { left, top } = p.f;
  const cx = (v: number): number => Math.min(left + p.pw - p.inset, Math.max(left + p.inset, p.sx(v)));
  const cy = (v: number): number => Math.min(top + p.ph - p.inset, Math.max(top + p.inset, p.sy(v)));
  // draw normals first so anomalies stay visible on top
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => labels[a]! - labels[b]!);
  const groups = new Map<number, string[]>();
  for (const i of order) {
    const v = labels[i]!;
    if (!groups.has(v)) groups.set(v, []);
    if (!Number.isFinite(xs[i]!) || !Number.isFinite(ys[i]!)) continue;
    groups.get(v)!.push(`<circle cx="${cx(xs[i]!).toFixed(1)}" cy="${cy(ys[i]!).toFixed(1)}" r="${r}"/>`);
  }
  for (const [v, cs] of groups) p.parts.push(`<g fill="${colorOf(v)}" fill-opacity="0.7" stroke="white" stroke-width="0.4" class="points">${cs.join('')}</g>`);
  p.legend(
    distinct.map((v) => ({ label: `${nameOf(v)} (n=${groups.get(v)!.length})`, color: colorOf(v), dot: true })),
    'outside',
  );
  return p.svg('scatter');
}
