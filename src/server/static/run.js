// #/runs/:id: one run. Header (model, data, protocol, status, times, versions, options), the
// loss curves (live from /api/runs/:id/events while the run is running, from /metrics
// otherwise), the evaluation (ROC, PR, score histogram with Φ, t-SNE, the most anomalous and
// the missed test images beside their reconstructions and maps) and the artifacts.
import { getJson, getToken, loadImage, stream, ApiError } from './api.js';
import { h, fmt, esc, badge, when, duration, runSeconds, protocolText, countsText, flatOptions, shortName, summaryOrder, errorBox } from './dom.js';
import { lineChart, rocChart, prChart, histogramChart, scatterChart, PALETTE } from './plot.js';

/** Step values that are not losses (throughput, timing, learning rate): left out of the loss chart. */
const NOT_LOSS = /^(lr|learning[-_ ]?rate|ips|images?PerSecond|images?_per_second|stepMs|step_ms|etaSeconds|eta|seconds|ms)$/i;

/** Longest series drawn as is; longer ones are averaged into about MAX_POINTS / 2 buckets. */
const MAX_POINTS = 1200;

/** Loss series of step metrics: one per value name, x = the global step index. */
export function lossSeries(steps) {
  const names = [];
  for (const s of steps) for (const k of Object.keys(s.values ?? {})) if (!NOT_LOSS.test(k) && !names.includes(k)) names.push(k);
  return names.map((name, k) => {
    let x = [];
    let y = [];
    for (const s of steps) {
      const v = s.values[name];
      if (typeof v === 'number') {
        x.push(s.index ?? x.length);
        y.push(v);
      }
    }
    if (y.length > MAX_POINTS) {
      const b = Math.ceil(y.length / (MAX_POINTS / 2));
      const xx = [];
      const yy = [];
      for (let i = 0; i < y.length; i += b) {
        const seg = y.slice(i, i + b).filter(Number.isFinite);
        yy.push(seg.length ? seg.reduce((a, c) => a + c, 0) / seg.length : NaN);
        xx.push(x[Math.min(i + Math.floor(b / 2), x.length - 1)]);
      }
      x = xx;
      y = yy;
    }
    return { name, x, y, color: PALETTE[k % PALETTE.length] };
  });
}

/** Whether a log y axis suits these series (every value positive, spanning over 100×). */
export function wantsLog(series) {
  const ys = series.flatMap((s) => s.y).filter(Number.isFinite);
  return ys.length > 0 && ys.every((v) => v > 0) && Math.max(...ys) / Math.min(...ys) > 100;
}

function kv(rows) {
  return h(
    'dl',
    { class: 'kv' },
    rows.filter(([, v]) => v !== null && v !== undefined && v !== '').map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]),
  );
}

function optionsTable(options) {
  const entries = Object.entries(flatOptions(options));
  if (entries.length === 0) return h('p', { class: 'muted' }, 'no options recorded');
  return h(
    'table',
    { class: 'metrics options' },
    h(
      'tbody',
      {},
      entries.map(([k, v]) => h('tr', {}, h('td', {}, k), h('td', {}, typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v)))),
    ),
  );
}

/** Header section of a run. */
function header(run) {
  const seconds = runSeconds(run);
  return h(
    'section',
    { id: 'run-info' },
    h('h2', {}, 'Run'),
    kv([
      ['kind', run.kind],
      ['model', run.model ?? '—'],
      ['data', run.data ?? '—'],
      ['protocol', protocolText(run.protocol)],
      ['protocol splits', countsText(run.protocol)],
      ['status', badge(run.status)],
      ['started', when(run.startedAt)],
      ['finished', run.finishedAt ? when(run.finishedAt) : run.status === 'running' ? 'still running' : '—'],
      ['duration', h('span', { class: 'dur' }, duration(seconds))],
      ['last heartbeat', run.status === 'running' ? when(run.heartbeatAt) : null],
      ['seed', run.seed ?? '—'],
      ['bundle', run.bundle ? h('code', {}, run.bundle) : null],
      ['trained by', run.parentId ? h('a', { href: `#/runs/${run.parentId}` }, `run #${run.parentId}`) : null],
      ['host', `${run.host} (pid ${run.pid})`],
      ['versions', `anogen ${run.anogenVersion} · libtorch ${run.torchVersion} · Node ${run.nodeVersion}`],
    ]),
    run.error ? h('div', { class: 'error' }, h('b', {}, 'error: '), run.error) : null,
    h('details', { class: 'opts' }, h('summary', {}, `options (${Object.keys(run.options ?? {}).length})`), optionsTable(run.options)),
  );
}

