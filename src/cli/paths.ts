/** Output paths checked before any work starts, so a bad path fails at once (exit 2), not after training. */
import fs from 'node:fs';
import path from 'node:path';
import { AnogenError } from '../core/index.js';
import { NAMED_IDX_DATASETS } from '../data/idx-dataset.js';

/**
 * Checks that `p` can be written as a `kind` ('file' or 'folder'): an existing path must be of
 * that kind, and its nearest existing ancestor must be a writable folder (not a file).
 * `flag` names the option in the message (e.g. '--out').
 */
export function checkOutputPath(p: string, flag: string, kind: 'file' | 'folder'): void {
  const abs = path.resolve(p);
  if (fs.existsSync(abs)) {
    const isDir = fs.statSync(abs).isDirectory();
    if (kind === 'folder' && !isDir) throw new AnogenError(`${flag} ${p}: exists and is a file; expected a folder (or a path that does not exist yet)`);
    if (kind === 'file' && isDir) throw new AnogenError(`${flag} ${p}: is a folder; expected a file path`);
  }
  let up = path.dirname(abs);
  while (!fs.existsSync(up)) up = path.dirname(up);
  if (!fs.statSync(up).isDirectory()) throw new AnogenError(`${flag} ${p}: ${up} is a file, so ${p} cannot be created under it`);
  try {
    fs.accessSync(up, fs.constants.W_OK);
  } catch {
    throw new AnogenError(`${flag} ${p}: the folder ${up} is not writable`);
  }
}

/**
 * A data value (`--data`, `--data-b`, `--val-dir`) as a run's request stores it: the named
 * datasets ('mnist', 'fashion-mnist') as they are, any other path made absolute, so that
 * `--resume` (and the registry's record of the run) find the data from any working folder.
 */
export function storedDataPath(v: string): string {
  return (NAMED_IDX_DATASETS as readonly string[]).includes(v) ? v : path.resolve(v);
}
