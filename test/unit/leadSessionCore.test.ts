/**
 * The Lead session's state: every method that changes it signals the change exactly once (a
 * line dismissed twice changes, and signals, once), and the state it leaves is what it says; the log
 * of notices keeps the latest thirty and says a repeat once.
 * Runs on a host of plain objects with no folder, so nothing touches git or a server.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { LeadHost, LeadSettings } from '../../src/app/leadHost';
import { MEMORY_KEYS } from '../../src/app/leadOptions';
import { newDraft } from '../../src/app/planDraft';
import { MAX_NOTICES, Notices } from '../../src/app/notices';
import { SessionCore } from '../../src/app/sessionCore';
import { validatePlan } from '../../src/core/planGraph';
import { DEFAULT_POLICY } from '../../src/core/commandPolicy';
import { DEFAULT_SANDBOX_SETTINGS } from '../../src/core/sandbox';

const SETTINGS: LeadSettings = {
  backends: [{ name: 'box', baseUrl: 'http://127.0.0.1:9/v1', models: ['m1', 'm2'] }],
  defaultBackend: null,
  roles: {},
  concurrency: 2,
  holdForReview: false,
  budgets: { runTokens: null, runCost: null, taskTokens: null, taskCost: null },
  checks: [],
  review: false,
  worktreeRoot: null,
  retention: { keepFinishedRuns: 3, abandonedAfterDays: 7 },
  setup: { command: null, include: null },
  commandPolicy: DEFAULT_POLICY,
  approvalTimeoutMs: 300_000,
  maxSteps: 10,
  maxTasks: 10,
  maxRepairRounds: 1,
  dirty: 'refuse',
  sandbox: { ...DEFAULT_SANDBOX_SETTINGS },
};

function host(memory = new Map<string, unknown>()): LeadHost {
  return {
    folder: null,
    isTrusted: () => true,
    readSettings: () => SETTINGS,
    apiKey: async () => undefined,
    addBackend: async () => undefined,
    memory: { get: <T>(key: string) => memory.get(key) as T | undefined, set: async (k, v) => void memory.set(k, v) },
    log: () => undefined,
    withProgress: (_title, work) => work(new AbortController().signal),
  };
}

/** A core and the number of signals it has sent. */
function counted(memory?: Map<string, unknown>): { core: SessionCore; signals: () => number } {
  const core = new SessionCore(host(memory), {});
  let n = 0;
  core.onChange(() => n++);
  return { core, signals: () => n };
}

function draft() {
  const checked = validatePlan(
    { tasks: [{ id: 'a', title: 'A', instructions: 'Do a.', acceptance: [], files: [], dependsOn: [] }] },
    'spec',
  );
  assert.ok(checked.ok);
  return newDraft(checked.plan, 'view', [], {});
}

test('each change of the spec, the options and the notices signals once', async () => {
  const memory = new Map<string, unknown>();
  const { core, signals } = counted(memory);
  await core.editSpec('build it');
  assert.equal(core.spec, 'build it');
  assert.equal(memory.get(MEMORY_KEYS.spec), 'build it', 'remembered');
  assert.equal(signals(), 1);
  await core.choose({ concurrency: 3 });
  assert.equal(core.options().concurrency, 3);
  assert.deepEqual(memory.get(MEMORY_KEYS.options), { concurrency: 3 });
  assert.equal(signals(), 2);
  core.notify('info', 'hello');
  const id = core.notices[0].id;
  assert.equal(signals(), 3);
  core.dismissNotice(id);
  core.dismissNotice(id);
  assert.equal(core.noticesSeen, id, 'the line is dismissed');
  assert.deepEqual(
    core.notices.map((n) => n.text),
    ['hello'],
    'the log keeps it',
  );
  assert.equal(signals(), 4, 'a line already dismissed changes nothing and signals nothing');
});

test('the log: the latest said again is brought back, not added; it keeps the last thirty; each knows its run', () => {
  let now = 1000;
  const { core } = counted();
  const notices = new Notices(
    () => undefined,
    () => now,
  );
  notices.add('info', 'Run r1 started.', { runId: 'r1' });
  now = 2000;
  const first = notices.add('info', 'Task a waits for your review in run r1.', { runId: 'r1', outcome: true });
  notices.dismiss(first);
  now = 3000;
  const again = notices.add('info', 'Task a waits for your review in run r1.', { runId: 'r1', outcome: true });
  const log = notices.list();
  assert.equal(log.length, 2, 'one line for the same words twice');
  assert.deepEqual(log.at(-1), {
    id: again,
    kind: 'info',
    text: 'Task a waits for your review in run r1.',
    at: 3000,
    runId: 'r1',
    outcome: true,
  });
  assert.ok(again > notices.seen, 'brought back to the line after it was dismissed');
  for (let i = 0; i < 40; i++) notices.add('warning', `event ${i}`);
  assert.equal(notices.list().length, MAX_NOTICES);
  assert.equal(notices.list().at(-1)?.text, 'event 39');
  core.notify('error', 'Run r2 failed.', { runId: 'r2', outcome: true });
  assert.deepEqual(
    core.notices.map((n) => [n.runId, n.outcome]),
    [['r2', true]],
  );
});

test('discovery, planning and the draft signal each change', () => {
  const { core, signals } = counted();
  core.discoveryStarted();
  assert.equal(core.discovery.scanning, true);
  core.discoveryEnded(null);
  assert.deepEqual(
    core.discovery,
    { scanning: false, found: [], scannedAt: null },
    'a failed scan keeps the last result',
  );
  assert.equal(signals(), 2);

  const first = draft();
  core.setDraft(first);
  const abort = new AbortController();
  core.planningStarted('Asking m1…', abort, false);
  assert.equal(core.planning?.message, 'Asking m1…');
  assert.equal(core.draft, first, 'a revision keeps the plan it revises');
  core.planningEnded(new AbortController(), null);
  assert.equal(core.planning?.abort, abort, 'another planner ending does not end this one');
  core.planningEnded(abort, null);
  assert.equal(core.planning, null);
  assert.equal(core.draft, first, 'a planner ending with no plan leaves the plan under review');
  core.planningStarted('Asking m1…', new AbortController(), true);
  assert.equal(core.draft, null, 'a fresh plan drops the plan under review');
  assert.equal(signals(), 7);
});

test('the end of a run start is signalled whether it worked or not', async () => {
  const { core, signals } = counted();
  await core.whileStarting(async () => assert.equal(core.starting, true));
  assert.equal(core.starting, false);
  await assert.rejects(
    core.whileStarting(async () => {
      throw new Error('no server');
    }),
    /no server/,
  );
  assert.equal(core.starting, false);
  assert.equal(signals(), 2);
  core.closeBoard();
  assert.equal(signals(), 3, 'closing an empty board still says so');
});
