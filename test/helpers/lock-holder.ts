// Child process for the lock tests: takes the lock on a folder, prints one JSON line
// ({ ok: true, pid } or { ok: false, error }), holds it for <holdMs> ms, releases it, exits.
// Usage: node --import tsx test/helpers/lock-holder.ts <dir> <what> <holdMs>
import { acquireLock } from '../../src/util/lock.js';

const [dir, what, holdMs] = process.argv.slice(2);
try {
  const release = acquireLock(dir, what);
  process.stdout.write(`${JSON.stringify({ ok: true, pid: process.pid })}\n`);
  setTimeout(() => release(), Number(holdMs));
} catch (e) {
  process.stdout.write(`${JSON.stringify({ ok: false, pid: process.pid, error: (e as Error).message, name: (e as Error).name })}\n`);
}
