/**
 * Atomic multi-file versions of a folder, used by model bundles (src/detectors/bundle.ts).
 *
 * A version is a set of named files in one folder (model.safetensors, config.json, extra
 * files...). Replacing one file is atomic with rename(2), but a version spans several files
 * and a folder that holds files cannot be replaced atomically by rename. So a commit is a
 * small redo log ("roll-forward journal"), the way databases commit several pages at once:
 *
 * 1. every file of the new version is written completely under a staged name
 *    `.anogen-stage.<pid>.<time>.<name>` and fsync'd; a crash here leaves the old version
 *    untouched (the staged files are litter, removed by the next writer once `<pid>` is gone);
 * 2. the journal `.anogen-commit.json`, naming each staged file and its final name (and the
 *    previous version's files to delete), is written atomically (temp file + rename). Its
 *    rename is THE commit point: from then on the folder's version is the new one;
 * 3. each staged file is renamed over its final name (the manifest, config.json, last),
 *    the previous version's files that the new one no longer names are deleted, and the
 *    journal is removed.
 *
 * Readers never write: while a journal exists, a file it names is read from its staged name
 * if that still exists (not renamed yet) and from its final name otherwise, which is the new
 * version at every instant of step 3. A writer killed during step 3 leaves the journal; the
 * next writer (holding the folder's lock, src/util/lock.ts) rolls it forward first. So at
 * every instant a reader sees either the whole old version or the whole new one.
 */
import fs from 'node:fs';
import path from 'node:path';
import { AnogenError } from '../core/errors.js';
import { describeFsError, removeStaleFiles, removeStaleTemps, writeJsonAtomic } from './fs.js';
import { LOCK_FILE, LOCK_TAKEOVER_FILE } from './lock.js';

/** The journal of a commit in progress (or of one interrupted by a crash). */
export const COMMIT_FILE = '.anogen-commit.json';
/** Staged files: `.anogen-stage.<pid>.<time>.<name>`. */
const STAGE_RE = /^\.anogen-stage\.(\d+)\.(\d+)\.(.+)$/;
/** writeFileAtomic's temp files (src/util/fs.ts): `.<name>.<pid>.<time>.tmp`. */
const TEMP_RE = /^\.(.+)\.(\d+)\.(\d+)\.tmp$/;

/** A pending commit, as written in {@link COMMIT_FILE}. */
export interface CommitJournal {
  format: 'anogen-commit';
  /** The writer's process id. */
  pid: number;
  /** The files of the new version, in rename order: staged name -> final name. */
  files: { name: string; staged: string }[];
  /** Files of the previous version that the new one no longer names (deleted at the end). */
  remove: string[];
}

/** A step of {@link commitFiles}, for crash tests. */
export type CommitStep = 'stage' | 'journal' | 'rename' | 'remove' | 'done';
let commitHook: ((step: CommitStep, name: string) => void) | null = null;

/**
 * Calls `hook` after each step of every {@link commitFiles} in this process (tests only: a
 * child process kills itself at a chosen step); `null` (the default) removes it.
 * @internal
 */
export function setCommitHook(hook: ((step: CommitStep, name: string) => void) | null): void {
  commitHook = hook;
}

/** True for a plain file name in the folder: no path separator, NUL, `.` or `..`. */
export function isPlainName(name: string): boolean {
  return typeof name === 'string' && name.length > 0 && name.length <= 200 && name !== '.' && name !== '..' && !/[/\\\0]/.test(name);
}

/**
 * True for the names anogen's own machinery puts into a bundle folder besides the files of
 * a version: the lock, the journal, staged files and writeFileAtomic's temp files.
 */
export function isAnogenEntry(name: string): boolean {
  return name === LOCK_FILE || name === LOCK_TAKEOVER_FILE || name === COMMIT_FILE || STAGE_RE.test(name) || TEMP_RE.test(name);
}

/** The pending commit of `dir` (null when none, or when the journal is not one of anogen's). */
export function readJournal(dir: string): CommitJournal | null {
  let text: string;
  try {
    text = fs.readFileSync(path.join(dir, COMMIT_FILE), 'utf8');
  } catch {
    return null;
  }
  let j: CommitJournal;
  try {
    j = JSON.parse(text) as CommitJournal;
  } catch {
    return null;
  }
  if (j === null || typeof j !== 'object' || j.format !== 'anogen-commit' || !Array.isArray(j.files) || !Array.isArray(j.remove)) return null;
  for (const f of j.files) {
    if (f === null || typeof f !== 'object' || !isPlainName(f.name) || typeof f.staged !== 'string' || !STAGE_RE.test(f.staged) || !isPlainName(f.staged)) return null;
  }
  if (!j.remove.every((n) => isPlainName(n))) return null;
  return j;
}

/**
 * Reads file `name` of `dir`'s current version (through a pending commit's staged files):
 * null when it does not exist. Errors other than "no such file" are thrown as they are.
 */
