/**
 * Sending files from disk: a path asked for in a URL is resolved inside a base folder (never
 * outside it, symlinks included) and streamed with its content type.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { COMMON_HEADERS, contentTypeOf, HttpError } from './http.js';

/** True when `p` is `base` or inside it (both absolute and normalised). */
export function isInside(base: string, p: string): boolean {
  const rel = path.relative(base, p);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel));
}

/**
 * Resolves a relative path given by a client (`?path=`) inside `base`: 400 when missing or
 * holding a NUL, 403 `outside` when it is absolute or leaves `base` (`..`, or a symlink
 * pointing out), 404 when there is no such file, 400 when it is a folder. Returns the real path.
 */
export function resolveInside(base: string, rel: string | null, outside: string, what: string): string {
  if (rel === null || rel === '') throw new HttpError(400, `?path= is required: a file inside ${what}`);
  if (rel.includes('\0')) throw new HttpError(400, `path ${JSON.stringify(rel)} holds a NUL character`);
  const root = path.resolve(base);
  const p = path.resolve(root, rel);
  if (path.isAbsolute(rel) || !isInside(root, p)) throw new HttpError(403, `${outside}: ${JSON.stringify(rel)} resolves outside ${what}; give a path relative to it`);
  let real: string;
  try {
    real = fs.realpathSync(p);
  } catch {
    throw new HttpError(404, `no file ${JSON.stringify(rel)} in ${what}`);
  }
  let realRoot = root;
  try {
    realRoot = fs.realpathSync(root);
  } catch {
    /* the base is gone: the file check below answers 404 */
  }
  if (!isInside(realRoot, real)) throw new HttpError(403, `${outside}: ${JSON.stringify(rel)} is a link that leads outside ${what}`);
  const st = fs.statSync(real);
  if (st.isDirectory()) throw new HttpError(400, `${JSON.stringify(rel)} is a folder in ${what}; ask for a file inside it`);
  if (!st.isFile()) throw new HttpError(403, `${JSON.stringify(rel)} in ${what} is not a regular file`);
  return real;
}

/** Streams a regular file with its content type (HEAD: headers only). */
export function sendFile(req: IncomingMessage, res: ServerResponse, file: string, headers: Record<string, string> = {}): Promise<void> {
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch {
    throw new HttpError(404, `file ${path.basename(file)} is gone`);
  }
  if (!st.isFile()) throw new HttpError(400, `${path.basename(file)} is not a regular file`);
  res.writeHead(200, { ...COMMON_HEADERS, 'Content-Type': contentTypeOf(file), 'Content-Length': String(st.size), ...headers });
  if (req.method === 'HEAD') {
    res.end();
    return Promise.resolve();
  }
  return new Promise((resolve) => {
    const s = fs.createReadStream(file);
    s.on('error', () => {
      res.destroy();
      resolve();
    });
    s.on('end', () => resolve());
    s.pipe(res);
  });
}
