/**
 * The panel's tokens/s (src/app/rateMeter.ts) by the definition of src/core/throughput.ts: per
 * task and for the run over a sliding window while live, over the whole run otherwise, and the
 * chart's series computed from the requests, so a run opened from history has a chart too.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RateMeter } from '../../src/app/rateMeter';
import type { Usage } from '../../src/core/model';

const timing = (durationMs: number, ttftMs: number | null) => ({ durationMs, ttftMs, outputTokensPerSec: null });
const out = (completionTokens: number): Usage => ({
  promptTokens: 100,
  completionTokens,
  cachedTokens: null,
  reasoningTokens: null,
  estimated: false,
});

test('a request counts in the window for the part of its generation that falls there', () => {
  const meter = new RateMeter({ windowMs: 5000 });
  // 1000 tokens generated over 10 s (10.5 s request, first token after 0.5 s), ending at t=20 s.
  meter.record('a', 20_000, out(1000), timing(10_500, 500));
  assert.equal(meter.taskRate('a', 20_000), 100, 'the last 5 s held 500 tokens, all of it generating: 100/s');
  assert.equal(meter.runRate(20_000), 100);
  assert.equal(meter.taskRate('a', 22_500), 100, 'half the window generated, at the same 100/s');
  assert.equal(meter.taskRate('a', 25_001), 0, 'the window has moved past it: idle');
  assert.equal(meter.taskRate('b', 20_000), 0, 'a task with no requests is idle');
  assert.equal(meter.overallRate(), 100);
  assert.equal(meter.overallTaskRate('a'), 100);
  assert.equal(meter.overallTaskRate('b'), null);
});

test('answers that came whole are not timed: no spike, and no figure where nothing was timed', () => {
  const meter = new RateMeter({ windowMs: 2000 });
  meter.record('a', 1000, out(3000), timing(42, 40));
  meter.record('b', 1500, out(100), timing(1000, null));
  meter.record(null, 1800, out(200), null);
  assert.equal(meter.runRate(2000), 0);
  assert.equal(meter.overallRate(), null);
  assert.deepEqual(meter.samples(2000, true), [], 'no series to draw');
});

test('agents streaming at once add up; the planner counts for the run only', () => {
  const meter = new RateMeter({ windowMs: 5000 });
  meter.record('a', 10_000, out(400), timing(4100, 100));
  meter.record('b', 10_000, out(200), timing(4100, 100));
  meter.record(null, 10_000, out(100), timing(4100, 100));
  assert.equal(meter.taskRate('a', 10_000), 100);
  assert.equal(meter.taskRate('b', 10_000), 50);
  assert.equal(meter.runRate(10_000), 175, '700 tokens while something streamed for 4 s');
});

test('the chart series: one point a second up to now while live, up to the last output otherwise', () => {
  const meter = new RateMeter({ windowMs: 1000, maxSamples: 120 });
  for (let s = 1; s <= 150; s++) meter.record('a', s * 1000, out(s), timing(1100, 100));
  const live = meter.samples(150_000, true);
  assert.equal(live.length, 120);
  assert.equal(live[0], 31, 'the oldest points beyond two minutes are dropped');
  assert.equal(live.at(-1), 150);
  live.push(1);
  assert.equal(meter.samples(150_000, true).length, 120, 'callers get a copy');
  assert.deepEqual(meter.samples(400_000, false), meter.samples(150_000, true), 'finished: ends at its last output');
  assert.equal(meter.samples(400_000, true).at(-1), 0, 'live and idle: the line drops to 0');

  const short = new RateMeter({ windowMs: 5000 });
  short.record('a', 10_300, out(50), timing(600, 100));
  assert.equal(short.samples(10_400, true).length, 2, 'output under a second old still draws a line');
});
