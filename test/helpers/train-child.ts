/**
 * A training run in a child process, for the resume and divergence tests:
 *   node --import tsx test/helpers/train-child.ts cli <anogen train args...>
 * runs the CLI (exit code = the CLI's), printing "step <n>" on stdout after every step; the
 * test detector 'nan-ae' (./nan-ae.ts) is registered too.
 */
import './nan-ae.js';
import { main } from '../../src/cli/main.js';

const [mode, ...args] = process.argv.slice(2);
if (mode !== 'cli') throw new Error(`train-child: unknown mode ${mode}`);
// Progress: one line per step on stdout (the CLI's own progress goes to stderr).
const { progressListeners } = await import('../../src/cli/progress.js');
progressListeners.add((e) => process.stdout.write(`step ${(e.epoch - 1) * e.stepsPerEpoch + e.step}\n`));
process.exitCode = await main(args);
