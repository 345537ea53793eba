// #/runs: every run in the registry as a table, sortable by any column (click its header;
// again to reverse), filtered by model, data, status and kind (kept in the URL), with status
// badges, a link to each run, and checkboxes to compare two or more runs. Refreshes every 3 s
// while a run is running, every 15 s otherwise.
/* global location, history, URLSearchParams */
import { getJson } from './api.js';
import { h, fmt, badge, when, duration, runSeconds, dataName, errorBox } from './dom.js';

/** Runs asked for at most. */
const LIMIT = 1000;

/** The headline metric of a run: its own summary's, else its newest evaluation child's. */
function metric(run, children, key) {
  if (typeof run.summary?.[key] === 'number') return { v: run.summary[key], from: null };
  for (const c of children.get(run.id) ?? []) if (typeof c.summary?.[key] === 'number') return { v: c.summary[key], from: c.id };
  return { v: null, from: null };
}

/** The final value of the run's first loss (summary keys "loss.<name>"). */
function finalLoss(run) {
  const k = Object.keys(run.summary ?? {}).find((x) => x.startsWith('loss.'));
  return k ? { v: run.summary[k], name: k.slice(5) } : { v: null, name: '' };
}

const COLUMNS = [
  { key: 'id', label: '#', get: (r) => r.id, num: true },
  { key: 'kind', label: 'kind', get: (r) => r.kind },
  { key: 'model', label: 'model', get: (r) => r.model ?? '' },
  { key: 'data', label: 'data', get: (r) => r.data ?? '' },
  { key: 'status', label: 'status', get: (r) => r.status },
  { key: 'started', label: 'started', get: (r) => r.startedAt },
  { key: 'seconds', label: 'duration', get: (r) => runSeconds(r), num: true },
  { key: 'auroc', label: 'AUROC', get: (r, ch) => metric(r, ch, 'auroc').v, num: true, metric: true },
  { key: 'auprc', label: 'AUPRC', get: (r, ch) => metric(r, ch, 'auprc').v, num: true, metric: true },
  { key: 'f1', label: 'F1@Φ', get: (r, ch) => metric(r, ch, 'f1').v, num: true, metric: true },
  { key: 'loss', label: 'final loss', get: (r) => finalLoss(r).v, num: true },
];

function compareValues(a, b) {
  const na = a === null || a === undefined || (typeof a === 'number' && !Number.isFinite(a));
  const nb = b === null || b === undefined || (typeof b === 'number' && !Number.isFinite(b));
  if (na || nb) return na === nb ? 0 : na ? 1 : -1; // missing values last, whichever the direction
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  return String(a).localeCompare(String(b), undefined, { numeric: true });
}

