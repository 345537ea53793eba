// #/compare?ids=1,2,3: two or more runs side by side: their settings and headline metrics
// in one table (the best value of each metric in bold), and their loss curves overlaid (one
// chart per loss name, one colour per run).
/* global location */
import { getJson } from './api.js';
import { h, fmt, badge, when, duration, runSeconds, dataName, protocolText, flatOptions, summaryOrder } from './dom.js';
import { lineChart, PALETTE } from './plot.js';
import { lossSeries, wantsLog } from './run.js';

/** Metrics where lower is better (for the bold "best" cell). */
const LOWER_IS_BETTER = /^(fpr95|loss\..*|seconds)$/;
/** Summary values that are settings, not quality: never bold. */
const NEUTRAL = /^(threshold|n|nAnomalous)$/;

/** Renders the compare page into ctx.root. */
export async function comparePage(ctx) {
  const raw = ctx.query.get('ids') ?? '';
  const ids = [
    ...new Set(
      raw
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    ),
  ];
  const head = h('div', { class: 'pagehead' }, h('p', { class: 'crumbs' }, h('a', { href: '#/runs' }, '← runs')), h('h1', {}, 'Compare runs'));
  const bad = ids.filter((s) => !/^\d+$/.test(s));
  if (bad.length) throw new Error(`ids: "${bad[0]}" is not a run id; expected whole numbers separated by commas, as in #/compare?ids=1,2`);
  if (ids.length < 2) {
    ctx.root.replaceChildren(
      head,
      h(
        'section',
        {},
        h(
          'p',
          {},
          'Choose two or more runs: tick them in the ',
          h('a', { href: '#/runs' }, 'runs table'),
          ' and press “Compare selected”, or give their ids: ',
          h('code', {}, '#/compare?ids=1,2'),
          '.',
        ),
        h(
          'form',
          {
            class: 'row',
            onsubmit: (e) => {
              e.preventDefault();
              location.hash = `#/compare?ids=${encodeURIComponent(e.target.ids.value.replace(/\s+/g, ''))}`;
            },
          },
          h('input', { name: 'ids', placeholder: '1,2,3', value: raw, 'aria-label': 'run ids' }),
          h('button', { type: 'submit', class: 'primary' }, 'Compare'),
        ),
      ),
    );
    return;
  }
  const data = await Promise.all(
    ids.map(async (id) => {
      const [d, m] = await Promise.all([getJson(`/api/runs/${id}`), getJson(`/api/runs/${id}/metrics`)]);
      // a train run's headline metrics come from its newest evaluation when it has none itself
      let summary = { ...d.run.summary };
      if (summary.auroc === undefined && d.run.kind === 'train') {
        try {
          const { runs } = await getJson('/api/runs?kind=eval&limit=1000');
          const kid = runs.filter((r) => r.parentId === d.run.id && typeof r.summary?.auroc === 'number').sort((a, b) => b.id - a.id)[0];
          if (kid) summary = { ...kid.summary, ...summary };
        } catch {
          /* optional */
        }
      }
      return { run: d.run, steps: m.steps, summary };
    }),
  );
  const colors = data.map((_, k) => PALETTE[k % PALETTE.length]);

  // settings rows, then one row per metric in any run's summary
  const keys = summaryOrder(new Set(data.flatMap((d) => Object.keys(d.summary))));
  for (const d of data) d.opts = flatOptions(d.run.options);
  const optKeys = [...new Set(data.flatMap((d) => Object.keys(d.opts)))].sort();
  const differing = optKeys.filter((k) => new Set(data.map((d) => JSON.stringify(d.opts[k]))).size > 1);
  const row = (label, cells, cls) => h('tr', { class: cls }, h('th', { scope: 'row' }, label), cells);
  const rows = [
    row(
      'kind',
      data.map((d) => h('td', {}, d.run.kind)),
    ),
    row(
      'model',
      data.map((d) => h('td', {}, d.run.model ?? '—')),
    ),
    row(
      'data',
      data.map((d) => h('td', { title: d.run.data ?? '' }, dataName(d.run.data))),
    ),
    row(
      'protocol',
      data.map((d) => h('td', {}, protocolText(d.run.protocol))),
    ),
    row(
      'status',
      data.map((d) => h('td', {}, badge(d.run.status))),
    ),
    row(
      'started',
      data.map((d) => h('td', {}, when(d.run.startedAt))),
    ),
    row(
      'duration',
      data.map((d) => h('td', {}, duration(runSeconds(d.run)))),
    ),
    row(
      'seed',
      data.map((d) => h('td', {}, d.run.seed ?? '—')),
    ),
    ...differing.map((k) =>
      row(
        k,
        data.map((d) => h('td', {}, d.opts[k] === undefined ? '—' : typeof d.opts[k] === 'object' ? JSON.stringify(d.opts[k]) : String(d.opts[k]))),
        'opt',
      ),
    ),
    ...keys.map((k) => {
      const vals = data.map((d) => d.summary[k]);
      const finite = vals.filter((v) => typeof v === 'number' && Number.isFinite(v));
      const best = finite.length > 1 && !NEUTRAL.test(k) ? (LOWER_IS_BETTER.test(k) ? Math.min(...finite) : Math.max(...finite)) : NaN;
      return row(
        k,
        vals.map((v) => h('td', { class: `num${v === best ? ' best' : ''}` }, typeof v === 'number' ? (k === 'seconds' ? duration(v) : fmt(v, 4)) : '—')),
        'metric',
      );
    }),
  ];
  const table = h(
    'table',
    { class: 'metrics compare' },
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        h('th', {}, ''),
        data.map((d, k) => h('th', {}, h('span', { class: 'swatch', style: { background: colors[k] } }), h('a', { href: `#/runs/${d.run.id}` }, `run #${d.run.id}`))),
      ),
    ),
    h('tbody', {}, rows),
  );

  // one chart per loss name, every run overlaid
  const perRun = data.map((d) => lossSeries(d.steps));
  const names = [...new Set(perRun.flatMap((ss) => ss.map((s) => s.name)))];
  const charts = names.map((name) => {
    const series = [];
    perRun.forEach((ss, k) => {
      const s = ss.find((q) => q.name === name);
      if (s) series.push({ ...s, name: `run #${data[k].run.id}`, color: colors[k] });
    });
    const logY = wantsLog(series);
    return lineChart(series, {
      title: `loss ${name}`,
      xLabel: 'step',
      yLabel: logY ? 'loss (log scale)' : 'loss',
      logY,
      integerX: true,
      width: 360,
      height: 300,
      legend: 'auto',
      cls: 'loss',
    });
  });

  ctx.root.replaceChildren(
    head,
    h(
      'section',
      { id: 'compare-metrics' },
      h('h2', {}, 'Settings and metrics'),
      h('div', { class: 'scrollx' }, table),
      h(
        'p',
        { class: 'note' },
        `Bold: the best value of each metric. Options shown are those that differ between the runs${differing.length ? '' : ' (none differ)'}. A train run's AUROC/AUPRC/F1 come from its newest evaluation run.`,
      ),
    ),
    h(
      'section',
      { id: 'compare-losses' },
      h('h2', {}, 'Loss curves'),
      charts.length ? h('div', { class: 'charts', html: charts.join('') }) : h('p', { class: 'muted' }, 'none of these runs recorded training steps'),
    ),
  );
}