function summaryTable(summary) {
  const entries = summaryOrder(Object.keys(summary ?? {})).map((k) => [k, summary[k]]);
  if (entries.length === 0) return null;
  return h(
    'section',
    { id: 'summary' },
    h('h2', {}, 'Summary'),
    h(
      'table',
      { class: 'metrics summary' },
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          entries.map(([k]) => h('th', {}, k)),
        ),
      ),
      h(
        'tbody',
        {},
        h(
          'tr',
          {},
          entries.map(([k, v]) => h('td', {}, k === 'seconds' ? duration(v) : fmt(v, 4))),
        ),
      ),
    ),
  );
}

/**
 * How to get a URL for one of this EvalData's image files: from the server's `filesUrl` (a
 * prefix to which the encoded file name is appended), else from the artifact whose folder
 * holds them (this run's or one of its evaluation runs' eval-data artifact); null when none.
 */
async function evalFiles(run, artifacts, ed) {
  if (typeof ed.filesUrl === 'string') return (name) => ed.filesUrl + encodeURIComponent(name);
  let aid = typeof ed.artifactId === 'number' ? ed.artifactId : null;
  if (aid === null) {
    const own = artifacts.filter((a) => a.kind === 'eval-data').sort((a, b) => b.id - a.id);
    if (own.length) aid = own[0].id;
  }
  if (aid === null) {
    const { runs } = await getJson(`/api/runs?kind=eval&limit=1000`);
    for (const c of runs.filter((r) => r.parentId === run.id).sort((a, b) => b.id - a.id)) {
      const d = await getJson(`/api/runs/${c.id}`);
      const a = d.artifacts.filter((x) => x.kind === 'eval-data').sort((x, y) => y.id - x.id);
      if (a.length) {
        aid = a[0].id;
        break;
      }
    }
  }
  return aid === null ? null : (name) => `/api/artifacts/${aid}/files?path=${encodeURIComponent(name)}`;
}

function tag(label) {
  return label === 1
    ? h('span', { class: 'tag anom', title: 'ground-truth label' }, 'truth: anomalous')
    : h('span', { class: 'tag norm', title: 'ground-truth label' }, 'truth: normal');
}

/** A grid of sample cards (x, x̂, map), images fetched from the artifact's folder. */
function sampleGrid(list, urlOf, phi) {
  return h(
    'div',
    { class: 'samplegrid' },
    list.map((s, i) => {
      const figs = [];
      const fig = (what, file, cls) => {
        const img = h('img', { alt: `${what} of ${s.name}`, class: cls, width: 96, height: 96 });
        if (urlOf) loadImage(img, urlOf(file));
        figs.push(h('figure', {}, img, h('figcaption', {}, what)));
      };
      if (s.image) fig('x', s.image, 'x');
      if (s.reconstruction) fig('x̂', s.reconstruction, 'xhat');
      if (s.map) fig('map', s.map, 'map');
      const flagged = Number.isFinite(phi) ? s.score > phi : null;
      return h(
        'div',
        { class: 'sample' },
        h(
          'div',
          { class: 'cap' },
          h('span', { class: 'score' }, `#${i + 1} · score `, h('b', {}, fmt(s.score, 4))),
          tag(s.label),
          flagged === null ? null : flagged ? h('span', { class: 'tag flag' }, 'flagged') : h('span', { class: 'tag noflag' }, 'not flagged'),
        ),
        h('div', { class: 'name', title: s.name }, shortName(s.name)),
        h('div', { class: 'imgs' }, figs),
      );
    }),
  );
}