/** Renders the runs page into ctx.root. */
export async function runsPage(ctx) {
  const q = ctx.query;
  const state = {
    sort: q.get('sort') ?? '-id',
    filters: { model: q.get('model') ?? '', data: q.get('data') ?? '', status: q.get('status') ?? '', kind: q.get('kind') ?? '' },
    selected: new Set((q.get('selected') ?? '').split(',').filter(Boolean).map(Number)),
    runs: [],
  };
  const tbody = h('tbody');
  const thead = h('thead');
  const count = h('span', { class: 'muted count' });
  const compareBtn = h(
    'button',
    { class: 'primary', disabled: true, onclick: () => (location.hash = `#/compare?ids=${[...state.selected].sort((a, b) => a - b).join(',')}`) },
    'Compare selected',
  );
  const filterBar = h('div', { class: 'filters' });
  const errorSlot = h('div');

  function saveUrl() {
    const p = new URLSearchParams();
    for (const [k, v] of Object.entries(state.filters)) if (v) p.set(k, v);
    if (state.sort !== '-id') p.set('sort', state.sort);
    const s = p.toString();
    history.replaceState(null, '', `#/runs${s ? `?${s}` : ''}`);
  }

  function renderFilters() {
    const opts = (key, get) => [...new Set(state.runs.map(get).filter((v) => v !== null && v !== undefined && v !== ''))].sort();
    const select = (key, label, values) =>
      h(
        'label',
        {},
        `${label} `,
        h(
          'select',
          {
            name: key,
            onchange: (e) => {
              state.filters[key] = e.target.value;
              saveUrl();
              renderBody();
            },
          },
          h('option', { value: '' }, 'all'),
          [...new Set([...values, state.filters[key]].filter(Boolean))].map((v) => h('option', { value: v, selected: v === state.filters[key] }, key === 'data' ? dataName(v) : v)),
        ),
      );
    filterBar.replaceChildren(
      select(
        'model',
        'model',
        opts('model', (r) => r.model),
      ),
      select(
        'data',
        'data',
        opts('data', (r) => r.data),
      ),
      select('status', 'status', ['running', 'finished', 'failed', 'interrupted']),
      select('kind', 'kind', ['train', 'eval', 'benchmark']),
      count,
      compareBtn,
    );
  }

  function renderHead() {
    const desc = state.sort.startsWith('-');
    const key = state.sort.replace(/^-/, '');
    thead.replaceChildren(
      h(
        'tr',
        {},
        h('th', { class: 'sel' }, ''),
        COLUMNS.map((c) =>
          h(
            'th',
            {
              class: `sortable${c.num ? ' num' : ''}${c.key === key ? ` sorted ${desc ? 'desc' : 'asc'}` : ''}`,
              'data-key': c.key,
              title: `sort by ${c.label}`,
              'aria-sort': c.key === key ? (desc ? 'descending' : 'ascending') : 'none',
              onclick: () => {
                // the same column: reverse; another: numbers largest first, text A to Z
                if (c.key === key) state.sort = desc ? c.key : `-${c.key}`;
                else state.sort = c.num ? `-${c.key}` : c.key;
                saveUrl();
                renderHead();
                renderBody();
              },
            },
            c.label,
            h('span', { class: 'arrow' }, c.key === key ? (desc ? ' ▼' : ' ▲') : ''),
          ),
        ),
      ),
    );
  }

  function renderBody() {
    const children = new Map();
    for (const r of state.runs) if (r.parentId !== null && r.parentId !== undefined) (children.get(r.parentId) ?? children.set(r.parentId, []).get(r.parentId)).push(r);
    const f = state.filters;
    const rows = state.runs.filter(
      (r) => (!f.model || r.model === f.model) && (!f.data || r.data === f.data) && (!f.status || r.status === f.status) && (!f.kind || r.kind === f.kind),
    );
    const desc = state.sort.startsWith('-');
    const col = COLUMNS.find((c) => c.key === state.sort.replace(/^-/, '')) ?? COLUMNS[0];
    rows.sort((a, b) => {
      const va = col.get(a, children);
      const vb = col.get(b, children);
      const missing = (v) => v === null || v === undefined || (typeof v === 'number' && !Number.isFinite(v));
      if (missing(va) || missing(vb)) return compareValues(va, vb);
      return (desc ? -1 : 1) * compareValues(va, vb) || b.id - a.id;
    });
    count.textContent = `${rows.length} of ${state.runs.length} run${state.runs.length === 1 ? '' : 's'}`;
    compareBtn.disabled = state.selected.size < 2;
    compareBtn.textContent = state.selected.size ? `Compare selected (${state.selected.size})` : 'Compare selected';
    if (rows.length === 0) {
      tbody.replaceChildren(
        h(
          'tr',
          {},
          h(
            'td',
            { colspan: COLUMNS.length + 1, class: 'empty' },
            state.runs.length === 0 ? 'No runs yet. Train one (anogen train …) and it appears here.' : 'No run matches these filters.',
          ),
        ),
      );
      return;
    }
    tbody.replaceChildren(
      ...rows.map((r) => {
        const link = (text) => h('a', { href: `#/runs/${r.id}` }, text);
        const mcell = (key) => {
          const m = metric(r, children, key);
          return h('td', { class: `num${m.from ? ' derived' : ''}`, title: m.from ? `from evaluation run #${m.from}` : null }, m.v === null ? '—' : fmt(m.v, 4));
        };
        const loss = finalLoss(r);
        return h(
          'tr',
          { 'data-id': r.id, class: state.selected.has(r.id) ? 'selected' : null },
          h(
            'td',
            { class: 'sel' },
            h('input', {
              type: 'checkbox',
              'aria-label': `select run ${r.id}`,
              checked: state.selected.has(r.id),
              onchange: (e) => {
                if (e.target.checked) state.selected.add(r.id);
                else state.selected.delete(r.id);
                renderBody();
              },
            }),
          ),
          h('td', { class: 'num' }, link(`#${r.id}`)),
          h('td', {}, r.kind, r.parentId ? h('span', { class: 'muted' }, ` ← #${r.parentId}`) : null),
          h('td', {}, link(r.model ?? '—')),
          h('td', { title: r.data ?? '' }, dataName(r.data)),
          h('td', {}, badge(r.status)),
          h('td', { class: 'nowrap' }, when(r.startedAt)),
          h('td', { class: 'num' }, duration(runSeconds(r))),
          mcell('auroc'),
          mcell('auprc'),
          mcell('f1'),
          h('td', { class: 'num', title: loss.name ? `loss ${loss.name}` : null }, loss.v === null ? '—' : fmt(loss.v, 4)),
        );
      }),
    );
  }

  async function load() {
    const { runs } = await getJson(`/api/runs?limit=${LIMIT}`);
    state.runs = runs;
    for (const id of [...state.selected]) if (!runs.some((r) => r.id === id)) state.selected.delete(id);
  }

  await load();
  ctx.root.replaceChildren(
    h(
      'div',
      { class: 'pagehead' },
      h('h1', {}, 'Runs'),
      h('p', { class: 'muted' }, 'Every train, eval and benchmark run recorded in this anogen home. Click a header to sort; tick two or more runs to compare them.'),
    ),
    filterBar,
    errorSlot,
    h('section', { class: 'tablecard' }, h('table', { class: 'runs' }, thead, tbody)),
  );
  renderFilters();
  renderHead();
  renderBody();

  // every 3 s while a run is running, else every 15 s (new runs appear)
  let ticks = 0;
  const timer = setInterval(async () => {
    ticks++;
    if (!state.runs.some((r) => r.status === 'running') && ticks % 5 !== 0) return;
    try {
      await load();
      errorSlot.replaceChildren();
      renderFilters();
      renderBody();
    } catch (e) {
      errorSlot.replaceChildren(errorBox(e, 'refreshing the runs'));
    }
  }, 3000);
  ctx.setLeave(() => clearInterval(timer));
}
