/**
 * `anogen serve`: one node:http server with the JSON API over the run registry (./api.ts),
 * scoring in child processes (./pool.ts), live run events (./events.ts) and the dashboard's
 * static files (./static.ts). Routes, examples and the error format: src/server/README.md.
 *
 * A token is required when bound to a non-loopback address; with one, every /api request
 * except /api/health needs `Authorization: Bearer <token>` (or `?token=<token>`, for
 * EventSource and <img> URLs, which cannot send headers). Static files are open.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import crypto from 'node:crypto';
import net from 'node:net';
import { AnogenError } from '../core/errors.js';
import { Registry } from '../runs/registry.js';
import { drainThenClose, HttpError, sendError } from './http.js';
import { ScoringPool } from './pool.js';
import { staticRoot, serveStatic } from './static.js';
import * as api from './api.js';

/** Options of {@link startServer}. */
export interface ServeOptions {
  /** Address to bind (default '127.0.0.1'); anything but loopback needs `token`. */
  host?: string;
  /** TCP port (default 8080; 0 picks a free one, see {@link AnogenServer.port}). */
  port?: number;
  /** Registry home (default: ANOGEN_HOME, else ~/.anogen; see resolveHome). */
  home?: string;
  /** Bearer token required on /api (default none; required off loopback). */
  token?: string | null;
  /** Upload limit of POST /api/score in MiB (default 20). */
  maxUploadMb?: number;
  /** Bundles each scoring process keeps loaded (LRU; default 4). */
  bundleCache?: number;
  /** Scoring processes (default 1). */
  workers?: number;
  /** libtorch threads per scoring process (default 1; see PoolOptions.threads). */
  threads?: number;
  /** How often event streams poll the registry, ms (default 500). */
  pollMs?: number;
  /** The dashboard folder (default: src/server/static, see staticRoot). */
  staticDir?: string;
  /** Where the server's own messages go (default: process.stderr). */
  log?: (line: string) => void;
  /** Start the scoring processes at once (default true) rather than at the first score request. */
  warmup?: boolean;
}

/** A running server. */
export interface AnogenServer {
  /** `http://HOST:PORT/` (IPv6 hosts in brackets). */
  url: string;
  host: string;
  /** The bound port (the real one when 0 was asked). */
  port: number;
  registry: Registry;
  pool: ScoringPool;
  /** Event streams open now. */
  readonly openStreams: number;
  /** Stops accepting, ends event streams, stops the scoring processes, closes the registry. */
  close(): Promise<void>;
}

/** A listen failure (port in use, address not available...): the CLI prints `message` and exits 2. */
export class ListenError extends Error {
  readonly code: string;
  constructor(message: string, code: string) {
    super(message);
    this.name = 'ListenError';
    this.code = code;
  }
}

/** True for loopback addresses and names (127.0.0.0/8, ::1, localhost). */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h === '::1' || h === '0:0:0:0:0:0:0:1') return true;
  if (net.isIPv4(h)) return h.startsWith('127.');
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(h);
  return mapped !== null && mapped[1]!.startsWith('127.');
}

/** Checks the options (AnogenError naming the option and what is valid); startServer calls it first. */
export function checkServeOptions(o: ServeOptions): void {
  const host = o.host ?? '127.0.0.1';
  if (host.trim() === '') throw new AnogenError('--host: empty; expected an address such as 127.0.0.1, ::1 or 0.0.0.0');
  if (o.port !== undefined && (!Number.isInteger(o.port) || o.port < 0 || o.port > 65535)) throw new AnogenError(`--port ${o.port}: expected an integer from 0 to 65535`);
  if (o.token !== undefined && o.token !== null && o.token.length < 8) throw new AnogenError('--token: too short; use at least 8 characters (e.g. from openssl rand -hex 16)');
  if (!isLoopback(host) && !o.token) {
    throw new AnogenError(
      `--host ${host} is not a loopback address: give --token T (or set ANOGEN_TOKEN) so that every /api request must carry Authorization: Bearer T, or bind to 127.0.0.1`,
    );
  }
  if (o.maxUploadMb !== undefined && !(o.maxUploadMb > 0)) throw new AnogenError(`--max-upload-mb ${o.maxUploadMb}: expected a number > 0`);
  if (o.workers !== undefined && !(Number.isInteger(o.workers) && o.workers >= 1)) throw new AnogenError(`--workers ${o.workers}: expected an integer >= 1`);
  if (o.bundleCache !== undefined && !(Number.isInteger(o.bundleCache) && o.bundleCache >= 1)) throw new AnogenError(`--bundle-cache ${o.bundleCache}: expected an integer >= 1`);
}

