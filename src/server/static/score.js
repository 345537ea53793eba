// #/score: choose a bundle, upload images (file chooser with several files, or drag and drop),
// and see each image with its anomaly map over it (opacity slider), its raw and normalised
// score and its label; a threshold slider, starting at the bundle's Φ, re-labels the images
// live and says how many would be flagged. Each file is its own POST /api/score request
// (three at a time), so one unreadable file is reported on its own card.
/* global FormData, history */
import { getJson, postForm } from './api.js';
import { h, fmt, shortName, errorBox } from './dom.js';

/** Requests in flight at once. */
const CONCURRENCY = 3;

/** Renders the score page into ctx.root. */
export async function scorePage(ctx) {
  const { bundles } = await getJson('/api/bundles');
  const wanted = ctx.query.get('bundle');
  const state = {
    bundle: bundles.find((b) => b.path === wanted || String(b.runId) === wanted) ?? bundles[0] ?? null,
    items: [], // { file, url, result?, error?, pending }
    threshold: NaN,
    phi: NaN,
    opacity: 0.6,
    generation: 0,
  };
  if (state.bundle) state.phi = state.threshold = state.bundle.threshold;

  const head = h(
    'div',
    { class: 'pagehead' },
    h('h1', {}, 'Score images'),
    h('p', { class: 'muted' }, 'Upload images (PNG, JPEG, BMP, TIFF) to score them with a trained bundle. Nothing leaves this server.'),
  );
  if (bundles.length === 0) {
    ctx.root.replaceChildren(head, h('section', {}, h('p', {}, 'No bundle is registered yet. Train one (anogen train …) and it appears here.')));
    return;
  }

  const bundleSelect = h(
    'select',
    {
      name: 'bundle',
      id: 'bundle',
      onchange: (e) => {
        state.bundle = bundles[Number(e.target.value)];
        state.phi = state.threshold = state.bundle.threshold;
        history.replaceState(null, '', `#/score?bundle=${encodeURIComponent(state.bundle.path)}`);
        renderBundleInfo();
        rescoreAll();
      },
    },
    bundles.map((b, i) =>
      h(
        'option',
        { value: i, selected: b === state.bundle },
        `${b.model ?? 'bundle'} · run #${b.runId} · ${b.path.split(/[\\/]/).slice(-2).join('/')}${b.exists === false ? ' (gone from disk)' : ''}`,
      ),
    ),
  );
  const bundleInfo = h('p', { class: 'note' });
  const fileInput = h('input', {
    type: 'file',
    name: 'file',
    id: 'file',
    multiple: true,
    accept: 'image/png,image/jpeg,image/bmp,image/tiff,image/*',
    onchange: (e) => {
      addFiles([...e.target.files]);
      e.target.value = '';
    },
  });
  const drop = h(
    'label',
    { class: 'dropzone', for: 'file' },
    h('b', {}, 'Choose images'),
    ' or drop them here',
    h('span', { class: 'muted' }, ' (several at once are fine)'),
    fileInput,
  );
  for (const ev of ['dragenter', 'dragover']) {
    drop.addEventListener(ev, (e) => {
      e.preventDefault();
      drop.classList.add('over');
    });
  }
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    addFiles([...(e.dataTransfer?.files ?? [])]);
  });

  const thr = h('input', {
    type: 'range',
    id: 'threshold',
    name: 'threshold',
    'aria-label': 'threshold',
    oninput: (e) => {
      state.threshold = Number(e.target.value);
      relabel();
    },
  });
  const thrValue = h('output', { for: 'threshold', class: 'num' });
  const resetBtn = h(
    'button',
    {
      type: 'button',
      onclick: () => {
        state.threshold = state.phi;
        relabel();
      },
    },
    'back to Φ',
  );
  const opacity = h('input', {
    type: 'range',
    id: 'opacity',
    name: 'opacity',
    min: 0,
    max: 1,
    step: 0.05,
    value: state.opacity,
    'aria-label': 'map opacity',
    oninput: (e) => {
      state.opacity = Number(e.target.value);
      ctx.root.style.setProperty('--map-opacity', String(state.opacity));
      opacityValue.textContent = `${Math.round(state.opacity * 100)} %`;
    },
  });
  const opacityValue = h('output', { for: 'opacity', class: 'num' }, `${Math.round(state.opacity * 100)} %`);
  const clearBtn = h(
    'button',
    {
      type: 'button',
      onclick: () => {
        for (const it of state.items) URL.revokeObjectURL(it.url);
        state.items = [];
        state.generation++;
        render();
      },
    },
    'Clear',
  );
  const summary = h('p', { class: 'flagsummary', id: 'flagsummary' });
  const mapNote = h(
    'p',
    { class: 'note' },
    'Each image is shown with its anomaly map over it (hot = anomalous; the map is stretched over the whole image). An image is flagged when its normalised score is above the threshold.',
  );
  const grid = h('div', { class: 'scoregrid', id: 'results' });

  function renderBundleInfo() {
    bundleInfo.textContent = `Bundle ${state.bundle.path} · Φ = ${fmt(state.phi, 4)} on the normalised scale (flag when score > Φ).`;
  }

  /** Slider range: covers 0..1, Φ and every normalised score, with a margin. */
  function sliderRange() {
    const vals = [0, 1, state.phi, ...state.items.filter((i) => i.result).map((i) => i.result.normalized)].filter(Number.isFinite);
    let lo = Math.min(...vals);
    let hi = Math.max(...vals);
    const m = (hi - lo) * 0.05 || 0.05;
    lo -= m;
    hi += m;
    return [lo, hi];
  }

  function relabel() {
    const [lo, hi] = sliderRange();
    thr.min = String(lo);
    thr.max = String(hi);
    thr.step = String((hi - lo) / 1000);
    if (Number.isFinite(state.threshold)) thr.value = String(state.threshold);
    thrValue.textContent = `${fmt(state.threshold, 4)}${state.threshold === state.phi ? ' (Φ)' : ''}`;
    resetBtn.disabled = state.threshold === state.phi;
    const scored = state.items.filter((i) => i.result);
    let flagged = 0;
    for (const it of scored) {
      const f = it.result.normalized > state.threshold;
      if (f) flagged++;
      it.card?.classList.toggle('flagged', f);
      if (it.labelEl) {
        it.labelEl.className = `tag ${f ? 'flag' : 'noflag'}`;
        it.labelEl.textContent = f ? 'anomalous' : 'normal';
      }
    }
    const pending = state.items.filter((i) => !i.result && !i.error).length;
    summary.replaceChildren(
      scored.length === 0 && pending === 0
        ? 'No image scored yet.'
        : h(
            'span',
            {},
            h('b', {}, `${flagged} of ${scored.length}`),
            ` image${scored.length === 1 ? '' : 's'} would be flagged at threshold ${fmt(state.threshold, 4)}`,
            pending ? ` (${pending} still scoring…)` : '',
          ),
    );
  }

  function card(it) {
    const base = h('img', {
      class: 'base',
      alt: `no preview of ${it.file.name}`,
      src: it.url,
      onerror: (e) => e.target.parentNode?.classList.add('nopreview'),
    });
    const r = it.result;
    const map = r?.map ? h('img', { class: 'map', alt: `anomaly map of ${it.file.name}`, src: r.map }) : null;
    it.labelEl = r ? h('span', { class: 'tag' }) : null;
    let foot;
    if (it.error) foot = errorBox(it.error, 'scoring');
    else if (!r) foot = h('p', { class: 'muted' }, 'scoring…');
    else
      foot = [
        h(
          'div',
          { class: 'scores' },
          h('span', {}, 'score ', h('b', { class: 'raw', title: 'raw score of the detector' }, fmt(r.score, 4))),
          h('span', {}, 'normalised ', h('b', { class: 'normalized', title: 'on the scale of Φ' }, fmt(r.normalized, 4))),
        ),
        r.map ? null : h('p', { class: 'note' }, 'this detector gives no anomaly map'),
      ];
    it.card = h(
      'div',
      { class: 'scorecard' },
      h('div', { class: 'cardhead' }, h('span', { class: 'name', title: it.file.name }, shortName(it.file.name, 30)), it.labelEl),
      h('div', { class: 'stack' }, base, map),
      foot,
    );

    return it.card;
  }

  function render() {
    grid.replaceChildren(...state.items.map(card));
    relabel();
  }

  async function scoreOne(it, gen) {
    const form = new FormData();
    form.append('file', it.file, it.file.name);
    try {
      const ans = await postForm(`/api/score?bundle=${encodeURIComponent(state.bundle.path)}&maps=1`, form);
      if (gen !== state.generation) return;
      it.result = ans.results[0];
      if (Number.isFinite(it.result?.threshold) && !Number.isFinite(state.phi)) state.phi = state.threshold = it.result.threshold;
    } catch (e) {
      if (gen !== state.generation) return;
      it.error = e;
    }
    const old = it.card;
    const fresh = card(it);
    if (old && old.parentNode === grid) grid.replaceChild(fresh, old);
    relabel();
  }

  async function scoreAll(list) {
    const gen = state.generation;
    const queue = [...list];
    await Promise.all(
      Array.from({ length: Math.min(CONCURRENCY, queue.length) }, async () => {
        while (queue.length && gen === state.generation) await scoreOne(queue.shift(), gen);
      }),
    );
  }

  function addFiles(files) {
    if (files.length === 0) return;
    const added = files.map((file) => ({ file, url: URL.createObjectURL(file), result: null, error: null }));
    state.items.push(...added);
    render();
    scoreAll(added);
  }

  function rescoreAll() {
    state.generation++;
    for (const it of state.items) {
      it.result = null;
      it.error = null;
    }
    render();
    scoreAll(state.items);
  }

  ctx.root.style.setProperty('--map-opacity', String(state.opacity));
  ctx.root.replaceChildren(
    head,
    h('section', { id: 'choose' }, h('div', { class: 'row' }, h('label', { for: 'bundle' }, 'Bundle '), bundleSelect), bundleInfo, drop),
    h(
      'section',
      { id: 'scored' },
      h(
        'div',
        { class: 'controls' },
        h('label', { for: 'threshold' }, 'threshold'),
        thr,
        thrValue,
        resetBtn,
        h('label', { for: 'opacity' }, 'map opacity'),
        opacity,
        opacityValue,
        clearBtn,
      ),
      summary,
      grid,
      mapNote,
    ),
  );
  renderBundleInfo();
  render();
  ctx.setLeave(() => {
    state.generation++;
    for (const it of state.items) URL.revokeObjectURL(it.url);
    ctx.root.style.removeProperty('--map-opacity');
  });
}
