/**
 * Folder locks: one anogen process at a time writes into a folder (a bundle, a run's --out).
 *
 * The lock is a file `<dir>/.anogen.lock` created exclusively (open with 'wx', i.e. O_CREAT |
 * O_EXCL), holding JSON `{pid, host, started, what}`. A second acquirer fails at once with an
 * AnogenError naming the holder ("runs/x is in use by anogen train (pid 1234, started ...);
 * wait for it or choose another --out"). A lock left by a process that no longer exists on this
 * host (kill -9, power loss; `process.kill(pid, 0)` fails with ESRCH) is stale and taken over.
 * Taking over is serialised by a second exclusive file, `<dir>/.anogen.lock.takeover`, so two
 * processes finding the same stale lock cannot both end up holding it. A lock written on
 * another host (a shared network folder) cannot be checked and is never taken over: the
 * message says which file to delete. Known limit: a dead holder's pid reused by an unrelated
 * live process keeps the lock looking alive (the message names the pid and the file).
 *
 * Locks are advisory: they only exclude anogen processes that take them. This process's held
 * locks are removed when it exits normally (an exit listener); a killed process leaves a
 * stale lock that the next acquirer takes over.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AnogenError } from '../core/errors.js';

/** Name of the lock file inside the locked folder. */
export const LOCK_FILE = '.anogen.lock';
/** Name of the short-lived file that serialises taking over a stale lock. */
export const LOCK_TAKEOVER_FILE = '.anogen.lock.takeover';
/** A lock file that cannot be parsed is considered stale once it is this old (ms). */
const UNREADABLE_STALE_MS = 10_000;

/** Contents of a lock file. */
export interface LockInfo {
  /** Process id of the holder. */
  pid: number;
  /** Host name of the holder (os.hostname()). */
  host: string;
  /** When the lock was taken (ISO 8601). */
  started: string;
  /** What holds it, e.g. "anogen train" (shown to a second acquirer). */
  what: string;
}

/**
 * A held lock: calling it (or `.release()`) releases it. Releasing twice, or after the lock
 * file was removed by someone else, is harmless; a lock file that no longer holds this
 * process's contents is never deleted.
 */
export interface HeldLock {
  (): void;
  /** Releases the lock (same as calling it). */
  release(): void;
  /** The locked folder, resolved to an absolute path. */
  readonly dir: string;
  /** The lock file. */
  readonly file: string;
  /** What was written into the lock file. */
  readonly info: LockInfo;
  /** True until released. */
  readonly held: boolean;
}

const heldLocks = new Set<HeldLock>();
let exitHookInstalled = false;

/** True when a process with this id exists (EPERM: it exists but belongs to another user). */
export function pidAlive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

function parseInfo(text: string): LockInfo | null {
  try {
    const j = JSON.parse(text) as LockInfo;
    if (j !== null && typeof j === 'object' && Number.isSafeInteger(j.pid) && j.pid > 0 && typeof j.host === 'string') {
      return { pid: j.pid, host: j.host, started: String(j.started ?? '?'), what: String(j.what ?? 'anogen') };
    }
  } catch {
    // unreadable: handled by the caller
  }
  return null;
}

/** What a lock file says: `null` when there is none. */
type LockState =
  | { kind: 'none' }
  | { kind: 'live'; info: LockInfo; text: string }
  | { kind: 'stale'; info: LockInfo | null; text: string; why: string }
  | { kind: 'foreign-host'; info: LockInfo; text: string }
  | { kind: 'unreadable'; text: string };

function lockState(file: string): LockState {
  let text: string;
  let mtimeMs: number;
  try {
    text = fs.readFileSync(file, 'utf8');
    mtimeMs = fs.statSync(file).mtimeMs;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'none' };
    throw new AnogenError(`cannot read the lock file ${file}: ${(e as Error).message}`);
  }
  const info = parseInfo(text);
  if (info === null) {
    // Being written right now (between the exclusive create and the write), or garbage.
    if (Date.now() - mtimeMs > UNREADABLE_STALE_MS) return { kind: 'stale', info: null, text, why: 'unreadable' };
    return { kind: 'unreadable', text };
  }
  if (info.host !== os.hostname()) return { kind: 'foreign-host', info, text };
  if (!pidAlive(info.pid)) return { kind: 'stale', info, text, why: `pid ${info.pid} is gone` };
  return { kind: 'live', info, text };
}

