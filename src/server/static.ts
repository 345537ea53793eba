/**
 * The dashboard's static files (src/server/static/: plain HTML, CSS and ES modules, no build
 * step), served as they are with their content types. The folder is found next to this
 * module (`./static/` when running from src/ with tsx), else at `../../../src/server/static`
 * (running from dist/src/server/). Paths never leave the folder; `/` is index.html. Without
 * a dashboard (no index.html) `/` answers a short page listing the API.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { COMMON_HEADERS, HttpError } from './http.js';
import { isInside, sendFile } from './files.js';

/** The dashboard folder (see the module comment); the first candidate when none exists. */
export function staticRoot(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const candidates = [path.join(here, 'static'), path.resolve(here, '..', '..', '..', 'src', 'server', 'static')];
  return candidates.find((c) => fs.existsSync(path.join(c, 'index.html'))) ?? candidates.find((c) => fs.existsSync(c)) ?? candidates[0]!;
}

const FALLBACK = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>anogen serve</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 44em; margin: 2em auto">
<h1>anogen serve</h1>
<p>The dashboard files are not installed (no index.html in the static folder); the JSON API works:</p>
<ul>
<li><a href="/api/health">GET /api/health</a></li>
<li><a href="/api/runs">GET /api/runs</a>, /api/runs/:id, /api/runs/:id/metrics, /api/runs/:id/events, /api/runs/:id/eval-data</li>
<li><a href="/api/bundles">GET /api/bundles</a>, POST /api/score?bundle=...</li>
<li>GET /api/artifacts/:id, /api/artifacts/:id/files?path=...</li>
</ul>
</body></html>
`;

/** Answers a GET/HEAD for a static file under `root` (403 outside it, 404 when missing). */
export async function serveStatic(req: IncomingMessage, res: ServerResponse, pathname: string, root: string): Promise<void> {
  let rel: string;
  try {
    rel = decodeURIComponent(pathname);
  } catch {
    throw new HttpError(400, `URL path ${JSON.stringify(pathname)} is not valid percent-encoding`);
  }
  if (rel.includes('\0')) throw new HttpError(400, 'URL path holds a NUL character');
  if (rel === '/' || rel === '') rel = '/index.html';
  const base = path.resolve(root);
  const file = path.resolve(base, `.${rel}`);
  if (!isInside(base, file) || rel.split(/[\\/]/).includes('..')) throw new HttpError(403, `path ${JSON.stringify(rel)} is outside the dashboard's files`);
  let real: string | null = null;
  try {
    real = fs.realpathSync(file);
  } catch {
    real = null;
  }
  if (real !== null && fs.statSync(real).isDirectory()) {
    const index = path.join(real, 'index.html');
    real = fs.existsSync(index) ? index : null;
  }
  if (real === null) {
    if (rel === '/index.html') {
      res.writeHead(200, { ...COMMON_HEADERS, 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-cache' });
      res.end(req.method === 'HEAD' ? undefined : FALLBACK);
      return;
    }
    throw new HttpError(404, `no such file ${JSON.stringify(rel)} (unknown route; the API is under /api/)`);
  }
  let realBase = base;
  try {
    realBase = fs.realpathSync(base);
  } catch {
    /* checked against the given root */
  }
  if (!isInside(realBase, real)) throw new HttpError(403, `path ${JSON.stringify(rel)} is outside the dashboard's files`);
  await sendFile(req, res, real, { 'Cache-Control': 'no-cache' });
}
