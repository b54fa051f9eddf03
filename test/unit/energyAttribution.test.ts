/**
 * Energy attributed to tasks (src/core/energyAttribution.ts) and the journal's telemetry folded
 * into per-backend figures (src/core/telemetry.ts): the arithmetic, worked by hand.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { attributeEnergy, PLANNING_KEY } from '../../src/core/energyAttribution';
import type { LedgerRecord } from '../../src/core/ledger';
import { Ledger } from '../../src/core/ledger';
import type { JournalEvent, NewEvent } from '../../src/core/journal';
import { efficiency, energyReport, TelemetryBook } from '../../src/core/telemetry';

/** A request that ran [start, end] ms, its first token at `first`, with `tokens` output tokens. */
function rec(taskId: string | null, start: number, first: number, end: number, tokens: number): LedgerRecord {
  return {
    role: taskId === null ? 'planner' : 'agent',
    taskId,
    model: 'm',
    endpoint: 'http://gpu/v1',
    ok: true,
    usage: { promptTokens: 100, completionTokens: tokens, cachedTokens: null, reasoningTokens: null, estimated: false },
    timing: { ttftMs: first - start, durationMs: end - start, outputTokensPerSec: null },
    cost: null,
    at: end,
  };
}

const close = (a: number, b: number, what: string) => assert.ok(Math.abs(a - b) < 1e-9, `${what}: ${a} ≠ ${b}`);

test("an interval's joules go to the tasks by their share of the tokens generated in it", () => {
  // a generates 100 tokens over [0, 1000]; b 300 over [0, 1000]: 1 interval of 400 J → 100 / 300.
  const account = attributeEnergy(
    [{ fromMs: 0, toMs: 1000, joules: 400 }],
    [rec('a', 0, 0, 1000, 100), rec('b', 0, 0, 1000, 300)],
  );
  close(account.byTask.get('a')?.joules ?? NaN, 100, 'a');
  close(account.byTask.get('b')?.joules ?? NaN, 300, 'b');
  assert.equal(account.idleJoules, 0);
  assert.equal(account.tokens, 400);
});

test('tokens spread evenly over the generation: a request across two intervals splits by time in each', () => {
  // a: 200 tokens over [500, 1500]; b: 100 tokens over [0, 1000] (two intervals of 100 J).
  const account = attributeEnergy(
    [
      { fromMs: 0, toMs: 1000, joules: 100 },
      { fromMs: 1000, toMs: 2000, joules: 100 },
    ],
    [rec('a', 400, 500, 1500, 200), rec('b', 0, 0, 1000, 100)],
  );
  // First interval: a 100 tokens, b 100 → 50 J each. Second: a 100 tokens, b none → 100 J to a.
  close(account.byTask.get('a')?.joules ?? NaN, 150, 'a');
  close(account.byTask.get('b')?.joules ?? NaN, 50, 'b');
  close(account.byTask.get('a')?.tokens ?? NaN, 200, 'a tokens');
});

test('an interval with no request in flight is idle draw, given to no task; tokens/J leaves it out and with-idle counts it', () => {
  const account = attributeEnergy(
    [
      { fromMs: 0, toMs: 1000, joules: 500 },
      { fromMs: 1000, toMs: 2000, joules: 78 },
    ],
    [rec('a', 0, 0, 1000, 1000)],
  );
  assert.equal(account.idleJoules, 78);
  assert.equal(account.joules, 578);
  close(account.byTask.get('a')?.joules ?? NaN, 500, 'a');
  const e = efficiency(account);
  assert.equal(e.busy, 2);
  close(e.overall ?? NaN, 1000 / 578, 'with idle');
});

test('requests in flight but no token generated (prompts being read) share the interval by their time in it', () => {
  // a reads its prompt over [0, 1000], b over [500, 1000]: 300 J split 2:1.
  const account = attributeEnergy(
    [{ fromMs: 0, toMs: 1000, joules: 300 }],
    [rec('a', 0, 1500, 2000, 10), rec('b', 500, 1500, 2000, 10)],
  );
  close(account.byTask.get('a')?.joules ?? NaN, 200, 'a');
  close(account.byTask.get('b')?.joules ?? NaN, 100, 'b');
  assert.equal(account.idleJoules, 0);
});

test("the planner's requests are kept apart under their own key", () => {
  const account = attributeEnergy([{ fromMs: 0, toMs: 1000, joules: 10 }], [rec(null, 0, 0, 1000, 5)]);
  assert.deepEqual([...account.byTask.keys()], [PLANNING_KEY]);
});

test('a request answered whole (not timed) spreads its tokens over the whole request', () => {
  const whole: LedgerRecord = {
    ...rec('a', 0, 0, 1000, 50),
    timing: { ttftMs: null, durationMs: 1000, outputTokensPerSec: null },
  };
  const account = attributeEnergy([{ fromMs: 500, toMs: 1000, joules: 10 }], [whole, rec('b', 500, 500, 1000, 25)]);
  close(account.byTask.get('a')?.joules ?? NaN, 5, 'a: 25 of its 50 tokens fell in the interval');
  close(account.byTask.get('b')?.joules ?? NaN, 5, 'b');
});

/** Numbered events, each stamped with its `t`. */
function events(list: (NewEvent & { t: number })[]): JournalEvent[] {
  return list.map((e, i) => ({ ...e, seq: i + 1 }));
}

test('the journal: per backend, the last reading, the energy attributed, and why a backend has none', () => {
  const reading = (atMs: number, running: number) => ({
    atMs,
    server: 'vllm' as const,
    running,
    waiting: 0,
    kvCacheUse: 0.5,
    prefixHitRate: 0.9,
    tokensPerSecond: 100,
  });
  const journal = events([
    { type: 'backend_metrics', endpoint: 'http://gpu/v1', reading: reading(1000, 1), t: 1000 },
    { type: 'telemetry_unavailable', endpoint: 'http://other/v1', what: 'energy', reason: 'no source', t: 1000 },
    {
      type: 'energy',
      endpoint: 'http://gpu/v1',
      source: 'dcgm-exporter x',
      fromMs: 0,
      toMs: 1000,
      gpus: [
        { gpu: '0', joules: 300, method: 'counter' },
        { gpu: '1', joules: 100, method: 'counter' },
      ],
      t: 1000,
    },
    {
      type: 'model_request',
      role: 'agent',
      taskId: 'a',
      model: 'm',
      endpoint: 'http://gpu/v1',
      ok: true,
      usage: { promptTokens: 10, completionTokens: 800, cachedTokens: null, reasoningTokens: null, estimated: false },
      timing: { ttftMs: 0, durationMs: 1000, outputTokensPerSec: null },
      attempts: 1,
      cost: null,
      t: 1000,
    },
    { type: 'backend_metrics', endpoint: 'http://gpu/v1', reading: reading(3000, 4), t: 3000 },
  ]);
  const book = TelemetryBook.fromEvents(journal);
  const [gpu, other] = book.all();
  assert.equal(gpu.last?.running, 4);
  assert.equal(gpu.series.length, 2);
  const report = energyReport(book, Ledger.fromEvents(journal));
  const measured = report.backends[0];
  assert.ok(measured.measured);
  assert.equal(measured.account.joules, 400, 'both GPUs');
  assert.equal(measured.gpus, 2);
  assert.equal(measured.method, 'energy counter');
  assert.equal(measured.account.byTask.get('a')?.joules, 400);
  assert.equal(efficiency(measured.account).busy, 2);
  assert.deepEqual(report.backends[1], { endpoint: other.endpoint, measured: false, reason: 'no source' });
  assert.equal(report.run?.joules, 400);
});
