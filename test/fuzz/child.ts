/**
 * The fuzzing child process (started by campaign.ts): runs one target at a time on inputs
 * from fast-check, announcing each input to the parent BEFORE parsing it, so the parent can
 * name the input of a hang (no answer within the case time bound) or a crash (the process
 * died), which this process cannot report itself.
 */
import fc from 'fast-check';
import { AnogenError, TorchError } from '../../src/core/errors.js';
import { InvalidResult, targetByName } from './targets.js';
import type { ChildFinding, RunRequest } from './campaign.js';

function send(msg: unknown): Promise<void> {
  return new Promise((resolve, reject) => process.send!(msg, undefined, undefined, (e) => (e ? reject(e) : resolve())));
}

const b64 = (u: Uint8Array) => Buffer.from(u.buffer, u.byteOffset, u.byteLength).toString('base64');

async function runTarget(req: RunRequest): Promise<void> {
  const target = targetByName(req.target);
  const arb = await target.init();
  let cases = 0;
  let maxCaseMs = 0;
  const rssLimitKb = req.maxRssMb * 1024;
  const finding = (f: Omit<ChildFinding, 'type'>) => send({ type: 'finding', ...f });
  await fc.check(
    fc.asyncProperty(arb, async (input) => {
      await send({ type: 'case', input: b64(input) });
      const rssBefore = process.resourceUsage().maxRSS;
      const t0 = performance.now();
      try {
        await target.run(input);
      } catch (e) {
        if (e instanceof InvalidResult) await finding({ kind: 'invalid-result', name: e.name, message: e.message, frame: '', input: b64(input) });
        else if (!(e instanceof AnogenError) && !(e instanceof TorchError)) {
          const err = e as Error;
          const frame =
            String(err?.stack ?? '')
              .split('\n')
              .find((l) => /^\s+at /.test(l))
              ?.trim() ?? '';
          await finding({ kind: 'error', name: String(err?.name ?? typeof e), message: String(err?.message ?? e), frame, input: b64(input) });
        }
      }
      const ms = performance.now() - t0;
      maxCaseMs = Math.max(maxCaseMs, ms);
      if (ms > req.slowMs) await finding({ kind: 'slow', name: 'slow', message: `one case took ${Math.round(ms)} ms`, frame: '', input: b64(input) });
      // maxRSS is the process's peak so far: blame a case only for a new peak above the limit
      const rss = process.resourceUsage().maxRSS;
      if (rss > rssLimitKb && rss > rssBefore + 64 * 1024) {
        await finding({ kind: 'memory', name: 'memory', message: `peak resident size rose to ${Math.round(rss / 1024)} MB during one case`, frame: '', input: b64(input) });
      }
      cases++;
      return true;
    }),
    {
      seed: req.seed,
      numRuns: req.runs > 0 ? req.runs : 1e9,
      endOnFailure: true,
      ...(req.seconds > 0 ? { interruptAfterTimeLimit: req.seconds * 1000, markInterruptAsFailure: false } : {}),
    },
  );
  await send({ type: 'done', cases, maxCaseMs });
}

process.on('message', (req: RunRequest) => {
  runTarget(req).catch(async (e) => {
    await send({ type: 'fatal', message: String((e as Error)?.stack ?? e) });
    process.exit(1);
  });
});
void send({ type: 'ready' });
