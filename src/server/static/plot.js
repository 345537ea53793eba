// Small SVG charts for the dashboard (no plotting dependency), in the look of the HTML report
// (src/eval/svg.ts): line charts, ROC/PR curves, pre-binned score histograms with Φ, and
// scatter plots, each with a frame, nice ticks, grid lines, axis titles and a legend.
// Every function returns one SVG string; callers put it into the page with innerHTML.

/** Categorical colours (matplotlib's tab10, as the report). */
export const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];
/** Colours of the two classes: normal (0) and anomalous (1). */
export const NORMAL_COLOR = '#1f77b4';
export const ANOMALY_COLOR = '#d62728';

/** Escapes text for HTML/SVG content and attribute values. */
export function esc(s) {
  return String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
}

/** A short human-readable number: `digits` significant digits (default 3), exponent form for very large/small. */
export function fmt(v, digits = 3) {
  if (typeof v !== 'number') return v === null || v === undefined ? '—' : String(v);
  if (!Number.isFinite(v)) return Number.isNaN(v) ? 'NaN' : v > 0 ? '∞' : '−∞';
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e5 || a < 1e-3) return v.toExponential(digits - 1).replace('e+', 'e');
  return String(Number(v.toPrecision(digits)));
}

/** "Nice" ticks inside [lo, hi]: about n + 1 of them, steps of 1, 2 or 5 × 10^k (whole numbers with `integer`). */
export function niceTicks(lo, hi, n = 5, integer = false) {
  if (!(hi > lo)) {
    const d = lo === 0 ? 1 : Math.abs(lo) * 0.1;
    lo -= d;
    hi += d;
  }
  const p = 10 ** Math.floor(Math.log10((hi - lo) / n));
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
  const out = [];
  for (let t = Math.ceil(lo / step - 1e-9) * step; t <= hi + step * 1e-9; t += step) out.push(Math.abs(t) < step * 1e-9 ? 0 : Number(t.toPrecision(12)));
  return out;
}

let uid = 0;
const CHAR_W = 6.6; // average width of an 11.5 px legend character
const ROW_H = 17;

function extent(vals, positiveOnly = false) {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of vals) {
    if (!Number.isFinite(v) || (positiveOnly && v <= 0)) continue;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return lo <= hi ? [lo, hi] : [0, 1];
}

function pad([lo, hi], frac = 0.04) {
  if (!(hi > lo)) return [lo - 0.5, hi + 0.5];
  const d = (hi - lo) * frac;
  return [lo - d, hi + d];
}

/**
 * One chart: frame, scales and parts. Options: title, xLabel, yLabel, width (default 380),
 * height (default 300), logY (default false), integerX (default false), hideTicks (default false).
 */