/**
 * Who holds the lock on `dir` now: its LockInfo while a live process (this one included)
 * holds it, or while it was taken on another host; `null` when there is no lock or it is stale.
 */
export function lockHolder(dir: string): LockInfo | null {
  const s = lockState(path.join(dir, LOCK_FILE));
  return s.kind === 'live' || s.kind === 'foreign-host' ? s.info : null;
}

/** The AnogenError a second acquirer of `dir`'s lock gets. */
function inUseError(dir: string, s: LockState): AnogenError {
  const file = path.join(dir, LOCK_FILE);
  if (s.kind === 'live') {
    const who =
      s.info.pid === process.pid ? `this process (${s.info.what}, pid ${s.info.pid}, started ${s.info.started})` : `${s.info.what} (pid ${s.info.pid}, started ${s.info.started})`;
    const hint = s.info.pid === process.pid ? ' (code that holds this lock passes it on, e.g. saveBundle(dir, detector, meta, { lock }))' : '';
    return new AnogenError(`${dir} is in use by ${who}; wait for it or choose another --out${hint}`);
  }
  if (s.kind === 'foreign-host') {
    return new AnogenError(
      `${dir} is in use by ${s.info.what} on host ${s.info.host} (pid ${s.info.pid}, started ${s.info.started}); ` +
        `wait for it or choose another --out (if nothing runs there any more, delete ${file})`,
    );
  }
  return new AnogenError(`${dir} is in use by another anogen process (its lock file ${file} is being written); wait for it or choose another --out`);
}

/**
 * Throws the "in use" AnogenError when a live process other than the holder of `mine` holds
 * `dir`'s lock (used to check a folder before a long run, without taking the lock).
 */
export function assertNotLocked(dir: string, mine?: HeldLock): void {
  const s = lockState(path.join(dir, LOCK_FILE));
  if (s.kind === 'none' || s.kind === 'stale') return;
  if (mine !== undefined && mine.held && s.kind === 'live' && s.text === JSON.stringify(mine.info)) return;
  throw inUseError(dir, s);
}

/**
 * Checks that `lock` is held and locks `dir` (AnogenError otherwise, e.g. a lock on another
 * folder, or one released already).
 */
export function assertHolds(lock: HeldLock, dir: string): void {
  const want = path.resolve(dir);
  if (!lock.held) throw new AnogenError(`the lock on ${lock.dir} passed for ${dir} was already released`);
  if (lock.dir !== want) throw new AnogenError(`the lock passed for ${dir} locks another folder (${lock.dir})`);
  let text = '';
  try {
    text = fs.readFileSync(lock.file, 'utf8');
  } catch {
    // missing: reported below
  }
  if (text !== JSON.stringify(lock.info)) {
    throw new AnogenError(`the lock on ${dir} was lost (${lock.file} was removed or taken over by another process)`);
  }
}

function createExclusive(file: string, text: string): boolean {
  // The contents are written to a private temp file first and then hard-linked to the lock's
  // name (link fails when the name exists): the lock file never exists half-written, so a
  // writer killed at any instant leaves either no lock or a whole one whose pid is checkable.
  const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
  let linked: boolean | null = null;
  try {
    fs.writeFileSync(tmp, text, { flag: 'wx' });
    try {
      fs.linkSync(tmp, file);
      linked = true;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') linked = false;
      else if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP') throw e;
    }
  } catch (e) {
    throw new AnogenError(`cannot create the lock file ${file}: ${(e as Error).message}`);
  } finally {
    fs.rmSync(tmp, { force: true });
  }
  if (linked !== null) return linked;
  // A filesystem without hard links: exclusive create, then write (briefly unreadable).
  let fd: number;
  try {
    fd = fs.openSync(file, 'wx');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw new AnogenError(`cannot create the lock file ${file}: ${(e as Error).message}`);
  }
  try {
    const b = Buffer.from(text);
    let off = 0;
    while (off < b.length) off += fs.writeSync(fd, b, off, b.length - off);
  } catch (e) {
    fs.closeSync(fd);
    fs.rmSync(file, { force: true });
    throw new AnogenError(`cannot write the lock file ${file}: ${(e as Error).message}`);
  }
  fs.closeSync(fd);
  return true;
}

