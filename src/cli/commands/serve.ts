/**
 * `anogen serve`: the command-line front of src/server's startServer. Prints
 * `anogen serve: http://HOST:PORT/` once listening (the real port with --port 0), serves until
 * SIGINT or SIGTERM, then stops cleanly (exit 0). A port in use or an address that cannot be
 * bound: one line on stderr, exit 2.
 */
import { AnogenError } from '../../core/index.js';
import { checkServeOptions, startServer, ListenError, type ServeOptions } from '../../server/server.js';
import { parseArgs, type OptionSpec } from '../args.js';
import { stdout } from '../io.js';

/** The options of `anogen serve` (each doc line names its default). */
export const SERVE_SPECS: OptionSpec[] = [
  { name: 'host', type: 'string', doc: 'address to bind (default 127.0.0.1); any other than loopback needs --token' },
  { name: 'port', type: 'int', min: 0, max: 65535, doc: 'TCP port (default 8080; 0 picks a free port and prints it)' },
  { name: 'home', type: 'string', doc: 'run registry folder (default: $ANOGEN_HOME, else ~/.anogen)' },
  { name: 'token', type: 'string', doc: 'require Authorization: Bearer <token> on /api (default: $ANOGEN_TOKEN, else none; required off loopback)' },
  { name: 'max-upload-mb', type: 'number', min: 0.001, max: 65536, doc: 'largest POST /api/score body in MiB (default 20)' },
  { name: 'bundle-cache', type: 'int', min: 1, max: 1024, doc: 'bundles each scoring process keeps loaded, least recently used evicted (default 4)' },
  { name: 'workers', type: 'int', min: 1, max: 64, doc: 'scoring processes (default 1)' },
  { name: 'threads', type: 'int', min: 1, max: 1024, doc: 'libtorch threads per scoring process (default 1: add --workers for many clients, threads for big models)' },
];

/** `anogen serve --help`. */
export const SERVE_HELP = `anogen serve [options]

The run registry's JSON API, image scoring (POST /api/score) and the web dashboard on one
HTTP server. Routes: src/server/README.md. Stops on Ctrl-C.

`;

/**
 * The server options of an `anogen serve` command line (the token from --token, else
 * ANOGEN_TOKEN), checked as startServer checks them; AnogenError naming a bad option.
 */
export function parseServe(argv: string[]): ServeOptions {
  const { positionals, opts } = parseArgs(argv, SERVE_SPECS, 'serve');
  if (positionals.length > 0) throw new AnogenError(`anogen serve: unexpected argument ${JSON.stringify(positionals[0])}; it takes options only (anogen help serve)`);
  const o: ServeOptions = {
    host: opts.host as string | undefined,
    port: opts.port as number | undefined,
    home: opts.home as string | undefined,
    token: typeof opts.token === 'string' ? opts.token : process.env.ANOGEN_TOKEN || null,
    maxUploadMb: opts.maxUploadMb as number | undefined,
    bundleCache: opts.bundleCache as number | undefined,
    workers: opts.workers as number | undefined,
    threads: opts.threads as number | undefined,
  };
  checkServeOptions(o);
  return o;
}

/** `anogen serve`. */
export async function serveCommand(argv: string[]): Promise<number> {
  const options = parseServe(argv);
  const token = options.token;
  let server;
  try {
    server = await startServer(options);
  } catch (e) {
    if (e instanceof ListenError) {
      process.stderr.write(`${e.message}\n`);
      return 2;
    }
    throw e;
  }
  stdout(`anogen serve: ${server.url}\n`);
  process.stderr.write(`anogen serve: registry ${server.registry.file}${token ? '; /api needs the token' : ''}; Ctrl-C stops\n`);
  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  await server.close();
  return 0;
}
