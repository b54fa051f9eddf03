/**
 * `npm run bench:backoff`: what does a fleet do to a backend that answers 429 for 5 s? The real CLI
 * runs bench:fabric's run (64 tasks, 64 at once, 5 agent steps a task, Foreman's defaults: the
 * endpoint's limit of requests in flight is the concurrency, 64) against the simulated GPU, which
 * answers every chat request 429 from 2 s after the first request until 7 s. Twice: 429s without
 * `Retry-After` (Foreman backs off on its own), and with `Retry-After: 2`. Measured, each in one
 * run: the chat requests that reached the server inside the 5 s, as a multiple of the endpoint's
 * limit (agents each backing off alone would send several volleys of 64); the tasks merged (every
 * agent must finish); the wall time against the same run with no 429s.
 *
 * Flags as bench:fabric's: --tasks N (64), --concurrency N (64), --steps N (5).
 */
import { CONCURRENCY, STEPS, flag, measureCapacity, runOnce } from './benchFabric';
import type { Measured } from './benchFabric';

const TASKS = flag('tasks', 64);
const WINDOW = { fromMs: 2_000, lengthMs: 5_000 };

async function main(): Promise<void> {
  const capacity = await measureCapacity();
  const calm = await runOnce('no 429s', [], capacity, { replicas: 1, routing: 'affinity', tasks: TASKS });
  const bare = await runOnce('429 for 5 s, no Retry-After', [], capacity, {
    replicas: 1,
    routing: 'affinity',
    tasks: TASKS,
    rateLimit: WINDOW,
  });
  const told = await runOnce('429 for 5 s, Retry-After: 2', [], capacity, {
    replicas: 1,
    routing: 'affinity',
    tasks: TASKS,
    rateLimit: { ...WINDOW, retryAfterSec: 2 },
  });
  const f = (x: number, d = 2): string => x.toFixed(d);
  console.log(`${TASKS} tasks, ${CONCURRENCY} at once (endpoint limit ${CONCURRENCY}), ${STEPS} agent steps a task`);
  console.log(
    `429 window: ${WINDOW.fromMs / 1000} s to ${(WINDOW.fromMs + WINDOW.lengthMs) / 1000} s after the first request`,
  );
  console.log('');
  console.log('run                          | wall s | requests in window | ÷ limit | merged | wall ÷ calm');
  console.log('---------------------------- | ------ | ------------------ | ------- | ------ | -----------');
  const row = (r: Measured): string =>
    `${r.label.padEnd(28)} | ${f(r.wallS, 1).padStart(6)} | ${String(r.limitedRequests).padStart(18)} | ` +
    `${f(r.limitedRequests / CONCURRENCY).padStart(7)} | ${`${r.merged}/${TASKS}`.padStart(6)} | ${f(r.wallS / calm.wallS).padStart(11)}`;
  for (const r of [calm, bare, told]) console.log(row(r));
}

main().catch((e: unknown) => {
  console.error(`bench:backoff: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