function evalSections(ed, urlOf) {
  const m = ed.metrics ?? {};
  const out = [];
  const at = m.atThreshold;
  out.push(
    h(
      'section',
      { id: 'evaluation' },
      h('h2', {}, 'Evaluation'),
      h(
        'table',
        { class: 'metrics' },
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            ['detector', 'test images', 'anomalous', 'AUROC', 'AUPRC', 'FPR@95%TPR', 'best F1', 'Φ', 'F1@Φ', 'precision@Φ', 'recall@Φ'].map((t) => h('th', {}, t)),
          ),
        ),
        h(
          'tbody',
          {},
          h(
            'tr',
            { class: 'model' },
            [
              ed.detector,
              m.n ?? '—',
              m.nAnomalous ?? '—',
              fmt(m.auroc, 4),
              fmt(m.auprc, 4),
              fmt(m.fpr95, 3),
              fmt(m.bestF1?.f1, 3),
              fmt(ed.threshold, 4),
              at ? fmt(at.f1, 3) : '—',
              at ? fmt(at.precision, 3) : '—',
              at ? fmt(at.recall, 3) : '—',
            ].map((t) => h('td', {}, t)),
          ),
        ),
      ),
      h('div', {
        class: 'charts',
        html:
          (ed.histogram ? histogramChart(ed.histogram, ed.threshold) : '') +
          (ed.roc ? rocChart(ed.roc, `${ed.detector} (AUROC ${fmt(m.auroc, 3)})`) : '') +
          (ed.pr ? prChart(ed.pr, `${ed.detector} (AP ${fmt(m.auprc, 3)})`, m.n ? m.nAnomalous / m.n : NaN) : ''),
      }),
      h('p', {
        class: 'note',
        html: `Histograms are densities per class of the normalised scores; the dashed line is Φ = ${esc(fmt(ed.threshold, 4))} (flag when score &gt; Φ). Grey dashed lines: chance.`,
      }),
    ),
  );
  if (ed.tsne && ed.tsne.points?.length) {
    out.push(
      h(
        'section',
        { id: 'tsne' },
        h('h2', {}, ed.tsne.title || 't-SNE'),
        h('div', { class: 'charts', html: scatterChart(ed.tsne.points) }),
        h('p', { class: 'note' }, 't-SNE axes have no units; only the grouping means something.'),
      ),
    );
  }
  if (ed.top?.length) {
    out.push(
      h(
        'section',
        { id: 'top' },
        h('h2', {}, 'Most anomalous test images'),
        sampleGrid(ed.top, urlOf, ed.threshold),
        h('p', { class: 'note' }, 'x: input; x̂: reconstruction; map: the anomaly map (hot = anomalous). Highest score first.'),
      ),
    );
  }
  if (ed.missed?.length) {
    out.push(h('section', { id: 'missed' }, h('h2', {}, 'Missed anomalies (anomalous images with the lowest scores)'), sampleGrid(ed.missed, urlOf, ed.threshold)));
  }
  return out;
}

function artifactsSection(artifacts, evaluations) {
  const items = artifacts.map((a) => {
    const name = a.path.split(/[\\/]/).pop();
    // a link cannot send the Authorization header: the token goes in the URL (the server accepts ?token=)
    const t = getToken();
    const q = (first) => (t ? `${first ? '?' : '&'}token=${encodeURIComponent(t)}` : '');
    const link =
      a.kind === 'bundle'
        ? h('a', { href: `/api/artifacts/${a.id}?path=config.json${q(false)}`, target: '_blank', rel: 'noopener' }, 'config.json')
        : h('a', { href: `/api/artifacts/${a.id}${q(true)}`, target: '_blank', rel: 'noopener' }, name);
    return h('li', {}, h('span', { class: 'tag kind' }, a.kind), ' ', link, ' ', h('code', { class: 'muted' }, a.path));
  });
  return h(
    'section',
    { id: 'artifacts' },
    h('h2', {}, 'Artifacts'),
    items.length ? h('ul', { class: 'artifacts' }, items) : h('p', { class: 'muted' }, 'no artifacts recorded'),
    evaluations.length ? h('p', { class: 'note' }, `${evaluations.length} evaluation${evaluations.length === 1 ? '' : 's'} recorded for this run.`) : null,
  );
}

