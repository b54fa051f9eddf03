/**
 * `npm run bench:affinity`: does a task's conversation stay in one replica's prefix cache? The real
 * CLI runs bench:fabric's run (128 tasks, 64 at once, 5 agent steps a task) three times: against
 * one simulated GPU, and against four (each its own server, batch and prefix cache) listed as
 * replicas of one model in foreman.json's `backends`, routed by Foreman's affinity (the default)
 * and round-robin. Measured: cache reuse after each agent's first request (cached ÷ prompt tokens
 * of its later requests, from the run's journal), and each four-replica run's reuse as a share of
 * the one-replica run's (the target: within 5%, i.e. ≥ 0.95).
 *
 * Flags as bench:fabric's: --tasks N (128), --concurrency N (64), --steps N (5).
 */
import { CONCURRENCY, STEPS, TASKS, measureCapacity, runOnce } from './benchFabric';
import type { Measured } from './benchFabric';

async function main(): Promise<void> {
  const capacity = await measureCapacity();
  const one = await runOnce('1 replica', [], capacity);
  const affinity = await runOnce('4 replicas, affinity', [], capacity, { replicas: 4, routing: 'affinity' });
  const roundRobin = await runOnce('4 replicas, round-robin', [], capacity, { replicas: 4, routing: 'round-robin' });
  const f = (x: number, d = 2): string => x.toFixed(d);
  console.log(`${TASKS} tasks, ${CONCURRENCY} at once, ${STEPS} agent steps a task; each simulated GPU 64 slots`);
  console.log('');
  console.log('run                      | wall s | output tok | tok/s  | cache reuse | ÷ one replica');
  console.log('------------------------ | ------ | ---------- | ------ | ----------- | -------------');
  const row = (r: Measured): string =>
    `${r.label.padEnd(24)} | ${f(r.wallS, 1).padStart(6)} | ${f(r.output, 0).padStart(10)} | ${f(r.tokensPerSec, 0).padStart(6)} | ` +
    `${f(r.cacheReuse).padStart(11)} | ${f(r.cacheReuse / one.cacheReuse).padStart(13)}`;
  for (const r of [one, affinity, roundRobin]) console.log(row(r));
  const share = affinity.cacheReuse / one.cacheReuse;
  console.log('');
  console.log(
    `Affinity keeps ${f(share * 100, 1)}% of one replica's cache reuse (target ≥ 95%: ${share >= 0.95 ? 'met' : 'not met'}); round-robin keeps ${f((roundRobin.cacheReuse / one.cacheReuse) * 100, 1)}%.`,
  );
}

main().catch((e: unknown) => {
  console.error(`bench:affinity: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