class Plot {
  constructor(o, xr, yr) {
    this.o = o;
    this.id = ++uid;
    this.f = { width: o.width ?? 360, height: o.height ?? 300, left: 58, right: 14, top: o.title ? 34 : 14, bottom: 48 };
    if (o.hideTicks) this.f = { ...this.f, left: 16, bottom: 16 };
    [this.x0, this.x1] = xr[1] > xr[0] ? xr : [xr[0] - 0.5, xr[0] + 0.5];
    [this.y0, this.y1] = yr[1] > yr[0] ? yr : [yr[0] - 0.5, yr[0] + 0.5];
    this.inset = 0;
    this.parts = [];
    this.legendSvg = '';
  }
  get pw() {
    return this.f.width - this.f.left - this.f.right;
  }
  get ph() {
    return this.f.height - this.f.top - this.f.bottom;
  }
  sx(v) {
    return this.f.left + this.inset + ((v - this.x0) / (this.x1 - this.x0)) * (this.pw - 2 * this.inset);
  }
  sy(v) {
    const t = this.o.logY ? (Math.log10(v) - Math.log10(this.y0)) / (Math.log10(this.y1) - Math.log10(this.y0)) : (v - this.y0) / (this.y1 - this.y0);
    return this.f.top + this.inset + (1 - t) * (this.ph - 2 * this.inset);
  }
  /** Room for a legend right of the plot. */
  reserveOutside(items) {
    const w = legendWidth(items);
    this.f = { ...this.f, width: this.f.width + w + 12, right: this.f.right + w + 12 };
  }
  axes() {
    const { left, top } = this.f;
    const { pw, ph } = this;
    const g = [];
    if (!this.o.hideTicks) {
      const xt = niceTicks(this.x0, this.x1, Math.max(3, Math.round(pw / 80)), this.o.integerX ?? false).filter((t) => t >= this.x0 - 1e-12 && t <= this.x1 + 1e-12);
      let yt;
      if (this.o.logY) {
        yt = [];
        for (let e = Math.ceil(Math.log10(this.y0)); e <= Math.floor(Math.log10(this.y1)); e++) yt.push(10 ** e);
        if (yt.length < 2) yt = niceTicks(this.y0, this.y1, 4).filter((t) => t > 0);
      } else yt = niceTicks(this.y0, this.y1, Math.max(3, Math.round(ph / 60)));
      yt = yt.filter((t) => t >= this.y0 - 1e-12 && t <= this.y1 + 1e-12);
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
      if (this.o.xLabel) g.push(`<text x="${left + pw / 2}" y="${top + ph + 40}" text-anchor="middle" class="axislabel">${esc(this.o.xLabel)}</text>`);
      if (this.o.yLabel) g.push(`<text transform="translate(14 ${top + ph / 2}) rotate(-90)" text-anchor="middle" class="axislabel">${esc(this.o.yLabel)}</text>`);
    }
    g.push(`<rect x="${left}" y="${top}" width="${pw}" height="${ph}" class="frame"/>`);
    if (this.o.title) g.push(`<text x="${left + pw / 2}" y="${top - 14}" text-anchor="middle" class="title">${esc(this.o.title)}</text>`);
    this.parts.unshift(g.join(''));
  }
  /**
   * The first inside corner (tr, tl, br, bl) where a legend of these items covers none of
   * `boxes` ({ x, y, w, h } in px) and no segment of `lines` (flat [x0, y0, x1, y1, ...] px
   * arrays), else 'below'.
   */
  freeCorner(items, boxes, lines = []) {
    const w = legendWidth(items);
    const h = 8 + ROW_H * items.length;
    if (w > this.pw - 16 || h > this.ph - 16) return 'below';
    for (const c of ['tr', 'tl', 'br', 'bl']) {
      const r = { x: c[1] === 'l' ? this.f.left + 8 : this.f.left + this.pw - w - 8, y: c[0] === 'b' ? this.f.top + this.ph - h - 8 : this.f.top + 8, w, h };
      const g = { x: r.x - 2, y: r.y - 2, w: r.w + 4, h: r.h + 4 };
      if (boxes.some((b) => g.x < b.x + b.w && b.x < g.x + g.w && g.y < b.y + b.h && b.y < g.y + g.h)) continue;
      if (lines.some((pts) => hitsPolyline(pts, g))) continue;
      return c;
    }
    return 'below';
  }
  /** A legend: 'tr', 'tl', 'br', 'bl' inside the plot, 'outside' right of it (reserve first), 'below' it, or 'none'. */
  legend(items, where = 'tr') {
    if (items.length === 0 || where === 'none') return;
    const w = legendWidth(items);
    const h = 8 + ROW_H * items.length;
    if ((where !== 'outside' && where !== 'below' && (w > this.pw - 16 || h > this.ph - 16)) || where === 'below') {
      where = 'below';
      const needW = this.f.left + w + 4;
      if (needW > this.f.width) this.f = { ...this.f, width: needW, right: this.f.right + needW - this.f.width };
    }
    let x;
    let y;
    if (where === 'outside') [x, y] = [this.f.left + this.pw + 10, this.f.top];
    else if (where === 'below') {
      [x, y] = [this.f.left, this.f.top + this.ph + (this.o.hideTicks ? 10 : 52)];
      this.f = { ...this.f, height: this.f.height + h + 10, bottom: this.f.bottom + h + 10 };
    } else {
      x = where[1] === 'l' ? this.f.left + 8 : this.f.left + this.pw - w - 8;
      y = where[0] === 'b' ? this.f.top + this.ph - h - 8 : this.f.top + 8;
    }
    const g = [`<g class="legend legend-${where}"><rect x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${w.toFixed(1)}" height="${h}" rx="3" class="legendbox"/>`];
    items.forEach((it, i) => {
      const cy = (y + 12 + ROW_H * i).toFixed(1);
      if (it.dot) g.push(`<circle cx="${(x + 17).toFixed(1)}" cy="${cy}" r="4" fill="${it.color}"/>`);
      else if (it.box) g.push(`<rect x="${(x + 10).toFixed(1)}" y="${(+cy - 5).toFixed(1)}" width="14" height="10" fill="${it.color}" fill-opacity="0.45" stroke="${it.color}"/>`);
      else
        g.push(
          `<line x1="${(x + 8).toFixed(1)}" y1="${cy}" x2="${(x + 26).toFixed(1)}" y2="${cy}" stroke="${it.color}" stroke-width="2.5"${it.dash ? ' stroke-dasharray="5 3"' : ''}/>`,
        );
      g.push(`<text x="${(x + 32).toFixed(1)}" y="${cy}" dy="0.32em" class="legendtext">${esc(it.label)}</text>`);
    });
    g.push('</g>');
    this.legendSvg = g.join('');
  }
  svg(cls = '') {
    const { width, height, left, top } = this.f;
    return (
      `<svg xmlns="http://www.w3.org/2000/svg" class="chart ${cls}" viewBox="0 0 ${width.toFixed(0)} ${height.toFixed(0)}" width="${width.toFixed(0)}" height="${height.toFixed(0)}" role="img"${this.o.title ? ` aria-label="${esc(this.o.title)}"` : ''}>` +
      `<defs><clipPath id="dclip${this.id}"><rect x="${left}" y="${top}" width="${this.pw}" height="${this.ph}"/></clipPath></defs>` +
      this.parts.join('') +
      this.legendSvg +
      '</svg>'
    );
  }
  get clip() {
    return `clip-path="url(#dclip${this.id})"`;
  }
}

