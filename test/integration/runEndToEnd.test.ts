/**
 * The good path, end to end: `foreman run` as a real child process against the scripted server
 * over HTTP, in a real temporary git repository. A plan of three tasks (two independent, one after
 * both) is worked on worktrees outside the repository, verified by a real check, merged into the
 * integration branch, verified there, and applied onto the developer's branch.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { JournalEvent } from '../../src/core/journal';
import type { Reply, ScriptedServer } from '../../src/scripted/server';
import { text, toolCall } from '../../src/scripted/scenario';
import type { Scenario } from '../../src/scripted/scenario';
import {
  latestRunId,
  makeRepo,
  planReply,
  rawTask,
  readRun,
  requestsFor,
  runCli,
  startServer,
  statusHistory,
} from './runHarness';
import type { TempRepo } from './runHarness';
import { contentText } from '../../src/scripted/wire';

const SPEC = 'Add a shout helper and a double helper, then a report that uses both.';
const CHECK = ['--check', 'test=node --test'];

const FILES = {
  strings: "'use strict';\nmodule.exports = { shout: (s) => `${s.toUpperCase()}!` };\n",
  stringsTest:
    "'use strict';\nconst test = require('node:test');\nconst assert = require('node:assert/strict');\nconst { shout } = require('../src/strings');\ntest('shout', () => assert.equal(shout('hi'), 'HI!'));\n",
  numbers: "'use strict';\nmodule.exports = { double: (n) => n * 2 };\n",
  numbersTest:
    "'use strict';\nconst test = require('node:test');\nconst assert = require('node:assert/strict');\nconst { double } = require('../src/numbers');\ntest('double', () => assert.equal(double(21), 42));\n",
  report:
    "'use strict';\nconst { shout } = require('./strings');\nconst { double } = require('./numbers');\nmodule.exports = { report: (name, n) => `${shout(name)} ${double(n)}` };\n",
  reportTest:
    "'use strict';\nconst test = require('node:test');\nconst assert = require('node:assert/strict');\nconst { report } = require('../src/report');\ntest('report', () => assert.equal(report('ann', 2), 'ANN! 4'));\n",
};

const TASKS = [
  rawTask('strings', { title: 'Shout helper', files: ['src/strings.js', 'test/strings.test.js'] }),
  rawTask('numbers', { title: 'Double helper', files: ['src/numbers.js', 'test/numbers.test.js'] }),
  rawTask('report', {
    title: 'Report using both',
    files: ['src/report.js', 'test/report.test.js'],
    dependsOn: ['strings', 'numbers'],
  }),
];

/** An agent that writes its module and test, runs the tests, and finishes. */
function agentScript(src: string, srcText: string, testPath: string, testText: string, first: Reply[] = []): Reply[] {
  return [
    ...first,
    toolCall('write_file', { path: src, content: srcText }),
    toolCall('write_file', { path: testPath, content: testText }),
    toolCall('run_command', { command: 'node --test' }),
    toolCall('finish', { summary: `Added ${src} with its test; node --test passes.` }),
  ];
}

const SCENARIO: Scenario = {
  planner: [planReply(TASKS)],
  agents: {
    strings: agentScript('src/strings.js', FILES.strings, 'test/strings.test.js', FILES.stringsTest),
    numbers: agentScript('src/numbers.js', FILES.numbers, 'test/numbers.test.js', FILES.numbersTest),
    // The dependent task first reads a file only the integration branch has.
    report: agentScript('src/report.js', FILES.report, 'test/report.test.js', FILES.reportTest, [
      toolCall('read_file', { path: 'src/strings.js' }),
    ]),
  },
  reviewer: [text(JSON.stringify({ approved: true, comments: 'Looks right.' }))],
};

function ofType<T extends JournalEvent['type']>(events: JournalEvent[], type: T): Extract<JournalEvent, { type: T }>[] {
  return events.filter((e): e is Extract<JournalEvent, { type: T }> => e.type === type);
}

function firstAt(events: JournalEvent[], taskId: string, status: string): number {
  const hit = statusHistory(events, taskId).find((s) => s.status === status);
  assert.ok(hit, `${taskId} never reached ${status}`);
  return hit.t;
}

async function withRun(fn: (repo: TempRepo, server: ScriptedServer) => Promise<void>): Promise<void> {
  const repo = makeRepo();
  const server = await startServer(SCENARIO);
  try {
    await fn(repo, server);
  } finally {
    await server.close();
    repo.cleanup();
  }
}

