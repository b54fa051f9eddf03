import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compactNumber, costText, liveText, money, outcomeText, sandboxWarning } from '../../src/host/statusText';
import { RunView } from '../../src/protocol/panel';
import type { TaskRow, TaskStatus } from '../../src/protocol/panel';

const USAGE = { input: 0, cached: 0, output: 0, cost: null, unpriced: false, estimated: false };
const NO_ACTIONS = {
  stop: false,
  accept: false,
  reject: false,
  requestChanges: false,
  diff: false,
  transcript: false,
  audit: false,
};

function task(id: string, status: TaskStatus): TaskRow {
  return {
    id,
    title: id,
    status,
    reason: null,
    step: 0,
    tool: null,
    dependsOn: [],
    elapsedMs: null,
    usage: USAGE,
    tokensPerSecond: 0,
    verification: null,
    review: null,
    merge: null,
    files: [],
    ask: null,
    changes: null,
    actions: NO_ACTIONS,
  };
}

/** A run as the protocol defines it (parsed, so the fixture cannot drift from the schema). */
function run(
  statuses: TaskStatus[],
  extra: {
    tokensPerSecond?: number | null;
    cost?: number | null;
    unpriced?: boolean;
    status?: RunView['status'];
    asks?: RunView['asks'];
  } = {},
): RunView {
  return RunView.parse({
    runId: 'r1',
    status: extra.status ?? 'running',
    message: null,
    live: true,
    spec: 's',
    model: null,
    endpoint: null,
    base: null,
    baseBranch: null,
    startedAt: null,
    finishedAt: null,
    usage: { ...USAGE, cost: extra.cost ?? null, unpriced: extra.unpriced ?? false },
    tokensPerSecond: extra.tokensPerSecond === undefined ? 0 : extra.tokensPerSecond,
    rate: [],
    budget: { tokens: null, cost: null },
    budgetHit: null,
    tasks: statuses.map((s, i) => task(`t${i}`, s)),
    asks: extra.asks ?? { tasks: 0, commands: 0 },
    counts: {},
    integration: { branch: 'foreman/r1/integration', verification: null, files: [] },
    holdForReview: false,
    applied: null,
    actions: { stopAll: true, apply: false, resume: false },
    telemetry: { backends: [], run: null, tasks: [] },
  });
}

test('numbers and money read at a glance', () => {
  assert.deepEqual([0, 2.5, 12.4, 950, 1234, 15_000, 3_400_000].map(compactNumber), [
    '0',
    '2.5',
    '12',
    '950',
    '1.2k',
    '15.0k',
    '3.4M',
  ]);
  assert.deepEqual([0, 0.04, 1.5, 0.00346, 0.0099, 0.00001].map(money), [
    '$0.00',
    '$0.04',
    '$1.50',
    '$0.0035',
    '$0.0099',
    '<$0.0001',
  ]);
});

test('the live item counts agents at work (setting up, working, verifying), tokens/s and spend', () => {
  const live = run(['setting_up', 'working', 'verifying', 'queued', 'verified', 'merged', 'failed'], {
    tokensPerSecond: 1234,
    cost: 0.04,
  });
  assert.equal(liveText(live), '$(sync~spin) Foreman: 3 agents · 1.2k tok/s · $0.04');
  assert.equal(
    liveText(run(['working'], { tokensPerSecond: 5 })),
    '$(sync~spin) Foreman: 1 agent · 5 tok/s',
    'nothing spent: no money shown',
  );
  assert.equal(
    liveText(run(['working'], { tokensPerSecond: null, cost: 0.04, unpriced: true })),
    '$(sync~spin) Foreman: 1 agent · – tok/s · $0.04 + unpriced',
    'a partly unpriced cost says so; an untimed rate is not 0',
  );
  assert.equal(
    liveText(run(['working'], { tokensPerSecond: 5, unpriced: true })),
    '$(sync~spin) Foreman: 1 agent · 5 tok/s · unpriced',
    'tokens spent without any price: never $0',
  );
  assert.equal(
    liveText(run(['working', 'working'], { asks: { tasks: 2, commands: 1 } })),
    '$(shield) Foreman: 2 waiting for approval · 2 agents · 0 tok/s',
    'agents waiting for approval come first',
  );
});

test('a finished run shows its outcome', () => {
  assert.equal(outcomeText(run([], { status: 'completed' })), '$(check) Foreman: run completed');
  assert.equal(outcomeText(run([], { status: 'review' })), '$(eye) Foreman: run review');
  assert.equal(outcomeText(run([], { status: 'failed' })), '$(warning) Foreman: run failed');
});

test('between runs the item warns when agent commands would not be confined', () => {
  assert.equal(sandboxWarning('on'), null);
  assert.equal(sandboxWarning('off'), '$(warning) Foreman: sandbox off');
  assert.match(sandboxWarning('unavailable') ?? '', /no sandbox, agent commands refused/);
});

test('a cost says when some requests had no price, and a missing price is never $0', () => {
  assert.equal(costText({ cost: 0.04, unpriced: false }), '$0.04');
  assert.equal(costText({ cost: 0.04, unpriced: true }), '$0.04 + unpriced');
  assert.equal(costText({ cost: null, unpriced: true }), 'unpriced');
  assert.equal(costText({ cost: null, unpriced: false }), null, 'nothing spent: nothing to say');
});
