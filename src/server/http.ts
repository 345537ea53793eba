/**
 * Small HTTP helpers of `anogen serve` on node:http: JSON answers, errors as
 * `{ "error": "..." }`, request bodies read under a byte limit, content types by extension.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

/** An error answered to the client as `{ error: message }` with an HTTP status (4xx: the client's mistake). */
export class HttpError extends Error {
  /** The HTTP status (400, 401, 403, 404, 405, 413, 415, 422, 500...). */
  readonly status: number;
  /** Extra response headers (e.g. Allow for 405, WWW-Authenticate for 401). */
  readonly headers: Record<string, string>;
  constructor(status: number, message: string, headers: Record<string, string> = {}) {
    super(message);
    this.name = 'HttpError';
    this.status = status;
    this.headers = headers;
  }
}

/** Headers sent with every answer. */
export const COMMON_HEADERS: Record<string, string> = { 'X-Content-Type-Options': 'nosniff' };

/** Sends `body` as JSON with `status` (default 200) and no caching. */
export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  if (res.headersSent) {
    res.end();
    return;
  }
  res.writeHead(status, {
    ...COMMON_HEADERS,
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': String(Buffer.byteLength(text)),
    'Cache-Control': 'no-store',
    ...headers,
  });
  res.end(text);
}

/** Sends `{ error }` with the error's status; anything that is not an HttpError is a 500 naming the message. */
export function sendError(res: ServerResponse, e: unknown): void {
  if (e instanceof HttpError) sendJson(res, e.status, { error: e.message }, e.headers);
  else sendJson(res, 500, { error: `internal error: ${String((e as Error)?.message ?? e).split('\n')[0]}` });
}

/** Content types of the files the server sends, by lower-case extension. */
export const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.htm': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.bmp': 'image/bmp',
  '.tif': 'image/tiff',
  '.tiff': 'image/tiff',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
  '.md': 'text/markdown; charset=utf-8',
  '.csv': 'text/csv; charset=utf-8',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.safetensors': 'application/octet-stream',
};

/** The content type of a file name (default application/octet-stream). */
export function contentTypeOf(file: string): string {
  const m = /\.[^./\\]+$/.exec(file.toLowerCase());
  return (m && CONTENT_TYPES[m[0]]) ?? 'application/octet-stream';
}

const tooLarge = (n: string, limit: number, what: string) =>
  new HttpError(413, `request body ${n} is over the upload limit of ${formatBytes(limit)} = ${limit} bytes (${what}); send fewer or smaller images`);

/** Throws a 413 when the request's Content-Length is over `limit` bytes (400 when it is not a number); `what` names the limit's option. */
export function checkContentLength(req: IncomingMessage, limit: number, what: string): void {
  const declared = req.headers['content-length'];
  if (declared === undefined) return;
  const n = Number(declared);
  if (!/^\d+$/.test(declared) || !Number.isSafeInteger(n)) throw new HttpError(400, `Content-Length ${JSON.stringify(declared)} is not a byte count`);
  if (n > limit) throw tooLarge(`of ${n} bytes`, limit, what);
}

/**
 * Reads a request body whole, refusing it with a 413 as soon as it is known to exceed
 * `limit` bytes: from Content-Length before reading anything, else while the bytes arrive
 * (never more than `limit` bytes are kept). With `Expect: 100-continue` the 100 is sent only
 * once the declared length fits. `what` names the limit's option in the message.
 */
export function readBody(req: IncomingMessage, res: ServerResponse, limit: number, what: string): Promise<Buffer> {
  try {
    checkContentLength(req, limit, what);
  } catch (e) {
    return Promise.reject(e);
  }
  if (String(req.headers.expect ?? '').toLowerCase() === '100-continue' && !res.headersSent) res.writeContinue();
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (e: Error | null) => {
      if (done) return;
      done = true;
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('aborted', onAborted);
      if (e) reject(e);
      else resolve(Buffer.concat(chunks, size));
    };
    const onData = (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        chunks.length = 0;
        finish(tooLarge(`(more than ${formatBytes(limit)} received)`, limit, what));
        return;
      }
      chunks.push(c);
    };
    const onEnd = () => finish(null);
    const onError = (e: Error) => finish(new HttpError(400, `cannot read the request body: ${e.message}`));
    const onAborted = () => finish(new HttpError(400, 'the client aborted the request body'));
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('aborted', onAborted);
  });
}

/** `1.5 MiB`, `20 MiB`, `512 B`. */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${+(n / 1024).toFixed(1)} KiB`;
  return `${+(n / 1024 / 1024).toFixed(1)} MiB`;
}

/**
 * After an answer sent before the request body was read (e.g. a 413), lets the client read it:
 * the rest of the body is drained (and thrown away) for at most `ms` (default 5000), then the
 * connection is closed. Sending the answer and closing at once would reset the connection
 * while the client is still writing, and many clients (fetch) then report a broken pipe
 * instead of the 413.
 */
export function drainThenClose(req: IncomingMessage, ms = 5000): void {
  if (req.complete) return;
  req.resume();
  const t = setTimeout(() => req.socket.destroy(), ms);
  t.unref();
  req.once('end', () => clearTimeout(t));
  req.socket.once('close', () => clearTimeout(t));
}