test(
  'a three-task plan runs in parallel, merges, verifies and applies without touching the checkout',
  { timeout: 60_000 },
  async () => {
    await withRun(async (repo, server) => {
      const before = repo.snapshot();
      const run = await runCli(['run', SPEC, '--concurrency', '2', '--price', '1,0.1,2', ...CHECK], { repo, server });
      assert.equal(run.code, 0, run.stderr);
      assert.deepEqual(repo.snapshot(), before, 'the developer checkout changed during the run');

      const runId = await latestRunId(repo);
      const { events, state } = await readRun(repo, runId);
      assert.equal(state.status, 'completed');
      for (const t of TASKS) assert.equal(state.tasks.get(t.id)?.status, 'merged', t.id);
      assert.equal(state.integration.last?.status, 'passed');
      for (const id of ['strings', 'numbers', 'report'])
        assert.equal(state.tasks.get(id)?.verification.last?.status, 'passed');

      // Worktrees outside the checkout, on foreman/<run>/<task>.
      for (const wt of ofType(events, 'task_worktree')) {
        assert.ok(wt.path.startsWith(repo.worktreeRoot + '/'), `${wt.path} is not under the worktree root`);
        assert.ok(!wt.path.startsWith(repo.root + '/'), `${wt.path} is inside the checkout`);
        assert.equal(wt.branch, `foreman/${runId}/${wt.taskId}`);
      }

      // The two independent tasks overlapped: each started working before the other was verified.
      const [sStart, sEnd] = [firstAt(events, 'strings', 'working'), firstAt(events, 'strings', 'verified')];
      const [nStart, nEnd] = [firstAt(events, 'numbers', 'working'), firstAt(events, 'numbers', 'verified')];
      assert.ok(
        Math.max(sStart, nStart) < Math.min(sEnd, nEnd),
        `no overlap: strings ${sStart}-${sEnd}, numbers ${nStart}-${nEnd}`,
      );

      // The dependent task started after both merges, from the integration head that held them.
      const merges = ofType(events, 'merge');
      const mergedAt = Math.max(firstAt(events, 'strings', 'merged'), firstAt(events, 'numbers', 'merged'));
      assert.ok(firstAt(events, 'report', 'setting_up') >= mergedAt);
      const reportFrom = ofType(events, 'task_worktree').find((w) => w.taskId === 'report')?.from;
      const secondMerge = merges
        .filter((m) => m.taskId !== 'report')
        .map((m) => m.commit)
        .at(-1);
      assert.equal(reportFrom, secondMerge);
      const readReply = requestsFor(server, 'agent', 'report')[1].body.messages.at(-1);
      assert.ok(readReply);
      assert.match(contentText(readReply), /toUpperCase/, 'report could not read strings.js in its worktree');

      // The integration branch holds every task's files and one merge commit per task.
      const integration = `foreman/${runId}/integration`;
      const tree = repo.git(['ls-tree', '-r', '--name-only', integration]).split('\n');
      for (const t of TASKS) for (const f of t.files) assert.ok(tree.includes(f), `${f} missing on ${integration}`);
      const mergeSubjects = repo.git(['log', '--merges', '--format=%s', integration]).trim().split('\n');
      for (const t of TASKS)
        assert.ok(
          mergeSubjects.includes(`Merge foreman task ${t.id}: ${t.title}`),
          `no merge commit for ${t.id}: ${mergeSubjects.join(' | ')}`,
        );
      assert.deepEqual(
        merges.map((m) => m.ok),
        [true, true, true],
      );

      await checkStatusAgreesWithJournal(repo, server, runId, events);
      checkSharedPrefix(server);
      await checkApply(repo, runId, before.head);
    });
  },
);

/** `foreman status --json` against sums of the journal's model_request events, and the server's counts. */
async function checkStatusAgreesWithJournal(
  repo: TempRepo,
  server: ScriptedServer,
  runId: string,
  events: JournalEvent[],
): Promise<void> {
  const status = await runCli(['status', runId, '--json'], { repo, server });
  assert.equal(status.code, 0, status.stderr);
  const json = JSON.parse(status.stdout) as { status: string; usage: Totals; tasks: { id: string; usage: Totals }[] };
  assert.equal(json.status, 'completed');
  const requests = ofType(events, 'model_request');
  const sum = (rs: typeof requests): Totals & { cost: number } => ({
    requests: rs.length,
    input: rs.reduce((a, r) => a + (r.usage?.promptTokens ?? 0), 0),
    cached: rs.reduce((a, r) => a + (r.usage?.cachedTokens ?? 0), 0),
    output: rs.reduce((a, r) => a + (r.usage?.completionTokens ?? 0), 0),
    cost: rs.reduce((a, r) => a + (r.cost ?? 0), 0),
  });
  const pick = (t: Totals) => ({ requests: t.requests, input: t.input, cached: t.cached, output: t.output });
  for (const task of json.tasks) {
    const own = sum(requests.filter((r) => r.taskId === task.id));
    assert.deepEqual(pick(task.usage), pick(own), `task ${task.id}`);
    assert.ok(Math.abs((task.usage.cost ?? 0) - own.cost) < 1e-12, `task ${task.id} cost`);
    assert.ok(own.cost > 0);
    const booked = requests.filter((r) => r.taskId === task.id && r.role === 'agent').length;
    assert.equal(
      booked,
      requestsFor(server, 'agent', task.id).length,
      `task ${task.id}: agent requests booked vs served`,
    );
  }
  const all = sum(requests);
  assert.deepEqual(pick(json.usage), pick(all));
  assert.equal(json.usage.requests, server.requests.length);
  assert.ok(Math.abs((json.usage.cost ?? 0) - all.cost) < 1e-12);
  assert.ok(all.cached > 0, 'the prefix cache simulation reported no cached tokens');
}

