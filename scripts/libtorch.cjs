#!/usr/bin/env node
// Locates libtorch for the native build. Used by binding.gyp and scripts/build-native.mjs.
//   node scripts/libtorch.cjs include|libdir|rpath|libs|describe
// Order: $LIBTORCH (official archive layout: include/, include/torch/csrc/api/include, lib/),
// then the Debian/Ubuntu layout of `apt-get install libtorch-dev` (/usr/include, multiarch lib dir).
'use strict';
const fs = require('fs');
const path = require('path');
const { execSync } = require('child_process');

const HELP = [
  'anogen: libtorch was not found, so the native addon cannot be built.',
  '  Debian 12/13, Ubuntu: sudo apt-get install libtorch-dev',
  '  Elsewhere: download the libtorch C++ archive (CPU or CUDA, cxx11 ABI) from pytorch.org, unpack it,',
  '             and set LIBTORCH=/path/to/libtorch before `npm ci` / `npm install`.',
].join('\n');

function multiarchDirs() {
  const dirs = [];
  try {
    const ma = execSync('gcc -print-multiarch', { stdio: ['ignore', 'pipe', 'ignore'] })
      .toString()
      .trim();
    if (ma) dirs.push(`/usr/lib/${ma}`);
  } catch {
    /* no gcc multiarch */
  }
  dirs.push('/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib64', '/usr/lib');
  return [...new Set(dirs)];
}

function hasLib(dir) {
  return ['libtorch_cpu.so', 'libtorch_cpu.dylib'].some((f) => fs.existsSync(path.join(dir, f)));
}

function locate() {
  const env = process.env.LIBTORCH;
  if (env) {
    const root = path.resolve(env);
    const inc = path.join(root, 'include');
    const api = path.join(inc, 'torch', 'csrc', 'api', 'include');
    const lib = path.join(root, 'lib');
    if (!fs.existsSync(path.join(api, 'torch', 'torch.h')) || !hasLib(lib)) {
      throw new Error(`anogen: LIBTORCH=${env} does not look like a libtorch archive ` + `(expected ${api}/torch/torch.h and ${lib}/libtorch_cpu.so).\n${HELP}`);
    }
    return { kind: 'LIBTORCH', include: [inc, api], libdir: lib, rpath: true };
  }
  const api = '/usr/include/torch/csrc/api/include';
  if (fs.existsSync(path.join(api, 'torch', 'torch.h'))) {
    const libdir = multiarchDirs().find(hasLib);
    if (libdir) return { kind: 'system', include: ['/usr/include', api], libdir, rpath: false };
  }
  throw new Error(HELP);
}

function libs(loc) {
  const out = ['-ltorch', '-ltorch_cpu', '-lc10'];
  for (const extra of ['torch_cuda', 'c10_cuda']) {
    if (fs.existsSync(path.join(loc.libdir, `lib${extra}.so`))) out.push(`-l${extra}`);
  }
  return out;
}

if (require.main === module) {
  let loc;
  try {
    loc = locate();
  } catch (e) {
    process.stderr.write(`${e.message}\n`);
    process.exit(1);
  }
  const what = process.argv[2] || 'describe';
  switch (what) {
    case 'include':
      process.stdout.write(loc.include.join(' '));
      break;
    case 'libdir':
      process.stdout.write(loc.libdir);
      break;
    case 'ldflags': {
      const flags = [`-L${loc.libdir}`];
      if (loc.rpath) flags.push(`-Wl,-rpath,${loc.libdir}`);
      // keep libtorch_cuda linked even though no symbol of it is referenced directly
      flags.push('-Wl,--no-as-needed');
      process.stdout.write(flags.join(' '));
      break;
    }
    case 'libs':
      process.stdout.write(libs(loc).join(' '));
      break;
    default:
      process.stdout.write(JSON.stringify({ ...loc, libs: libs(loc) }, null, 2) + '\n');
  }
}

module.exports = { locate, HELP };
