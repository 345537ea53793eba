// Tiny DOM helpers shared by the dashboard's pages.
/* global Node */
import { esc, fmt } from './plot.js';

export { esc, fmt };

/**
 * Creates an element: `h('a', { href: '#/runs', class: 'x', onclick: fn }, 'text', child, ...)`.
 * Attributes starting with "on" become listeners; `html` sets innerHTML; null/false children are skipped.
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'html') el.innerHTML = v;
    else if (k === 'class') el.className = v;
    else if (k === 'style' && typeof v === 'object') Object.assign(el.style, v);
    else if (k in el && typeof v !== 'string') el[k] = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

/** A status badge for a run status. */
export function badge(status) {
  return h('span', { class: `badge st-${status}` }, status);
}

/** A short local date-time (YYYY-MM-DD HH:MM:SS) of an ISO string. */
export function when(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** A duration in seconds as "1 h 02 min", "3 min 05 s" or "4.2 s". */
export function duration(s) {
  if (!Number.isFinite(s) || s < 0) return '—';
  if (s < 60) return `${s < 10 ? s.toFixed(1) : Math.round(s)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${String(Math.round(s - 60 * m)).padStart(2, '0')} s`;
  return `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, '0')} min`;
}

/** Seconds a run took (or has taken so far, when running). */
export function runSeconds(run) {
  const a = Date.parse(run.startedAt);
  const b = run.finishedAt ? Date.parse(run.finishedAt) : run.status === 'running' ? Date.now() : Date.parse(run.heartbeatAt);
  return (b - a) / 1000;
}

/** The short text of a run's data (a path's last two parts). */
export function dataName(d) {
  if (!d) return '—';
  const parts = String(d).split(/[\\/]/).filter(Boolean);
  return parts.length > 2 ? `…/${parts.slice(-2).join('/')}` : String(d);
}

/**
 * A protocol as short text: "one-vs-rest · normal class 0 · val fraction 0.1" from the
 * registry's protocol object (its name, then its scalar settings; the dataset, seed, counts
 * and options are shown elsewhere or left out).
 */
export function protocolText(p) {
  if (p === null || p === undefined) return '—';
  if (typeof p !== 'object') return String(p);
  const head = p.protocol ?? p.kind ?? p.name ?? p.type ?? '';
  const skip = new Set(['protocol', 'kind', 'name', 'type', 'dataset', 'seed', 'counts', 'options', 'userValidation']);
  const words = (k) => k.replace(/([a-z])([A-Z])/g, '$1 $2').toLowerCase();
  const tail = Object.entries(p)
    .filter(([k, v]) => !skip.has(k) && v !== null && typeof v !== 'object')
    .map(([k, v]) => `${words(k)} ${v}`);
  if (p.userValidation === true) tail.push('own validation set');
  return [head, ...tail].filter(Boolean).join(' · ') || JSON.stringify(p);
}

/** The split sizes of a protocol object ("train 5331 · validation 592 · test 10000 (9020 anomalous)"), or null. */
export function countsText(p) {
  const c = p && typeof p === 'object' ? p.counts : null;
  if (!c || typeof c !== 'object') return null;
  const parts = [];
  for (const k of ['train', 'validation', 'test'])
    if (typeof c[k] === 'number') parts.push(`${k} ${c[k]}${k === 'test' && typeof c.testAnomalous === 'number' ? ` (${c.testAnomalous} anomalous)` : ''}`);
  return parts.length ? parts.join(' · ') : null;
}

/** Options flattened one level: { hparams: { nz: 8 } } → { 'hparams.nz': 8 }. */
export function flatOptions(o) {
  const out = {};
  for (const [k, v] of Object.entries(o ?? {})) {
    if (v !== null && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length) for (const [k2, v2] of Object.entries(v)) out[`${k}.${k2}`] = v2;
    else out[k] = v;
  }
  return out;
}

/** The end of a long name ("…/t10k-images#123"), at most `max` characters (default 44). */
export function shortName(name, max = 44) {
  const s = String(name);
  return s.length > max ? `…${s.slice(s.length - max + 1)}` : s;
}

/** The message box for an error (ApiError or other), readable, with the status when there is one. */
export function errorBox(e, what = '') {
  const status = e && e.status ? ` (HTTP ${e.status})` : '';
  return h('div', { class: 'error', role: 'alert' }, h('b', {}, `${what ? `${what}: ` : ''}error${status}`), ' ', e && e.message ? e.message : String(e));
}

/** Summary keys in reading order: auroc, auprc, f1, fpr95, bestF1, the losses, other keys, seconds. */
export function summaryOrder(keys) {
  const head = ['auroc', 'auprc', 'f1', 'fpr95', 'bestF1'];
  const rank = (k) => (head.includes(k) ? head.indexOf(k) : k.startsWith('loss.') ? 10 : k === 'seconds' ? 30 : 20);
  return [...keys].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
}
