// The native build finds libtorch through LIBTORCH (official archive layout) or the Debian
// layout, and fails with one clear message otherwise (scripts/libtorch.cjs).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const script = path.resolve('scripts/libtorch.cjs');
const run = (what: string, env: Record<string, string | undefined>) =>
  spawnSync(process.execPath, [script, what], { encoding: 'utf8', env: { ...process.env, ...env } });

function describeSystem(): { include: string[]; libdir: string } {
  const r = run('describe', { LIBTORCH: undefined });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout);
}

test('LIBTORCH pointing at an archive layout is used, with an rpath to its lib/', (t) => {
  const sys = describeSystem();
  const api = sys.include.find((d) => d.endsWith(path.join('csrc', 'api', 'include')));
  if (!api) return t.skip('system libtorch is not in the Debian layout');
  // Build an official-archive-shaped folder from the system install: include/ and lib/.
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'anogen-libtorch-'));
  try {
    fs.symlinkSync('/usr/include', path.join(root, 'include'));
    fs.mkdirSync(path.join(root, 'lib'));
    for (const f of fs.readdirSync(sys.libdir)) {
      if (/^lib(torch|torch_cpu|c10)\.so/.test(f)) fs.symlinkSync(path.join(sys.libdir, f), path.join(root, 'lib', f));
    }
    const d = JSON.parse(run('describe', { LIBTORCH: root }).stdout);
    assert.equal(d.kind, 'LIBTORCH');
    assert.deepEqual(d.include, [path.join(root, 'include'), path.join(root, 'include', 'torch', 'csrc', 'api', 'include')]);
    assert.equal(d.libdir, path.join(root, 'lib'));
    const ld = run('ldflags', { LIBTORCH: root }).stdout;
    assert.match(ld, new RegExp(`-Wl,-rpath,${path.join(root, 'lib')}`));
    assert.match(run('libs', { LIBTORCH: root }).stdout, /-ltorch -ltorch_cpu -lc10/);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('a LIBTORCH that is not a libtorch archive fails with a message saying how to get it', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'anogen-nolibtorch-'));
  try {
    const r = run('include', { LIBTORCH: root });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /does not look like a libtorch archive/);
    assert.match(r.stderr, /apt-get install libtorch-dev/);
    assert.match(r.stderr, /LIBTORCH=\/path\/to\/libtorch/);
    assert.doesNotMatch(r.stderr, /at .*\.cjs:\d+/); // no stack trace
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});
