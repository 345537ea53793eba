/** File helpers shared by every layer: atomic writes, and cleaning up after interrupted ones. */
import fs from 'node:fs';
import path from 'node:path';
import { AnogenError } from '../core/errors.js';

/**
 * The file-system calls {@link writeFileAtomic} makes, replaceable for tests (short writes,
 * ENOSPC, EACCES) through {@link setAtomicWriteIo}.
 * @internal
 */
export interface AtomicWriteIo {
  openSync(file: string, flags: string): number;
  writeSync(fd: number, buf: Uint8Array, offset: number, length: number): number;
  fsyncSync(fd: number): void;
  closeSync(fd: number): void;
  renameSync(from: string, to: string): void;
}

const realIo: AtomicWriteIo = {
  openSync: (file, flags) => fs.openSync(file, flags),
  writeSync: (fd, buf, offset, length) => fs.writeSync(fd, buf, offset, length),
  fsyncSync: (fd) => fs.fsyncSync(fd),
  closeSync: (fd) => fs.closeSync(fd),
  renameSync: (from, to) => fs.renameSync(from, to),
};
let io: AtomicWriteIo = realIo;

/**
 * Replaces some of the file-system calls of {@link writeFileAtomic} (tests only); `null`
 * (the default state) restores the real ones.
 * @internal
 */
export function setAtomicWriteIo(hooks: Partial<AtomicWriteIo> | null): void {
  io = hooks === null ? realIo : { ...realIo, ...hooks };
}

/** `no space left on device (ENOSPC)` from a Node system error; the plain message otherwise. */
export function describeFsError(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  const msg = String(err?.message ?? e);
  if (typeof err?.code === 'string') {
    // Node's system errors read "ENOSPC: no space left on device, write".
    const m = /^[A-Z0-9_]+: ([^,]+)/.exec(msg);
    return `${m ? m[1] : msg} (${err.code})`;
  }
  return msg;
}

/** The temp-file name pattern of {@link writeFileAtomic}: `.<name>.<pid>.<time>.tmp`. */
const TEMP_RE = /^\.(.+)\.(\d+)\.(\d+)\.tmp$/;
let lastStamp = 0;

/** A unique-per-process time stamp (milliseconds, bumped when two writes share one). */
function stamp(): number {
  lastStamp = Math.max(Date.now(), lastStamp + 1);
  return lastStamp;
}

/**
 * Writes `data` to `file` atomically: a temporary file `.<name>.<pid>.<time>.tmp` in the same
 * folder, written completely (short writes are continued until every byte is out), fsync'd,
 * renamed over the target, then the folder is fsync'd so the rename itself survives a crash.
 * A crash mid-write never leaves a truncated `file` behind, and the previous contents stay
 * intact until the new ones are complete. On any failure (ENOSPC, EACCES, EIO...) the temp
 * file is removed, the previous `file` is left untouched, and an AnogenError names `file`
 * and the cause, e.g. `cannot write runs/x/model.safetensors: no space left on device (ENOSPC)`.
 * Missing parent folders are created.
 */
export function writeFileAtomic(file: string, data: string | Uint8Array): void {
  const fail = (e: unknown): never => {
    throw new AnogenError(`cannot write ${file}: ${describeFsError(e)}`);
  };
  const dir = path.dirname(path.resolve(file));
  try {
    fs.mkdirSync(dir, { recursive: true });
  } catch (e) {
    fail(e);
  }
  const bytes = typeof data === 'string' ? Buffer.from(data) : data;
  const base = path.basename(file);
  let tmp = '';
  let fd = -1;
  for (let attempt = 0; fd < 0; attempt++) {
    tmp = path.join(dir, `.${base}.${process.pid}.${stamp()}.tmp`);
    try {
      fd = io.openSync(tmp, 'wx');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= 10) fail(e);
    }
  }
  try {
    let off = 0;
    while (off < bytes.length) {
      const n = io.writeSync(fd, bytes, off, bytes.length - off);
      if (!Number.isInteger(n) || n <= 0) {
        throw Object.assign(new Error(`EIO: wrote ${n} bytes at byte ${off} of ${bytes.length}`), { code: 'EIO' });
      }
      off += n;
    }
    io.fsyncSync(fd);
    const f = fd;
    fd = -1;
    io.closeSync(f);
    io.renameSync(tmp, file);
  } catch (e) {
    if (fd >= 0) {
      try {
        io.closeSync(fd);
      } catch {
        // already failing: the original cause is what the user needs
      }
    }
    fs.rmSync(tmp, { force: true });
    fail(e);
  }
  fsyncDir(dir);
}

/** fsyncs a folder (so a rename in it is durable); platforms that cannot (Windows) are skipped. */
function fsyncDir(dir: string): void {
  let fd: number;
  try {
    fd = fs.openSync(dir, 'r');
  } catch {
    return;
  }
  try {
    fs.fsyncSync(fd);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (!['EINVAL', 'EISDIR', 'EPERM', 'ENOTSUP', 'EBADF', 'EACCES'].includes(code ?? '')) {
      throw new AnogenError(`cannot make the write in ${dir} durable: ${describeFsError(e)}`);
    }
  } finally {
    fs.closeSync(fd);
  }
}

/** Writes JSON (2-space indented, trailing newline) atomically (see {@link writeFileAtomic}). */
export function writeJsonAtomic(file: string, value: unknown): void {
  writeFileAtomic(file, `${JSON.stringify(value, null, 2)}\n`);
}

/** True when a process with this id exists (ours or another user's). */
function pidAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Deletes the temp files that {@link writeFileAtomic} left in `dir` when its process was killed
 * mid-write (kill -9, power loss): files named `.<name>.<pid>.<time>.tmp` whose process no
 * longer exists. Temp files of live processes (this one included) and every other file are
 * kept; a missing `dir` is not an error. Not recursive. Returns the paths removed.
 */
export function removeStaleTemps(dir: string): string[] {
  return removeStaleFiles(dir, (name) => {
    const m = TEMP_RE.exec(name);
    return m ? Number(m[2]) : null;
  });
}

/**
 * Deletes the regular files of `dir` whose name `pidOf` maps to the id of a process that no
 * longer exists (litter of a killed writer); names it maps to null are kept, and so are files of
 * live processes. A missing `dir` is not an error. Not recursive. Returns the paths removed.
 */
export function removeStaleFiles(dir: string, pidOf: (name: string) => number | null): string[] {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new AnogenError(`cannot list ${dir}: ${describeFsError(e)}`);
  }
  const removed: string[] = [];
  for (const name of names) {
    const pid = pidOf(name);
    if (pid === null || !Number.isSafeInteger(pid) || pid <= 0 || pidAlive(pid)) continue;
    const p = path.join(dir, name);
    try {
      if (!fs.lstatSync(p).isFile()) continue;
      fs.rmSync(p, { force: true });
      removed.push(p);
    } catch (e) {
      throw new AnogenError(`cannot remove stale temp file ${p}: ${describeFsError(e)}`);
    }
  }
  return removed;
}
