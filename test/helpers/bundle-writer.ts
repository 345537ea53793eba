// Child process for the bundle crash tests: saves versions k = start, start+1, ... of a tiny
// GANomaly bundle into a folder, printing "saved k" after each, until killed or `count` saves
// are done. Version k has its first weight tensor filled with k, meta.training = { k }, and
// extra files train-state.json ({ k }) and extra-<k % 2>.bin (k repeated k % 7 + 1 times).
// With a crash step N it SIGKILLs itself at the N-th step of the save machinery.
// Usage: node --import tsx test/helpers/bundle-writer.ts <dir> <start> <count> [crashStep]
import { noGrad } from '../../src/core/index.js';
import { createDetector, getDetector, saveBundle } from '../../src/detectors/index.js';
import { setCommitHook } from '../../src/util/bundle-dir.js';

/** The extra files of version k (shared with the tests). */
export function versionFiles(k: number): Record<string, Uint8Array | string> {
  return { 'train-state.json': JSON.stringify({ k }), [`extra-${k % 2}.bin`]: new Uint8Array((k % 7) + 1).fill(k % 256) };
}

if (process.argv[1]?.endsWith('bundle-writer.ts')) {
  const [dir, start, count, crash] = process.argv.slice(2);
  const d = createDetector('ganomaly', getDetector('ganomaly').tiny);
  const first = d.stateDict().values().next().value!;
  if (crash !== undefined) {
    let n = 0;
    const at = Number(crash);
    setCommitHook(() => {
      if (n++ === at) process.kill(process.pid, 'SIGKILL');
    });
  }
  process.stdout.write('ready\n');
  for (let k = Number(start); k < Number(start) + Number(count); k++) {
    noGrad(() => first.fill_(k));
    saveBundle(dir, d, { training: { k } }, { replace: true, files: versionFiles(k) });
    process.stdout.write(`saved ${k}\n`);
  }
  d.dispose();
}
