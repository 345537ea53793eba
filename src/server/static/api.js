// The dashboard's client of anogen serve's JSON API: JSON and multipart requests with the
// bearer token (asked for once when /api answers 401, kept in localStorage), readable errors,
// images behind the token, and the live metrics stream (EventSource without a token; a
// fetch-read event stream with one, since EventSource cannot send headers).
/* global fetch, localStorage, EventSource, TextDecoderStream, AbortController */

const TOKEN_KEY = 'anogen.token';

/** An API answer that is not 2xx: `status` and the server's `{ error }` message. */
export class ApiError extends Error {
  constructor(status, message, path) {
    super(message);
    this.status = status;
    this.path = path;
  }
}

/** The stored token, or null. */
export function getToken() {
  try {
    return localStorage.getItem(TOKEN_KEY);
  } catch {
    return null;
  }
}

/** Stores the token (null forgets it). */
export function setToken(t) {
  if (t) localStorage.setItem(TOKEN_KEY, t);
  else localStorage.removeItem(TOKEN_KEY);
}

/** The function that asks the user for a token (set by the app; resolves to the token or null when cancelled). */
let askToken = async () => null;
/** Sets how the token is asked for: `fn(rejected: boolean) => Promise<string | null>`. */
export function onTokenNeeded(fn) {
  askToken = fn;
}
let pendingAsk = null;

/** One question at a time, however many requests answered 401 together. */
async function ask(rejected) {
  pendingAsk ??= askToken(rejected).finally(() => {
    pendingAsk = null;
  });
  return pendingAsk;
}

function headers(extra = {}) {
  const t = getToken();
  return t ? { ...extra, Authorization: `Bearer ${t}` } : extra;
}

/** The error message of a failed answer: the server's `{ error }`, else the status line and text. */
async function errorOf(res, path) {
  let msg = `${res.status} ${res.statusText}`.trim();
  try {
    const text = await res.text();
    try {
      const j = JSON.parse(text);
      if (j && typeof j.error === 'string') msg = j.error;
      else if (text) msg = `${msg}: ${text.slice(0, 300)}`;
    } catch {
      if (text) msg = `${msg}: ${text.slice(0, 300)}`;
    }
  } catch {
    /* no body */
  }
  return new ApiError(res.status, msg, path);
}

/**
 * fetch() of an API path with the token; on 401 asks for a token once (again when the stored
 * one is refused) and retries. Throws ApiError for non-2xx answers and for network failures
 * (status 0). Returns the Response.
 */
export async function request(path, init = {}) {
  for (let attempt = 0; ; attempt++) {
    let res;
    try {
      res = await fetch(path, { ...init, headers: headers(init.headers) });
    } catch (e) {
      throw new ApiError(0, `cannot reach the anogen server (${e.message}); is \`anogen serve\` still running?`, path);
    }
    // 401: no token given; 403 naming the token: the stored one is wrong
    const refused = res.status === 401 || (res.status === 403 && getToken() !== null && (await res.clone().text()).includes('token'));
    if (refused && attempt < 3) {
      const had = getToken();
      const t = await ask(Boolean(had));
      if (!t) throw await errorOf(res, path);
      setToken(t);
      continue;
    }
    if (!res.ok) throw await errorOf(res, path);
    return res;
  }
}

/** GET (or another method with `init`) of a JSON answer. */
export async function getJson(path, init) {
  const res = await request(path, init);
  return res.json();
}

/** POSTs FormData (multipart), answers the JSON. */
export async function postForm(path, form) {
  const res = await request(path, { method: 'POST', body: form });
  return res.json();
}

/**
 * Sets an <img>'s source to an API URL: directly without a token, else fetched with the
 * token into a blob URL. Failures show the image's alt text and a title with the error.
 */
export async function loadImage(img, url) {
  if (!getToken()) {
    img.src = url;
    return;
  }
  try {
    const blob = await (await request(url)).blob();
    img.src = URL.createObjectURL(blob);
  } catch (e) {
    img.title = e.message;
  }
}

/**
 * Follows a server-sent event stream: `on(event, data)` per `metrics` or `status` message
 * (data parsed as JSON). Returns a function that stops it. `onEnd()` is called when the
 * server ends the stream (`event: end`, or the connection closes); `onError(e)` when a
 * fetch-read stream cannot start.
 */
export function stream(path, on, onEnd = () => {}, onError = () => {}) {
  if (!getToken() && typeof EventSource === 'function') {
    const es = new EventSource(path);
    let open = true;
    const finish = () => {
      // the server ends the stream when the run ends: no reconnecting
      if (!open) return;
      open = false;
      es.close();
      onEnd();
    };
    for (const ev of ['metrics', 'status']) es.addEventListener(ev, (m) => on(ev, JSON.parse(m.data)));
    es.addEventListener('end', finish);
    es.addEventListener('error', finish);
    return () => {
      open = false;
      es.close();
    };
  }
  const ctrl = new AbortController();
  (async () => {
    const res = await request(path, { signal: ctrl.signal, headers: { Accept: 'text/event-stream' } });
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    let buf = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += value;
      let i;
      while ((i = buf.search(/\r?\n\r?\n/)) >= 0) {
        const block = buf.slice(0, i);
        buf = buf.slice(i).replace(/^\r?\n\r?\n/, '');
        let ev = 'message';
        const data = [];
        for (const line of block.split(/\r?\n/)) {
          if (line.startsWith('event:')) ev = line.slice(6).trim();
          else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
        }
        if (data.length && ev !== 'end') on(ev, JSON.parse(data.join('\n')));
      }
    }
    onEnd();
  })().catch((e) => {
    if (e.name !== 'AbortError') onError(e);
  });
  return () => ctrl.abort();
}
