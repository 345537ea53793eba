/**
 * `GET /api/runs/:id/events`: server-sent events of one run. The registry is polled every
 * `pollMs` (default 500 ms); new steps go out as `event: metrics` (data `{ steps, epochs? }`,
 * each step with its `index`; the event id is the last step index, so a reconnecting
 * EventSource resumes with Last-Event-ID), changes of the run (status, finish, error,
 * summary) as `event: status` (data: the RunRecord). Once the run is no longer 'running'
 * the last steps and the status are sent, then `event: end`, and the stream closes.
 * A client that goes away stops the polling.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Registry, RunRecord } from '../runs/registry.js';
import { COMMON_HEADERS } from './http.js';

/** Options of {@link streamRunEvents}. */
export interface EventStreamOptions {
  /** Poll interval in ms (default 500). */
  pollMs?: number;
  /** Comment line sent to keep proxies from closing an idle stream, every N ms (default 15000). */
  keepAliveMs?: number;
  /** Steps already seen: only steps with a larger index are sent (default 0: all). */
  since?: number;
  /** Called once when the stream ends (either side). */
  onClose?: () => void;
}

/** What decides that a run changed (the heartbeat alone is not a change). */
const statusKey = (r: RunRecord) => JSON.stringify([r.status, r.finishedAt, r.error, r.summary, r.bundle]);

/** Streams run `id`'s events (the run must exist: the caller answers 404 first). Returns a function that ends the stream. */
export function streamRunEvents(req: IncomingMessage, res: ServerResponse, registry: Registry, id: number, opts: EventStreamOptions = {}): () => void {
  const pollMs = opts.pollMs ?? 500;
  let since = opts.since ?? 0;
  let lastKey = '';
  let epochCount = -1;
  let closed = false;
  let polls = 0;
  res.writeHead(200, {
    ...COMMON_HEADERS,
    'Content-Type': 'text/event-stream; charset=utf-8',
    'Cache-Control': 'no-store',
    Connection: 'keep-alive',
    'X-Accel-Buffering': 'no',
  });
  res.write(`retry: ${Math.max(1000, pollMs * 2)}\n\n`);
  const send = (event: string, data: unknown, eventId?: number) => {
    res.write(`event: ${event}\n${eventId !== undefined ? `id: ${eventId}\n` : ''}data: ${JSON.stringify(data)}\n\n`);
  };
  const close = () => {
    if (closed) return;
    closed = true;
    clearInterval(timer);
    clearInterval(ping);
    if (!res.writableEnded) res.end();
    opts.onClose?.();
  };
  const poll = () => {
    if (closed) return;
    try {
      // A training process killed with SIGKILL never finishes its run: mark such runs failed now and then.
      if (polls++ % 10 === 9) registry.markStale();
      const run = registry.getRun(id);
      if (run === null) {
        send('end', { reason: `run ${id} was removed from the registry` });
        close();
        return;
      }
      const steps = registry.steps(id, since);
      const epochs = registry.epochs(id);
      if (steps.length > 0 || epochs.length !== epochCount) {
        const data: { steps: typeof steps; epochs?: typeof epochs } = { steps };
        if (epochs.length !== epochCount) data.epochs = epochs;
        if (steps.length > 0) since = steps[steps.length - 1]!.index;
        epochCount = epochs.length;
        send('metrics', data, since);
      }
      const key = statusKey(run);
      if (key !== lastKey) {
        lastKey = key;
        send('status', run);
      }
      if (run.status !== 'running') {
        send('end', { status: run.status });
        close();
      }
    } catch (e) {
      send('error', { error: `cannot read the registry: ${(e as Error).message}` });
      close();
    }
  };
  const timer = setInterval(poll, pollMs);
  const ping = setInterval(() => !closed && res.write(': keep-alive\n\n'), opts.keepAliveMs ?? 15_000);
  req.on('close', close);
  res.on('close', close);
  poll();
  return close;
}