/** Constant-time comparison of a presented token with the server's. */
function tokenMatches(given: string, token: string): boolean {
  const a = crypto.createHash('sha256').update(given).digest();
  const b = crypto.createHash('sha256').update(token).digest();
  return crypto.timingSafeEqual(a, b);
}

/** 401 without a token, 403 with a wrong one. */
function checkToken(req: IncomingMessage, q: URLSearchParams, token: string): void {
  const auth = req.headers.authorization;
  const m = auth === undefined ? null : /^Bearer\s+(\S+)\s*$/i.exec(auth);
  const given = m ? m[1]! : q.get('token');
  if (given === null || given === undefined) {
    throw new HttpError(401, 'this server requires a token: send Authorization: Bearer <token> (the --token or ANOGEN_TOKEN given to anogen serve), or ?token=<token>', {
      'WWW-Authenticate': 'Bearer realm="anogen"',
    });
  }
  if (!tokenMatches(given, token)) throw new HttpError(403, 'wrong token: it does not match the --token given to anogen serve');
}

/** A route: method(s), a path pattern, a handler. */
interface Route {
  methods: string[];
  pattern: RegExp;
  handle: (m: RegExpExecArray, req: IncomingMessage, res: ServerResponse, q: URLSearchParams) => void | Promise<void>;
}

function routes(ctx: api.ApiContext): Route[] {
  const id = (m: RegExpExecArray, i = 1, what = 'run id') => {
    let s = m[i]!;
    try {
      s = decodeURIComponent(s);
    } catch {
      /* parseId names the raw segment */
    }
    return api.parseId(s, what);
  };
  return [
    { methods: ['GET'], pattern: /^\/api\/health$/, handle: (_m, _req, res) => api.health(res) },
    { methods: ['GET'], pattern: /^\/api\/runs$/, handle: (_m, _req, res, q) => api.listRuns(ctx, res, q) },
    { methods: ['GET'], pattern: /^\/api\/runs\/([^/]+)$/, handle: (m, _req, res) => api.getRun(ctx, res, id(m)) },
    { methods: ['GET'], pattern: /^\/api\/runs\/([^/]+)\/metrics$/, handle: (m, _req, res, q) => api.metrics(ctx, res, id(m), q) },
    { methods: ['GET'], pattern: /^\/api\/runs\/([^/]+)\/events$/, handle: (m, req, res, q) => api.events(ctx, req, res, id(m), q) },
    { methods: ['GET'], pattern: /^\/api\/runs\/([^/]+)\/eval-data$/, handle: (m, _req, res) => api.evalData(ctx, res, id(m)) },
    {
      methods: ['GET', 'HEAD'],
      pattern: /^\/api\/runs\/([^/]+)\/evaluations\/([^/]+)\/files$/,
      handle: (m, req, res, q) => api.evaluationFile(ctx, req, res, id(m), id(m, 2, 'evaluation id'), q),
    },
    { methods: ['GET', 'HEAD'], pattern: /^\/api\/artifacts\/([^/]+)$/, handle: (m, req, res, q) => api.artifactFile(ctx, req, res, id(m, 1, 'artifact id'), q) },
    { methods: ['GET', 'HEAD'], pattern: /^\/api\/artifacts\/([^/]+)\/files$/, handle: (m, req, res, q) => api.artifactInner(ctx, req, res, id(m, 1, 'artifact id'), q) },
    { methods: ['GET'], pattern: /^\/api\/bundles$/, handle: (_m, _req, res) => api.bundles(ctx, res) },
    { methods: ['POST'], pattern: /^\/api\/score$/, handle: (_m, req, res, q) => api.score(ctx, req, res, q) },
  ];
}