/** Whether a polyline (flat px coordinates) touches the rectangle (Liang-Barsky clipping per segment). */
function hitsPolyline(pts, r) {
  const inside = (x, y) => x >= r.x && x <= r.x + r.w && y >= r.y && y <= r.y + r.h;
  if (pts.length === 2) return inside(pts[0], pts[1]);
  for (let i = 0; i + 3 < pts.length; i += 2) {
    const [ax, ay, bx, by] = [pts[i], pts[i + 1], pts[i + 2], pts[i + 3]];
    const dx = bx - ax;
    const dy = by - ay;
    let t0 = 0;
    let t1 = 1;
    let ok = true;
    for (const [p, q] of [
      [-dx, ax - r.x],
      [dx, r.x + r.w - ax],
      [-dy, ay - r.y],
      [dy, r.y + r.h - ay],
    ]) {
      if (p === 0) {
        if (q < 0) ok = false;
        continue;
      }
      const t = q / p;
      if (p < 0) {
        if (t > t1) ok = false;
        else if (t > t0) t0 = t;
      } else if (t < t0) ok = false;
      else if (t < t1) t1 = t;
    }
    if (ok) return true;
  }
  return false;
}

function legendWidth(items) {
  return 14 + CHAR_W * Math.max(...items.map((i) => i.label.length)) + 22;
}

/**
 * A line chart. `series`: [{ name, x?: number[], y: number[], color?, dash?, width?, step? }]
 * (x defaults to 0, 1, 2, ...; non-finite points are skipped). Options: those of the frame plus
 * xRange/yRange ([lo, hi], default from the data, padded), legend (default 'tr'; 'outside',
 * 'below', 'tl', 'br', 'bl', or 'auto': the first corner free of curves, else below) and extra(sx, sy) returning SVG drawn under the series.
 */
