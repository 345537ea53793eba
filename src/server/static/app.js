// The anogen dashboard: a hash router over four pages (#/runs, #/runs/:id, #/score,
// #/compare?ids=1,2), the token dialog, and the server line in the header. Plain ES modules
// served as they are by `anogen serve` (no build step, nothing fetched from the network).
/* global location, history, URLSearchParams */
import { getJson, onTokenNeeded, setToken } from './api.js';
import { h, errorBox } from './dom.js';
import { runsPage } from './runs.js';
import { runPage } from './run.js';
import { scorePage } from './score.js';
import { comparePage } from './compare.js';

const view = document.getElementById('view');
/** Cleanup of the page shown (stops live streams and timers when leaving it). */
let leave = null;

/** Parses the hash: `#/runs/3?x=1` → { parts: ['runs', '3'], query: URLSearchParams }. */
export function route() {
  const hash = location.hash.replace(/^#\/?/, '');
  const [path, q = ''] = hash.split('?');
  return { parts: path.split('/').filter(Boolean).map(decodeURIComponent), query: new URLSearchParams(q) };
}

async function show() {
  if (leave) {
    try {
      leave();
    } catch {
      /* ignore */
    }
    leave = null;
  }
  const { parts, query } = route();
  const name = parts[0] ?? 'runs';
  for (const a of document.querySelectorAll('nav a')) a.classList.toggle('active', a.dataset.route === name);
  view.replaceChildren(h('p', { class: 'muted' }, 'Loading…'));
  const ctx = { query, root: view, setLeave: (fn) => (leave = fn) };
  try {
    if (name === 'runs' && parts[1] !== undefined) {
      if (!/^\d+$/.test(parts[1])) throw new Error(`"${parts[1]}" is not a run id; expected a whole number, as in #/runs/3`);
      await runPage(Number(parts[1]), ctx);
    } else if (name === 'runs') await runsPage(ctx);
    else if (name === 'score') await scorePage(ctx);
    else if (name === 'compare') await comparePage(ctx);
    else throw new Error(`no page "#/${parts.join('/')}"; the pages are #/runs, #/runs/<id>, #/score and #/compare?ids=1,2`);
  } catch (e) {
    view.replaceChildren(errorBox(e), h('p', {}, h('a', { href: '#/runs' }, '← back to the runs')));
  }
}

/** The token dialog: resolves to the token typed, or null when cancelled. */
function tokenDialog(rejected) {
  return new Promise((resolve) => {
    const input = h('input', { type: 'password', name: 'token', autocomplete: 'off', placeholder: 'token', 'aria-label': 'API token' });
    const close = (v) => {
      back.remove();
      resolve(v);
    };
    const form = h(
      'form',
      {
        class: 'dialog',
        onsubmit: (e) => {
          e.preventDefault();
          close(input.value.trim() || null);
        },
      },
      h('h2', {}, 'API token'),
      h(
        'p',
        {},
        rejected
          ? 'The server refused the stored token. Enter the token given to anogen serve (--token or ANOGEN_TOKEN).'
          : 'This server needs a token. Enter the token given to anogen serve (--token or ANOGEN_TOKEN); it is kept in this browser.',
      ),
      input,
      h('div', { class: 'buttons' }, h('button', { type: 'button', onclick: () => close(null) }, 'Cancel'), h('button', { type: 'submit', class: 'primary' }, 'Use token')),
    );
    const back = h('div', { class: 'backdrop' }, form);
    document.body.append(back);
    input.focus();
  });
}

onTokenNeeded(async (rejected) => {
  if (rejected) setToken(null);
  return tokenDialog(rejected);
});

window.addEventListener('hashchange', show);
if (!location.hash) history.replaceState(null, '', '#/runs');
show();
getJson('/api/health')
  .then((j) => (document.getElementById('server').textContent = `anogen ${j.version ?? ''} · ${location.host}`))
  .catch(() => (document.getElementById('server').textContent = location.host));
