/**
 * Sliding-window tokens/s with a fake clock: requests spread over their generation time, the
 * window forgetting old work, per-task rates, and the one-a-second samples capped at 120.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RateMeter } from '../../src/app/rateMeter';

const timing = (durationMs: number, ttftMs: number | null) => ({ durationMs, ttftMs, outputTokensPerSec: null });

test('a request counts in the window for the part of its generation that falls there', () => {
  const meter = new RateMeter({ windowMs: 5000 });
  // 1000 tokens generated over 10 s (10.5 s request, first token after 0.5 s), ending at t=20 s.
  meter.record('a', 1000, 20_000, timing(10_500, 500));
  assert.equal(meter.taskRate('a', 20_000), 100, 'the last 5 s held 500 tokens: 100/s');
  assert.equal(meter.runRate(20_000), 100);
  assert.equal(meter.taskRate('a', 22_500), 50, 'half the window still overlaps');
  assert.equal(meter.taskRate('a', 25_001), 0, 'the window has moved past it');
  assert.equal(meter.taskRate('b', 20_000), 0, 'a task with no requests is idle');
});

test('requests without timing count as an instant; tasks add up to the run', () => {
  const meter = new RateMeter({ windowMs: 2000 });
  meter.record('a', 300, 1000, null);
  meter.record('b', 100, 1500, timing(1000, null));
  meter.record(null, 200, 1800, null); // the planner: the run's, no task's
  assert.equal(meter.taskRate('a', 2000), 150);
  assert.equal(meter.taskRate('b', 2000), 50);
  assert.equal(meter.runRate(2000), 300);
  assert.equal(meter.runRate(3600), 100, 'only the planner request is left in the window');
});

test('samples are one run rate each, oldest first, at most the configured number', () => {
  const meter = new RateMeter({ windowMs: 1000, maxSamples: 120 });
  for (let s = 1; s <= 150; s++) {
    meter.record('a', s, s * 1000, null);
    meter.sample(s * 1000);
  }
  const samples = meter.samples();
  assert.equal(samples.length, 120);
  assert.equal(samples[0], 31, 'the 30 oldest samples dropped');
  assert.equal(samples.at(-1), 150);
  samples.push(1);
  assert.equal(meter.samples().length, 120, 'callers get a copy');
});