export function lineChart(series, o = {}) {
  const xs = series.flatMap((s) => s.x ?? s.y.map((_, i) => i));
  const ys = series.flatMap((s) => s.y);
  const xr = o.xRange ?? pad(extent(xs), 0.01);
  let yr = o.yRange;
  if (!yr) {
    if (o.logY) {
      const [a, b] = extent(ys, true);
      yr = [a / 1.2, b * 1.2];
    } else yr = pad(extent(ys));
  }
  const p = new Plot(o, xr, yr);
  const items = series.map((s, k) => ({ label: s.name, color: s.color ?? PALETTE[k % PALETTE.length], dash: s.dash }));
  const where = o.legend ?? 'tr';
  if (where === 'outside' && items.length) p.reserveOutside(items);
  p.axes();
  if (o.extra)
    p.parts.push(
      o.extra(
        (v) => p.sx(v),
        (v) => p.sy(v),
      ),
    );
  const drawn = [];
  const cx = (v) => Math.min(p.f.left + p.pw, Math.max(p.f.left, v));
  const cy = (v) => Math.min(p.f.top + p.ph, Math.max(p.f.top, v));
  series.forEach((s, k) => {
    const pts = [];
    const px = [];
    let prevY = null;
    for (let i = 0; i < s.y.length; i++) {
      const xv = s.x ? s.x[i] : i;
      const yv = s.y[i];
      if (!Number.isFinite(xv) || !Number.isFinite(yv) || (o.logY && yv <= 0)) continue;
      const X = p.sx(xv).toFixed(1);
      const Y = p.sy(yv).toFixed(1);
      if (s.step && prevY !== null) {
        pts.push(`${X},${prevY}`);
        px.push(cx(+X), cy(+prevY));
      }
      pts.push(`${X},${Y}`);
      px.push(cx(+X), cy(+Y));
      prevY = Y;
    }
    drawn.push(px);
    p.parts.push(
      `<polyline points="${pts.join(' ')}" fill="none" stroke="${items[k].color}" stroke-width="${s.width ?? 2}" stroke-linejoin="round"${s.dash ? ' stroke-dasharray="6 4"' : ''} ${p.clip} class="series" data-name="${esc(s.name)}"/>`,
    );
  });
  p.legend(items, where === 'auto' ? p.freeCorner(items, [], drawn) : where);
  return p.svg(o.cls ?? 'lines');
}

/** The ROC curve: `roc` = { fpr, tpr }; chance diagonal dashed grey; `label` for the legend. */
export function rocChart(roc, label, o = {}) {
  return lineChart([{ name: label, x: roc.fpr, y: roc.tpr, color: PALETTE[0], width: 2.4 }], {
    title: 'ROC curve',
    xLabel: 'false positive rate',
    yLabel: 'true positive rate',
    xRange: [0, 1],
    yRange: [0, 1.0001],
    legend: 'auto',
    cls: 'roc',
    extra: (sx, sy) => `<line x1="${sx(0)}" y1="${sy(0)}" x2="${sx(1)}" y2="${sy(1)}" stroke="#bbb" stroke-dasharray="3 3"/>`,
    ...o,
  });
}

/** The precision-recall curve: `pr` = { recall, precision }; `prevalence` drawn as the chance line. */
export function prChart(pr, label, prevalence, o = {}) {
  let lo = Number.isFinite(prevalence) ? prevalence : 0;
  pr.precision.forEach((v, i) => {
    if (Number.isFinite(v) && pr.recall[i] >= 0.05 && v < lo) lo = v;
  });
  let y0 = Math.floor((lo - Math.max(0.02, 0.08 * (1 - lo))) * 20) / 20;
  if (y0 < 0.2) y0 = 0;
  return lineChart([{ name: label, x: pr.recall, y: pr.precision, color: PALETTE[0], width: 2.4, step: true }], {
    title: 'Precision-recall curve',
    xLabel: 'recall',
    yLabel: y0 > 0 ? `precision (axis from ${fmt(y0)})` : 'precision',
    xRange: [0, 1],
    yRange: [y0, 1 + 0.02 * (1 - y0)],
    legend: 'auto',
    cls: 'pr',
    extra: (sx, sy) =>
      Number.isFinite(prevalence)
        ? `<line x1="${sx(0)}" y1="${sy(prevalence).toFixed(1)}" x2="${sx(1)}" y2="${sy(prevalence).toFixed(1)}" stroke="#bbb" stroke-dasharray="3 3"/>`
        : '',
    ...o,
  });
}

