/**
 * Runs the `anogen` CLI in this process (faster than spawning), capturing its results through
 * src/cli/io.ts (not by replacing process.stdout.write, which would also swallow the test
 * runner's own reports) and its messages on stderr.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { cliOutput } from '../../src/cli/io.js';

// The CLI records runs in the registry: never the real ~/.anogen. scripts/run-tests.mjs gives
// every test file a private ANOGEN_HOME; a test file run some other way gets one here.
if (process.env.ANOGEN_HOME === undefined) {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'anogen-home-'));
  process.env.ANOGEN_HOME = home;
  process.on('exit', () => fs.rmSync(home, { recursive: true, force: true }));
}

/** A GANomaly small enough to train in a second: 16 px, latent 8, widths 8. */
export const TINY_GANOMALY = ['--image-size', '16', '--nz', '8', '--ngf', '8', '--ndf', '8'];

/** Runs the CLI in this process; see the module comment. */
export async function runCli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  return runCliIn(null, ...args);
}

/** {@link runCli} with the working directory set to `cwd` for the call (null: unchanged). */
export async function runCliIn(cwd: string | null, ...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const { main } = await import('../../src/cli/main.js');
  const before = process.cwd();
  if (cwd !== null) process.chdir(cwd);
  let out = '';
  let err = '';
  const o = cliOutput.write;
  const e = process.stderr.write.bind(process.stderr);
  cliOutput.write = (c: string) => void (out += c);
  process.stderr.write = ((c: string) => ((err += c), true)) as typeof process.stderr.write;
  try {
    return { code: await main(args), out, err };
  } finally {
    cliOutput.write = o;
    process.stderr.write = e;
    process.chdir(before);
  }
}
