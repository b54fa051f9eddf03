import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Ledger, addUsage, costOf, emptyTotals, partlyUnpriced, priceFor } from '../../src/core/ledger';
import type { LedgerRecord, PriceTable } from '../../src/core/ledger';
import type { JournalEvent } from '../../src/core/journal';
import type { RequestTiming, Usage } from '../../src/core/model';

function usage(promptTokens: number, completionTokens: number, more: Partial<Usage> = {}): Usage {
  return { promptTokens, completionTokens, cachedTokens: null, reasoningTokens: null, estimated: false, ...more };
}

function timing(durationMs: number, ttftMs: number | null = null): RequestTiming {
  return { ttftMs, durationMs, outputTokensPerSec: null };
}

const prices: PriceTable = {
  'big-model': { input: 3, cachedInput: 0.3, output: 15 },
  '*': { input: 1, cachedInput: 0.5, output: 2 },
};

test('priceFor: exact name, then the "*" entry, else null', () => {
  assert.deepEqual(priceFor(prices, 'big-model'), { input: 3, cachedInput: 0.3, output: 15 });
  assert.deepEqual(priceFor(prices, 'other'), { input: 1, cachedInput: 0.5, output: 2 });
  assert.equal(priceFor({ 'big-model': prices['big-model'] }, 'other'), null);
  assert.equal(priceFor({}, 'toString'), null, 'inherited object keys are not prices');
});

test('costOf bills cached prompt tokens at the cached price and the rest at input', () => {
  const price = { input: 3, cachedInput: 0.3, output: 15 };
  // 1M prompt of which 400k cached, 100k completion (20k of it reasoning, not billed twice).
  const cost = costOf(usage(1_000_000, 100_000, { cachedTokens: 400_000, reasoningTokens: 20_000 }), price);
  assert.ok(cost !== null);
  assert.ok(Math.abs(cost - (0.6 * 3 + 0.4 * 0.3 + 0.1 * 15)) < 1e-9, `cost ${cost}`);
});

test('costOf: cached not reported means the whole prompt is billed at input', () => {
  const price = { input: 2, cachedInput: 1, output: 4 };
  assert.equal(costOf(usage(500_000, 250_000), price), 0.5 * 2 + 0.25 * 4);
  assert.equal(costOf(usage(500_000, 250_000, { cachedTokens: 0 }), price), 2);
  assert.equal(costOf(usage(10, 10), null), null);
});

test('addUsage sums counts, keeps cost null until something is priced, counts unpriced requests, and marks estimates', () => {
  const totals = emptyTotals();
  addUsage(totals, usage(100, 20, { cachedTokens: 60, reasoningTokens: 5 }), null, timing(1000, 200));
  assert.equal(totals.cost, null);
  addUsage(totals, usage(50, 10, { estimated: true }), 0.25, timing(500, null));
  addUsage(totals, null, null, null); // failed before any answer
  assert.deepEqual(totals, {
    requests: 3,
    input: 150,
    cached: 60,
    output: 30,
    reasoning: 5,
    estimated: true,
    cost: 0.25,
    unpriced: 1,
    durationMs: 1500,
  });
  assert.ok(partlyUnpriced(totals), 'the first request had tokens and no price: the cost is partial');
  assert.ok(!partlyUnpriced(emptyTotals()));
});

function rec(
  role: LedgerRecord['role'],
  taskId: string | null,
  endpoint: string,
  model: string,
  u: Usage,
  cost: number | null,
): LedgerRecord {
  return { role, taskId, endpoint, model, ok: true, usage: u, timing: timing(100, 10), cost, at: 0 };
}

const records: LedgerRecord[] = [
  rec('planner', null, 'http://a/v1', 'm1', usage(1000, 200), 0.01),
  rec('agent', 't1', 'http://a/v1', 'm1', usage(300, 50, { cachedTokens: 100 }), 0.002),
  rec('agent', 't2', 'http://b/v1', 'm2', usage(400, 60), null),
  rec('agent', 't1', 'http://b/v1', 'm2', usage(500, 70), null),
  rec('reviewer', 't1', 'http://a/v1', 'm1', usage(200, 10), 0.001),
];

test('Ledger keeps totals per task, role, endpoint, model and for the run', () => {
  const ledger = new Ledger();
  for (const r of records) ledger.record(r);
  assert.equal(ledger.records.length, 5);
  assert.equal(ledger.run.requests, 5);
  assert.equal(ledger.run.input, 2400);
  assert.equal(ledger.run.output, 390);
  assert.ok(Math.abs((ledger.run.cost ?? 0) - 0.013) < 1e-12);

  const t1 = ledger.task('t1');
  assert.deepEqual([t1.requests, t1.input, t1.cached, t1.output], [3, 1000, 100, 130]);
  assert.ok(Math.abs((t1.cost ?? 0) - 0.003) < 1e-12, 'unpriced requests add no cost');
  assert.equal(ledger.task('t2').cost, null, 'a task with only unpriced requests has no cost');
  assert.equal(ledger.task('nope').requests, 0);
  assert.deepEqual([...ledger.byTask().keys()], ['t1', 't2'], 'planner requests belong to no task');

  assert.equal(ledger.role('agent').requests, 3);
  assert.equal(ledger.role('agent').input, 1200);
  assert.equal(ledger.role('planner').output, 200);
  assert.equal(ledger.role('reviewer').input, 200);
  assert.equal(ledger.endpoint('http://a/v1').input, 1500);
  assert.equal(ledger.endpoint('http://b/v1').input, 900);
  assert.equal(ledger.endpoint('http://b/v1').cost, null);
  assert.equal(ledger.model('m2').output, 130);
  assert.deepEqual([...ledger.byEndpoint().keys()], ['http://a/v1', 'http://b/v1']);
  assert.deepEqual([...ledger.byModel().keys()], ['m1', 'm2']);
  assert.deepEqual([...ledger.byRole().keys()], ['planner', 'agent', 'reviewer']);
});

test('Ledger.fromEvents rebuilds the same totals from model_request events only', () => {
  const live = new Ledger();
  const events: JournalEvent[] = [];
  let seq = 0;
  for (const r of records) {
    live.record(r);
    events.push({ seq: ++seq, t: 1, type: 'note', taskId: null, message: 'noise' });
    events.push({ seq: ++seq, t: 1, type: 'model_request', attempts: 1, ...r });
  }
  events.push({
    seq: seq + 1,
    t: 1,
    type: 'model_request',
    role: 'agent',
    taskId: 't2',
    model: 'm2',
    endpoint: 'http://b/v1',
    ok: false,
    error: 'timeout',
    usage: null,
    timing: null,
    attempts: 3,
    cost: null,
  });
  const rebuilt = Ledger.fromEvents(events);
  assert.equal(rebuilt.run.requests, 6, 'a failed request still counts as a request');
  assert.equal(rebuilt.run.input, live.run.input);
  assert.deepEqual(rebuilt.task('t1'), live.task('t1'));
  assert.deepEqual(rebuilt.endpoint('http://a/v1'), live.endpoint('http://a/v1'));
  assert.equal(rebuilt.task('t2').requests, 2);
  assert.equal(rebuilt.records[5].ok, false);
});