interface Totals {
  requests: number;
  input: number;
  cached: number;
  output: number;
  cost: number | null;
}

/** Every agent request starts with the same system message and the same tools array. */
function checkSharedPrefix(server: ScriptedServer): void {
  const agents = requestsFor(server, 'agent');
  assert.ok(agents.length >= 12, `only ${agents.length} agent requests`);
  const system = JSON.stringify(agents[0].body.messages[0]);
  const tools = JSON.stringify(agents[0].body.tools);
  assert.match(system, /"role":"system"/);
  for (const r of agents) {
    assert.equal(JSON.stringify(r.body.messages[0]), system);
    assert.equal(JSON.stringify(r.body.tools), tools);
  }
}

/** Squash apply gives one commit with every file; after resetting, --mode merge gives a merge. */
async function checkApply(repo: TempRepo, runId: string, base: string): Promise<void> {
  const squash = await runCli(['apply', runId], { repo });
  assert.equal(squash.code, 0, squash.stderr);
  assert.equal(repo.git(['rev-parse', 'HEAD~1']).trim(), base);
  assert.equal(repo.git(['rev-list', '--count', `${base}..HEAD`]).trim(), '1');
  assert.equal(repo.git(['symbolic-ref', '--short', 'HEAD']).trim(), 'main');
  assert.equal(repo.git(['log', '-1', '--format=%P']).trim().split(' ').length, 1);
  const changed = repo.git(['diff', '--name-only', base, 'HEAD']).trim().split('\n').sort();
  assert.deepEqual(changed, TASKS.flatMap((t) => t.files).sort());
  assert.equal(repo.git(['status', '--porcelain']), '');
  assert.equal(repo.read('src/report.js'), FILES.report);

  repo.git(['reset', '-q', '--hard', base]);
  const merge = await runCli(['apply', runId, '--mode', 'merge'], { repo });
  assert.equal(merge.code, 0, merge.stderr);
  const parents = repo.git(['log', '-1', '--format=%P']).trim().split(' ');
  assert.deepEqual(parents, [base, repo.git(['rev-parse', `foreman/${runId}/integration`]).trim()]);
  assert.equal(repo.git(['status', '--porcelain']), '');
}

test(
  'a saved plan edited by hand is what runs; a plan with a cycle is refused with exit 2',
  { timeout: 60_000 },
  async () => {
    await withRun(async (repo, server) => {
      const planFile = join(repo.tmp, 'plan.json');
      const plan = await runCli(['plan', SPEC, '--out', planFile], { repo, server });
      assert.equal(plan.code, 0, plan.stderr);
      const saved = JSON.parse(readFileSync(planFile, 'utf8')) as {
        tasks: { id: string; title: string; dependsOn: string[] }[];
      };
      assert.deepEqual(
        saved.tasks.map((t) => t.id),
        ['strings', 'numbers', 'report'],
      );

      saved.tasks = saved.tasks.filter((t) => t.id !== 'report');
      saved.tasks[0].title = 'Shout helper, renamed by hand';
      writeFileSync(planFile, JSON.stringify(saved, null, 2));
      const plannerCalls = requestsFor(server, 'planner').length;
      const run = await runCli(['run', '--plan', planFile, '--no-review', ...CHECK], { repo, server });
      assert.equal(run.code, 0, run.stderr);
      assert.equal(requestsFor(server, 'planner').length, plannerCalls, 'run --plan asked the planner again');
      const { state } = await readRun(repo, await latestRunId(repo));
      assert.deepEqual([...state.tasks.keys()], ['strings', 'numbers']);
      assert.equal(state.plan?.tasks[0].title, 'Shout helper, renamed by hand');
      assert.equal(requestsFor(server, 'agent', 'report').length, 0);
      const subject = repo.git(['log', '-1', '--format=%s', `foreman/${state.runId}/strings`]).trim();
      assert.equal(subject, 'foreman(strings): Shout helper, renamed by hand');

      saved.tasks[0].dependsOn = ['numbers'];
      saved.tasks[1].dependsOn = ['strings'];
      writeFileSync(planFile, JSON.stringify(saved, null, 2));
      const runsBefore = repo.git(['branch', '--list', 'foreman/*']);
      const cyclic = await runCli(['run', '--plan', planFile, ...CHECK], { repo, server });
      assert.equal(cyclic.code, 2, cyclic.stderr);
      assert.match(cyclic.stderr, /cycle: (strings → numbers → strings|numbers → strings → numbers)/);
      assert.equal(repo.git(['branch', '--list', 'foreman/*']), runsBefore, 'a refused plan created branches');
    });
  },
);
