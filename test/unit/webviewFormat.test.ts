import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  firstLine,
  formatCost,
  formatCount,
  formatDuration,
  formatMoment,
  formatRate,
  formatTotalTokens,
  formatUsage,
  formatUsageCost,
  plural,
} from '../../src/webview/format';

test('counts read compactly with at most one decimal', () => {
  assert.equal(formatCount(0), '0');
  assert.equal(formatCount(999), '999');
  assert.equal(formatCount(999.6), '1k');
  assert.equal(formatCount(1000), '1k');
  assert.equal(formatCount(1234), '1.2k');
  assert.equal(formatCount(12_345), '12.3k');
  assert.equal(formatCount(123_456), '123k');
  assert.equal(formatCount(999_999), '1M');
  assert.equal(formatCount(4_560_000), '4.6M');
  assert.equal(formatCount(2_000_000_000), '2B');
  assert.equal(formatCount(Number.NaN), '—');
});

test('money keeps three significant digits below ten cents, cents above', () => {
  assert.equal(formatCost(null), '—');
  assert.equal(formatCost(0), '$0');
  assert.equal(formatCost(0.00001), '<$0.0001');
  assert.equal(formatCost(0.0123), '$0.0123');
  assert.equal(formatCost(0.012345), '$0.0123');
  assert.equal(formatCost(0.5), '$0.50');
  assert.equal(formatCost(12.5), '$12.50');
  assert.equal(formatCost(1234), '$1.2k');
});

test('durations: seconds, then minutes and padded seconds, then hours and padded minutes', () => {
  assert.equal(formatDuration(-5), '0s');
  assert.equal(formatDuration(999), '0s');
  assert.equal(formatDuration(42_000), '42s');
  assert.equal(formatDuration(65_000), '1m 05s');
  assert.equal(formatDuration(3_600_000 + 3 * 60_000 + 59_000), '1h 03m');
});

test('rates, usages and totals', () => {
  assert.equal(formatRate(0), '0 tok/s');
  assert.equal(formatRate(4.25), '4.3 tok/s');
  assert.equal(formatRate(42.4), '42 tok/s');
  assert.equal(formatRate(1234), '1.2k tok/s');
  assert.equal(formatRate(null), '— tok/s', 'nothing timed: no figure, not 0');
  assert.equal(
    formatUsage({ input: 12_300, cached: 8000, output: 1200, estimated: false }),
    '12.3k in · 8k cached · 1.2k out',
  );
  assert.equal(formatUsage({ input: 10, cached: 0, output: 5, estimated: true }), '≈ 10 in · 0 cached · 5 out');
  assert.equal(formatTotalTokens({ input: 1500, output: 500 }), '2k tokens');
});

test('moments name the day only when it is not today', () => {
  const now = new Date(2025, 5, 12, 18, 0).getTime();
  assert.equal(formatMoment(new Date(2025, 5, 12, 9, 5).getTime(), now), '09:05');
  assert.equal(formatMoment(new Date(2025, 2, 4, 14, 30).getTime(), now), 'Mar 4, 14:30');
  assert.equal(formatMoment(new Date(2024, 11, 31, 23, 59).getTime(), now), 'Dec 31 2024, 23:59');
});

test('first line skips blank lines and cuts with an ellipsis', () => {
  assert.equal(firstLine('\n\n  Add a flag \nmore'), 'Add a flag');
  assert.equal(firstLine('abcdefghij', 6), 'abcde…');
  assert.equal(firstLine(''), '');
  assert.equal(plural(1, 'task'), '1 task');
  assert.equal(plural(3, 'task'), '3 tasks');
});

test('a cost says when prices were missing, and is never $0 for a missing price', () => {
  assert.equal(formatUsageCost({ cost: 0.0012, unpriced: false }), '$0.0012');
  assert.equal(formatUsageCost({ cost: 0.0012, unpriced: true }), '$0.0012 + unpriced part');
  assert.equal(formatUsageCost({ cost: null, unpriced: true }), 'unpriced');
  assert.equal(formatUsageCost({ cost: null, unpriced: false }), '—', 'nothing spent yet');
});
