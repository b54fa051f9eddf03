import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ForemanWorktree } from '../../src/core/repoPort';
import { worktreesToRemove } from '../../src/core/retention';
import type { RunFacts } from '../../src/core/retention';

const DAY = 86_400_000;
const now = 100 * DAY;
const wt = (runId: string, taskId = 'a'): ForemanWorktree => ({
  path: `/wt/${runId}/${taskId}`,
  branch: `foreman/${runId}/${taskId}`,
  runId,
  taskId,
});
const policy = { keepFinishedRuns: 1, abandonedAfterDays: 7 };

test('keeps the newest finished runs and removes older ones', () => {
  const runs = new Map<string, RunFacts | null>([
    ['old', { status: 'completed', lastEventAt: now - 3 * DAY, live: false }],
    ['new', { status: 'failed', lastEventAt: now - DAY, live: false }],
  ]);
  const removed = worktreesToRemove([wt('old'), wt('old', 'b'), wt('new')], runs, policy, now);
  assert.deepEqual(
    removed.map((r) => r.worktree.path),
    ['/wt/old/a', '/wt/old/b'],
  );
  assert.match(removed[0].reason, /older than the 1 newest/);
});

test('interrupted runs are kept for resume until abandoned; live and journal-less runs', () => {
  const runs = new Map<string, RunFacts | null>([
    ['recent', { status: 'interrupted', lastEventAt: now - 2 * DAY, live: false }],
    ['stale', { status: 'budget', lastEventAt: now - 8 * DAY, live: false }],
    ['live', { status: 'interrupted', lastEventAt: now - 30 * DAY, live: true }],
    ['orphan', null],
  ]);
  const removed = worktreesToRemove([wt('recent'), wt('stale'), wt('live'), wt('orphan')], runs, policy, now);
  assert.deepEqual(
    removed.map((r) => r.worktree.runId),
    ['stale', 'orphan'],
  );
  assert.match(removed[0].reason, /abandoned/);
  assert.match(removed[1].reason, /no journal/);
});