export function readCurrentFile(dir: string, name: string): Buffer | null {
  for (let attempt = 0; ; attempt++) {
    const j = readJournal(dir);
    const staged = j?.files.find((f) => f.name === name)?.staged;
    const p = staged !== undefined && fs.existsSync(path.join(dir, staged)) ? path.join(dir, staged) : path.join(dir, name);
    try {
      return fs.readFileSync(p);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      // A staged file renamed (or a commit finished) between the look and the read: look again.
      if (attempt < 3 && (staged !== undefined || readJournal(dir) !== null)) continue;
      return null;
    }
  }
}

/** fsyncs a folder so that renames in it are durable; platforms that cannot are skipped. */
function fsyncDir(dir: string): void {
  let fd: number;
  try {
    fd = fs.openSync(dir, 'r');
  } catch {
    return;
  }
  try {
    fs.fsyncSync(fd);
  } catch {
    // EINVAL/EISDIR/EPERM on platforms without directory fsync: best effort
  } finally {
    fs.closeSync(fd);
  }
}

function writeStaged(file: string, data: Uint8Array): void {
  const fd = fs.openSync(file, 'wx');
  try {
    let off = 0;
    while (off < data.length) {
      const n = fs.writeSync(fd, data, off, data.length - off);
      if (n <= 0) throw Object.assign(new Error(`EIO: wrote ${n} bytes at byte ${off} of ${data.length}`), { code: 'EIO' });
      off += n;
    }
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

function removeListed(dir: string, names: string[], keep: Set<string>): void {
  for (const n of names) {
    if (!isPlainName(n) || keep.has(n)) continue;
    const p = path.join(dir, n);
    try {
      if (fs.lstatSync(p).isFile()) fs.rmSync(p, { force: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new AnogenError(`cannot remove ${p} (a file of the previous version): ${describeFsError(e)}`);
    }
    commitHook?.('remove', n);
  }
}

/** Finishes the commit described by `j` (renames still pending, deletions, journal removal). */
function finish(dir: string, j: CommitJournal): void {
  for (const f of j.files) {
    const from = path.join(dir, f.staged);
    try {
      fs.renameSync(from, path.join(dir, f.name));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e; // ENOENT: renamed before the crash
    }
    commitHook?.('rename', f.name);
  }
  fsyncDir(dir);
  removeListed(dir, j.remove, new Set(j.files.map((f) => f.name)));
  fs.rmSync(path.join(dir, COMMIT_FILE), { force: true });
  fsyncDir(dir);
  commitHook?.('done', '');
}

/**
 * Rolls forward a commit that a killed writer left in `dir` (the caller holds the folder's
 * lock). A journal that is not anogen's format is removed. Returns true when there was one.
 */
export function recoverCommit(dir: string): boolean {
  const file = path.join(dir, COMMIT_FILE);
  if (!fs.existsSync(file)) return false;
  const j = readJournal(dir);
  try {
    if (j === null) fs.rmSync(file, { force: true });
    else finish(dir, j);
  } catch (e) {
    throw new AnogenError(`cannot finish the interrupted save in ${dir}: ${describeFsError(e)}`);
  }
  return true;
}

/**
 * Removes anogen's litter from `dir` after a writer was killed: staged files and
 * writeFileAtomic temp files whose process is gone (call {@link recoverCommit} first, holding
 * the lock). Files of live processes and every other file are kept. Returns the paths removed.
 */
export function removeStaleLitter(dir: string): string[] {
  const pending = new Set((readJournal(dir)?.files ?? []).map((f) => f.staged));
  return [
    ...removeStaleTemps(dir),
    ...removeStaleFiles(dir, (name) => {
      const m = STAGE_RE.exec(name);
      return m && !pending.has(name) ? Number(m[1]) : null;
    }),
  ];
}

/**
 * Commits a new version of `dir`: `files` (written in this order, the manifest last) replace
 * the current ones at once, then `remove` (files of the previous version that the new one no
 * longer names) are deleted. The caller holds the folder's lock and has called
 * {@link recoverCommit}. On a failure before the commit point the old version is untouched
 * and the staged files are removed.
 */
export function commitFiles(dir: string, files: { name: string; data: Uint8Array }[], remove: string[]): void {
  const t = Date.now();
  const staged: { name: string; staged: string }[] = [];
  try {
    for (const f of files) {
      if (!isPlainName(f.name)) throw new AnogenError(`cannot save ${JSON.stringify(f.name)} in ${dir}: not a plain file name`);
      const s = { name: f.name, staged: `.anogen-stage.${process.pid}.${t}.${f.name}` };
      writeStaged(path.join(dir, s.staged), f.data);
      staged.push(s);
      commitHook?.('stage', f.name);
    }
    const journal: CommitJournal = { format: 'anogen-commit', pid: process.pid, files: staged, remove };
    writeJsonAtomic(path.join(dir, COMMIT_FILE), journal);
  } catch (e) {
    for (const s of staged) fs.rmSync(path.join(dir, s.staged), { force: true });
    if (e instanceof AnogenError) throw e;
    throw new AnogenError(`cannot save into ${dir}: ${describeFsError(e)} (the previous version is unchanged)`);
  }
  commitHook?.('journal', '');
  try {
    finish(dir, { format: 'anogen-commit', pid: process.pid, files: staged, remove });
  } catch (e) {
    throw new AnogenError(`the new version in ${dir} is saved, but finishing it failed: ${describeFsError(e)}; the next save there completes it`);
  }
}