/**
 * Overlaid histograms of pre-binned normal and anomalous counts on shared `edges` (bins + 1
 * values), each class as a density (so unequal class sizes compare), with Φ as a dashed line.
 */
export function histogramChart(h, threshold, o = {}) {
  const bins = h.edges.length - 1;
  const n = [h.normal.reduce((a, b) => a + b, 0), h.anomalous.reduce((a, b) => a + b, 0)];
  const dens = [h.normal, h.anomalous].map((cs, c) => cs.map((v, b) => (n[c] > 0 ? v / n[c] / Math.max(1e-12, h.edges[b + 1] - h.edges[b]) : 0)));
  const ymax = Math.max(...dens[0], ...dens[1], 1e-12);
  let [lo, hi] = [h.edges[0], h.edges[bins]];
  if (Number.isFinite(threshold)) [lo, hi] = [Math.min(lo, threshold), Math.max(hi, threshold)];
  const p = new Plot({ title: 'Test score distribution', xLabel: 'normalised anomaly score', yLabel: 'density', ...o }, pad([lo, hi], 0.02), [0, ymax * 1.08]);
  p.axes();
  const colors = [NORMAL_COLOR, ANOMALY_COLOR];
  const boxes = [];
  for (const c of [0, 1]) {
    const d = [];
    for (let b = 0; b < bins; b++) {
      if (!(dens[c][b] > 0)) continue;
      const x = p.sx(h.edges[b]);
      const x2 = p.sx(h.edges[b + 1]);
      const y = p.sy(dens[c][b]);
      boxes.push({ x, y, w: x2 - x, h: p.sy(0) - y });
      d.push(`<rect x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${Math.max(0.5, x2 - x).toFixed(1)}" height="${(p.sy(0) - y).toFixed(1)}"/>`);
    }
    p.parts.push(`<g fill="${colors[c]}" fill-opacity="0.45" stroke="${colors[c]}" stroke-width="0.8" class="bars">${d.join('')}</g>`);
  }
  const items = [
    { label: `normal (n=${n[0]})`, color: NORMAL_COLOR, box: true },
    { label: `anomalous (n=${n[1]})`, color: ANOMALY_COLOR, box: true },
  ];
  if (Number.isFinite(threshold)) {
    const x = p.sx(threshold).toFixed(1);
    p.parts.push(`<line x1="${x}" y1="${p.f.top}" x2="${x}" y2="${p.f.top + p.ph}" stroke="#222" stroke-width="1.8" stroke-dasharray="6 4" class="phi"/>`);
    items.push({ label: `Φ = ${fmt(threshold)}`, color: '#222', dash: true });
    boxes.push({ x: +x - 2, y: p.f.top, w: 4, h: p.ph });
  }
  p.legend(items, o.legend ?? p.freeCorner(items, boxes));
  return p.svg('histogram');
}

/** A scatter plot of { x, y, label } points coloured by class (normal / anomalous), legend right of it. */
export function scatterChart(points, o = {}) {
  const p = new Plot({ width: 420, height: 360, hideTicks: true, ...o }, pad(extent(points.map((q) => q.x))), pad(extent(points.map((q) => q.y))));
  const r = points.length < 300 ? 3.5 : 2.6;
  const counts = [0, 0];
  for (const q of points) counts[q.label ? 1 : 0]++;
  const items = [
    { label: `normal (n=${counts[0]})`, color: NORMAL_COLOR, dot: true },
    { label: `anomalous (n=${counts[1]})`, color: ANOMALY_COLOR, dot: true },
  ];
  p.reserveOutside(items);
  p.inset = r + 3;
  p.axes();
  for (const c of [0, 1]) {
    const cs = points
      .filter((q) => (q.label ? 1 : 0) === c && Number.isFinite(q.x) && Number.isFinite(q.y))
      .map((q) => `<circle cx="${p.sx(q.x).toFixed(1)}" cy="${p.sy(q.y).toFixed(1)}" r="${r}"/>`);
    p.parts.push(`<g fill="${c ? ANOMALY_COLOR : NORMAL_COLOR}" fill-opacity="0.7" stroke="white" stroke-width="0.4" class="points">${cs.join('')}</g>`);
  }
  p.legend(items, 'outside');
  return p.svg('scatter');
}
