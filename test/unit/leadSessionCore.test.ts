/**
 * The Lead session's state: every method that changes it signals the change exactly once (a
 * notice dismissed twice changes, and signals, once), and the state it leaves is what it says.
 * Runs on a host of plain objects with no folder, so nothing touches git or a server.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { LeadHost, LeadSettings } from '../../src/app/leadHost';
import { MEMORY_KEYS } from '../../src/app/leadOptions';
import { newDraft } from '../../src/app/planDraft';
import { SessionCore } from '../../src/app/sessionCore';
import { validatePlan } from '../../src/core/planGraph';
import { DEFAULT_POLICY } from '../../src/core/commandPolicy';
import { DEFAULT_SANDBOX_SETTINGS } from '../../src/core/sandbox';

const SETTINGS: LeadSettings = {
  backends: [{ name: 'box', baseUrl: 'http://127.0.0.1:9/v1', models: ['m1', 'm2'] }],
  defaultBackend: null,
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
  assert.deepEqual(core.notices, []);
  assert.equal(signals(), 4, 'a notice already gone changes nothing and signals nothing');
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