/** Renders the run page into ctx.root. */
export async function runPage(id, ctx) {
  let detail;
  let metrics;
  try {
    [detail, metrics] = await Promise.all([getJson(`/api/runs/${id}`), getJson(`/api/runs/${id}/metrics`)]);
  } catch (e) {
    throw e instanceof ApiError && e.status === 404 ? new ApiError(404, `${e.message}`) : e;
  }
  let run = detail.run;
  const steps = [...metrics.steps];
  let epochs = metrics.epochs;
  const head = h('div', { class: 'pagehead' });
  const info = h('div');
  const lossBox = h('div', { class: 'charts' });
  const lossNote = h('p', { class: 'note' });
  const live = h('span', { class: 'live', hidden: true }, '● live');
  const evalSlot = h('div');
  const childrenSlot = h('div');

  function renderHead() {
    head.replaceChildren(
      h('p', { class: 'crumbs' }, h('a', { href: '#/runs' }, '← runs')),
      h('h1', {}, `Run #${run.id} · ${run.model ?? run.kind}`, ' ', badge(run.status), ' ', live),
    );
    info.replaceChildren(header(run), summaryTable(run.summary) ?? '');
  }

  let drawTimer = null;
  function renderLosses() {
    drawTimer = null;
    const series = lossSeries(steps);
    if (series.length === 0) {
      lossBox.replaceChildren(
        h(
          'p',
          { class: 'muted' },
          run.status === 'running' ? 'waiting for the first training step…' : run.kind === 'train' ? 'no step metrics recorded' : 'no training steps in this run',
        ),
      );
      lossNote.textContent = '';
      return;
    }
    const logY = wantsLog(series);
    const epochSeries = [];
    for (const k of new Set(epochs.flatMap((e) => Object.keys(e.values ?? {})))) {
      if (NOT_LOSS.test(k)) continue;
      epochSeries.push({ name: k, x: epochs.map((e) => e.epoch), y: epochs.map((e) => e.values[k] ?? NaN), color: series.find((s) => s.name === k)?.color });
    }
    lossBox.innerHTML =
      lineChart(series, {
        title: 'Training losses per step',
        xLabel: 'step',
        yLabel: logY ? 'loss (log scale)' : 'loss',
        logY,
        integerX: true,
        width: 680,
        height: 320,
        legend: 'outside',
        cls: 'loss',
      }) +
      (epochSeries.length && epochs.length > 1
        ? lineChart(epochSeries, {
            title: 'Per epoch (colours as at left)',
            xLabel: 'epoch',
            yLabel: logY ? 'loss (log scale)' : 'loss',
            logY,
            integerX: true,
            width: 360,
            height: 320,
            legend: 'none',
            cls: 'epochs',
          })
        : '');
    const last = steps[steps.length - 1];
    lossNote.textContent = `${steps.length} step${steps.length === 1 ? '' : 's'} recorded; last: epoch ${last.epoch}, step ${last.step}${last.t !== undefined ? `, ${duration(last.t / 1000)} after the start` : ''}.`;
  }
  function scheduleDraw() {
    drawTimer ??= setTimeout(renderLosses, 250);
  }
  function addSteps(list) {
    const lastIndex = steps.length ? steps[steps.length - 1].index : -1;
    for (const s of list) if (s.index === undefined || s.index > lastIndex) steps.push(s);
    scheduleDraw();
  }

  async function renderEval() {
    let ed;
    try {
      ed = await getJson(`/api/runs/${id}/eval-data`);
    } catch (e) {
      if (e instanceof ApiError && e.status === 404) {
        evalSlot.replaceChildren(
          h(
            'section',
            { id: 'evaluation' },
            h('h2', {}, 'Evaluation'),
            h(
              'p',
              { class: 'muted' },
              run.kind === 'train' && typeof run.options?.generator === 'string'
                ? `A generator run: no anomaly score to evaluate; anogen sample ${run.bundle ?? '<bundle>'} draws a grid of its samples.`
                : run.kind === 'train'
                  ? `Not evaluated yet: anogen eval ${run.bundle ?? '<bundle>'} records an evaluation with its curves and images.`
                  : 'No evaluation data for this run.',
            ),
          ),
        );
        return;
      }
      evalSlot.replaceChildren(errorBox(e, 'loading the evaluation'));
      return;
    }
    let urlOf = null;
    let problem = null;
    try {
      urlOf = await evalFiles(run, detail.artifacts, ed);
    } catch (e) {
      problem = errorBox(e, 'finding the evaluation images');
    }
    evalSlot.replaceChildren(...evalSections(ed, urlOf), ...(problem ? [problem] : []));
  }

  async function renderChildren() {
    if (run.kind !== 'train') return;
    try {
      const { runs } = await getJson('/api/runs?kind=eval&limit=1000');
      const kids = runs.filter((r) => r.parentId === run.id);
      if (kids.length === 0) return;
      childrenSlot.replaceChildren(
        h(
          'section',
          { id: 'evaluations' },
          h('h2', {}, 'Evaluation runs of this bundle'),
          h(
            'ul',
            { class: 'artifacts' },
            kids.map((k) =>
              h(
                'li',
                {},
                h('a', { href: `#/runs/${k.id}` }, `run #${k.id}`),
                ' ',
                badge(k.status),
                ` ${when(k.startedAt)}`,
                typeof k.summary?.auroc === 'number' ? ` · AUROC ${fmt(k.summary.auroc, 4)}` : '',
              ),
            ),
          ),
        ),
      );
    } catch {
      /* optional */
    }
  }

  renderHead();
  ctx.root.replaceChildren(
    head,
    info,
    ...(run.kind === 'train' || steps.length ? [h('section', { id: 'losses' }, h('h2', {}, 'Training'), lossBox, lossNote)] : []),
    evalSlot,
    childrenSlot,
    artifactsSection(detail.artifacts, detail.evaluations ?? []),
  );
  renderLosses();
  renderEval();
  renderChildren();

  // live: follow the run's events while it runs
  let stop = null;
  let retry = null;
  let left = false;
  function follow() {
    live.hidden = false;
    const since = steps.length ? steps[steps.length - 1].index : 0;
    stop = stream(
      `/api/runs/${id}/events?since=${since}`,
      (ev, data) => {
        if (ev === 'metrics' && Array.isArray(data.epochs)) epochs = data.epochs;
        if (ev === 'metrics' && Array.isArray(data.steps)) addSteps(data.steps);
        else if (ev === 'status' && data && data.id === id) {
          run = data;
          renderHead();
        }
      },
      async () => {
        if (left) return;
        try {
          const [d, m] = await Promise.all([getJson(`/api/runs/${id}`), getJson(`/api/runs/${id}/metrics?since=${steps.length ? steps[steps.length - 1].index : 0}`)]);
          run = d.run;
          addSteps(m.steps);
          epochs = m.epochs;
          renderHead();
          renderLosses();
          if (run.status === 'running') retry = setTimeout(follow, 1000);
          else live.hidden = true;
          if (run.status !== 'running') renderHead();
        } catch {
          retry = setTimeout(follow, 2000);
        }
      },
      () => {
        if (!left) retry = setTimeout(follow, 2000);
      },
    );
    renderHead();
  }
  if (run.status === 'running') follow();
  // a running run's duration counts up
  const ticker = setInterval(() => {
    if (run.status !== 'running') return;
    const el = info.querySelector('.dur');
    if (el) el.textContent = duration(runSeconds(run));
  }, 1000);
  ctx.setLeave(() => {
    clearInterval(ticker);
    left = true;
    if (stop) stop();
    clearTimeout(retry);
    clearTimeout(drawTimer);
  });
}
