// Preloaded (--import) into every test process by scripts/run-tests.mjs: each test file's
// process gets a fresh, private run-registry home (ANOGEN_HOME = a new temp folder, removed when
// the process exits), so no test reads or writes the real ~/.anogen. Processes a test spawns
// inherit its ANOGEN_HOME (only a *.test.ts process, or the runner itself, gets a new one).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const main = process.argv[1] ?? '';
if (main.endsWith('.test.ts') || main.endsWith('run-tests.mjs') || process.env.ANOGEN_HOME === undefined) {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'anogen-home-'));
  process.env.ANOGEN_HOME = home;
  process.on('exit', () => fs.rmSync(home, { recursive: true, force: true }));
}