/**
 * Removes the stale lock whose contents are `text`, unless another process is taking it over
 * at the same moment (then the caller reports "in use"). Returns true when it was removed.
 */
function takeOver(dir: string, text: string): boolean {
  const lockFile = path.join(dir, LOCK_FILE);
  const guard = path.join(dir, LOCK_TAKEOVER_FILE);
  const mine = JSON.stringify({ pid: process.pid, host: os.hostname(), started: new Date().toISOString() });
  if (!createExclusive(guard, mine)) {
    // A taker killed mid-takeover leaves the guard: stale once its pid is gone (or it is unreadable and old).
    let stale = false;
    try {
      const g = parseInfo(fs.readFileSync(guard, 'utf8'));
      stale = g === null ? Date.now() - fs.statSync(guard).mtimeMs > UNREADABLE_STALE_MS : g.host === os.hostname() && !pidAlive(g.pid);
    } catch {
      stale = false;
    }
    if (!stale) return false;
    fs.rmSync(guard, { force: true });
    if (!createExclusive(guard, mine)) return false;
  }
  try {
    let now = '';
    try {
      now = fs.readFileSync(lockFile, 'utf8');
    } catch {
      return true; // already gone
    }
    if (now !== text) return false; // someone else took it over and holds it now
    fs.rmSync(lockFile, { force: true });
    return true;
  } finally {
    fs.rmSync(guard, { force: true });
  }
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const l of [...heldLocks]) {
      try {
        l.release();
      } catch {
        // exiting: nothing more to do
      }
    }
  });
}

/**
 * Locks folder `dir` (created if missing) for this process: creates `dir/.anogen.lock`
 * exclusively with `{pid, host, started, what}` and returns the release function.
 * `what` names the holder for the message a second acquirer gets (e.g. "anogen train").
 * A lock held by a live process (this one included: locks are not re-entrant) is an
 * AnogenError at once, "runs/x is in use by anogen train (pid 1234, started ...); wait for it
 * or choose another --out"; a stale one (its pid is gone, same host) is taken over.
 */
export function acquireLock(dir: string, what: string): HeldLock {
  const abs = path.resolve(dir);
  try {
    fs.mkdirSync(abs, { recursive: true });
  } catch (e) {
    throw new AnogenError(`cannot create the folder ${dir}: ${(e as Error).message}`);
  }
  const file = path.join(abs, LOCK_FILE);
  const info: LockInfo = { pid: process.pid, host: os.hostname(), started: new Date().toISOString(), what };
  const text = JSON.stringify(info);
  for (let attempt = 0; ; attempt++) {
    if (createExclusive(file, text)) break;
    const s = lockState(file);
    if (s.kind === 'none' && attempt < 10) continue; // released in between: try again
    if (s.kind === 'stale' && attempt < 3 && takeOver(abs, s.text)) continue;
    throw inUseError(dir, s);
  }
  let held = true;
  const release = (): void => {
    if (!held) return;
    held = false;
    heldLocks.delete(lock);
    try {
      if (fs.readFileSync(file, 'utf8') === text) fs.rmSync(file, { force: true });
    } catch {
      // already removed
    }
  };
  const lock = Object.assign(release, {
    release,
    dir: abs,
    file,
    info,
  }) as unknown as HeldLock;
  Object.defineProperty(lock, 'held', { get: () => held, enumerable: true });
  heldLocks.add(lock);
  installExitHook();
  return lock;
}
