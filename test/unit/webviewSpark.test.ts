import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sparkPoints, sparkSpan } from '../../src/webview/sparkGeometry';

const FRAME = { width: 120, height: 32, capacity: 120 };

const xs = (points: string) => points.split(' ').map((p) => Number(p.split(',')[0]));
const ys = (points: string) => points.split(' ').map((p) => Number(p.split(',')[1]));

test('a short series spans the whole chart: first reading at the left edge, newest at the right', () => {
  // Fifteen polls: half a minute of a run at one poll every two seconds.
  const values = Array.from({ length: 15 }, (_, i) => i % 3);
  const line = sparkPoints(values, 2, sparkSpan([values], FRAME.capacity), FRAME);
  const x = xs(line);
  assert.equal(x.length, 15);
  assert.equal(x[0], 0);
  assert.equal(x.at(-1), 120);
  assert.deepEqual(ys(line).slice(0, 3), [32, 16, 0]);
});

test('past the capacity the chart shows the last 120 readings, and scrolls', () => {
  const values = Array.from({ length: 200 }, (_, i) => i);
  const line = sparkPoints(values, 200, sparkSpan([values], FRAME.capacity), FRAME);
  const x = xs(line);
  assert.equal(x.length, 120);
  assert.equal(x[0], 0);
  assert.equal(x.at(-1), 120);
  assert.equal(ys(line)[0], Number((32 - (80 / 200) * 32).toFixed(1)), 'the oldest shown is reading 80');
});

test('lines of one chart share the longest one’s scale, each ending at the right edge', () => {
  const running = [1, 2, 3, 4, 5];
  const waiting = [0, 1];
  const span = sparkSpan([running, waiting], FRAME.capacity);
  assert.equal(span, 5);
  assert.deepEqual(xs(sparkPoints(running, 5, span, FRAME)), [0, 30, 60, 90, 120]);
  assert.deepEqual(xs(sparkPoints(waiting, 5, span, FRAME)), [90, 120]);
});

test('fewer than two readings draw nothing; negative values sit at the floor', () => {
  assert.equal(sparkPoints([], 1, 0, FRAME), '');
  assert.equal(sparkPoints([3], 4, 1, FRAME), '');
  assert.deepEqual(ys(sparkPoints([-1, 1], 1, 2, FRAME)), [32, 0]);
});