/** Starts the server (see the module comment); ListenError when the port cannot be bound, AnogenError for bad options. */
export async function startServer(opts: ServeOptions = {}): Promise<AnogenServer> {
  checkServeOptions(opts);
  const host = opts.host ?? '127.0.0.1';
  const port = opts.port ?? 8080;
  const token = opts.token ? opts.token : null;
  const log = opts.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const root = opts.staticDir ?? staticRoot();
  const registry = Registry.open(opts.home);
  const streams = new Set<() => void>();
  // The pool is created once the port is bound (a port in use starts no scoring process).
  let pool: ScoringPool | null = null;
  const ctx: api.ApiContext = {
    registry,
    get pool(): ScoringPool {
      if (pool === null) throw new HttpError(500, 'the scoring processes are not started');
      return pool;
    },
    maxUploadBytes: Math.floor((opts.maxUploadMb ?? 20) * 1024 * 1024),
    pollMs: opts.pollMs ?? 500,
    streams,
  };
  const table = routes(ctx);

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://localhost');
    } catch {
      throw new HttpError(400, `request target ${JSON.stringify(req.url)} is not a valid URL`);
    }
    const pathname = url.pathname.length > 1 ? url.pathname.replace(/\/+$/, '') : url.pathname;
    const method = req.method ?? 'GET';
    if (pathname === '/api' || pathname.startsWith('/api/')) {
      if (token !== null && pathname !== '/api/health') checkToken(req, url.searchParams, token);
      const matches = table.map((r) => ({ r, m: r.pattern.exec(pathname) })).filter((x) => x.m !== null);
      if (matches.length === 0) {
        throw new HttpError(
          404,
          `unknown route ${method} ${pathname}; the API: /api/health, /api/runs, /api/runs/:id[/metrics|/events|/eval-data], /api/artifacts/:id[/files], /api/bundles, POST /api/score`,
        );
      }
      const hit = matches.find((x) => x.r.methods.includes(method));
      if (hit === undefined) {
        const allowed = [...new Set(matches.flatMap((x) => x.r.methods))];
        throw new HttpError(405, `method ${method} is not allowed on ${pathname}; allowed: ${allowed.join(', ')}`, { Allow: allowed.join(', ') });
      }
      await hit.r.handle(hit.m!, req, res, url.searchParams);
      return;
    }
    if (method !== 'GET' && method !== 'HEAD') throw new HttpError(405, `method ${method} is not allowed on ${pathname}; the dashboard's files take GET`, { Allow: 'GET, HEAD' });
    await serveStatic(req, res, url.pathname, root);
  };

  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    handle(req, res).catch((e: unknown) => {
      if (!(e instanceof HttpError)) log(`anogen serve: ${req.method} ${req.url}: ${(e as Error)?.stack ?? String(e)}`);
      if (res.headersSent) {
        res.destroy();
        return;
      }
      // An answer sent before the body was read: the rest of the body is read and thrown away
      // (closing at once would make many clients, fetch among them, report a broken pipe
      // instead of this answer), for a few seconds at most.
      if (!req.complete) drainThenClose(req);
      sendError(res, e);
    });
  };
  const server = http.createServer({ requestTimeout: 300_000, headersTimeout: 60_000 }, onRequest);
  // Expect: 100-continue: answered like any request; readBody sends the 100 only when the declared size fits.
  server.on('checkContinue', onRequest);
  server.on('clientError', (err, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n{"error":"malformed HTTP request"}');
    else socket.destroy();
  });

  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (e) {
    registry.close();
    const code = (e as NodeJS.ErrnoException).code ?? 'ERROR';
    if (code === 'EADDRINUSE') throw new ListenError(`anogen serve: port ${port} on ${host} is in use (EADDRINUSE); choose another with --port`, code);
    if (code === 'EACCES') throw new ListenError(`anogen serve: no permission to bind port ${port} on ${host} (EACCES); choose a port above 1023 with --port`, code);
    if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND' || code === 'EAI_AGAIN')
      throw new ListenError(`anogen serve: cannot bind ${host} (${code}): not an address of this machine; choose another with --host`, code);
    throw new ListenError(`anogen serve: cannot listen on ${host}:${port} (${code}: ${(e as Error).message})`, code);
  }
  pool = new ScoringPool({ workers: opts.workers ?? 1, bundleCache: opts.bundleCache ?? 4, threads: opts.threads, log, warmup: opts.warmup });
  const addr = server.address() as net.AddressInfo;
  const shownHost = net.isIPv6(host) ? `[${host}]` : host;
  let closing: Promise<void> | null = null;
  return {
    url: `http://${shownHost}:${addr.port}/`,
    host,
    port: addr.port,
    registry,
    pool,
    get openStreams(): number {
      return streams.size;
    },
    close(): Promise<void> {
      closing ??= (async () => {
        const stopped = new Promise<void>((r) => server.close(() => r()));
        for (const end of [...streams]) end();
        server.closeIdleConnections();
        await pool!.close();
        server.closeAllConnections();
        await stopped;
        registry.close();
      })();
      return closing;
    },
  };
}
