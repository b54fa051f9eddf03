/**
 * Whole runs down their bad paths: a planner that answers badly, checks that fail (and are
 * repaired, or not), a backend that misbehaves or is down, and two tasks that conflict at merge.
 * Real git repositories in a temp dir, the real test server over HTTP, the real engine (or the
 * CLI as a child process), the real openai SDK.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { JournalEvent } from '../../src/core/journal';
import type { Plan } from '../../src/core/plan';
import type { RunState } from '../../src/core/runState';
import type { JournalFile } from '../../src/infra/journalFile';
import { listRunIds } from '../../src/infra/journalFile';
import { savePlan } from '../../src/infra/planFile';
import { text, toolCall } from '../../src/scripted/scenario';
import type { Scenario } from '../../src/scripted/scenario';
import type { ScriptedServer } from '../../src/scripted/server';
import {
  createEngine,
  engineParts,
  latestRunId,
  makePlan,
  makeRepo,
  NODE_TEMPLATE,
  planReply,
  rawTask,
  readRun,
  requestsFor,
  runCli,
  startServer,
  stateDir,
} from './runHarness';
import type { EngineOptions, EngineParts, TempRepo } from './runHarness';

/** An in-process run of `plan` to its end, with the journal read back from disk. */
async function runEngine(
  repo: TempRepo,
  server: ScriptedServer,
  plan: Plan,
  opts: EngineOptions,
  tweak: (parts: EngineParts) => void = () => undefined,
): Promise<{ state: RunState; events: JournalEvent[]; runId: string }> {
  const parts = await engineParts(repo, server, { ...opts, flags: { review: false, ...opts.flags } });
  tweak(parts);
  try {
    const engine = await createEngine(parts, plan);
    const state = await engine.run();
    const { events } = await readRun(repo, parts.config.runId);
    return { state, events, runId: parts.config.runId };
  } finally {
    (parts.deps.journal as JournalFile).close();
  }
}

/** The text of the last message of a recorded request. */
function lastMessage(
  server: ScriptedServer,
  index: number,
  role: 'agent' | 'planner',
  task?: string,
): { role: string; text: string } {
  const req = requestsFor(server, role, task)[index];
  assert.ok(req, `no ${role} request #${index}${task ? ` for ${task}` : ''}`);
  const m = req.body.messages.at(-1)!;
  return { role: m.role, text: typeof m.content === 'string' ? m.content : JSON.stringify(m.content) };
}

/** Branches and worktrees of the repository, for "nothing was created" checks. */
function gitLeftovers(repo: TempRepo): { branches: string[]; worktrees: number; refs: string } {
  const branches = repo.git(['branch', '--format=%(refname:short)']).split('\n').filter(Boolean);
  const worktrees = repo
    .git(['worktree', 'list', '--porcelain'])
    .split('\n')
    .filter((l) => l.startsWith('worktree ')).length;
  return { branches, worktrees, refs: repo.git(['for-each-ref', 'refs/foreman']).trim() };
}

function tasksOf(events: JournalEvent[], type: JournalEvent['type'], taskId: string): JournalEvent[] {
  return events.filter((e) => e.type === type && 'taskId' in e && e.taskId === taskId);
}

// --- 1. The planner's invalid answers ---------------------------------------------------------

test('an invalid plan is repaired on the second answer and the run proceeds', async () => {
  const repo = makeRepo();
  const server = await startServer({
    planner: [
      planReply([rawTask('greet', { files: ['greet.txt'], dependsOn: ['nowhere'] })]),
      planReply([rawTask('greet', { files: ['greet.txt'] })]),
    ],
    agents: {
      greet: [
        toolCall('write_file', { path: 'greet.txt', content: 'hello\n' }),
        toolCall('finish', { summary: 'greeted' }),
      ],
    },
  });
  try {
    const r = await runCli(['run', 'Write a greeting', '--no-checks', '--no-review'], { repo, server });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /first answer was invalid; its repair was accepted/);
    assert.equal(requestsFor(server, 'planner').length, 2);
    const repair = lastMessage(server, 1, 'planner');
    assert.equal(repair.role, 'user');
    assert.match(repair.text, /not valid/);
    assert.match(repair.text, /nowhere/, 'the repair turn names the unknown dependency');
    const { state } = await readRun(repo, await latestRunId(repo));
    assert.equal(state.status, 'completed');
    assert.equal(state.tasks.get('greet')?.status, 'merged');
    assert.equal(repo.git(['show', `foreman/${state.runId}/integration:greet.txt`]), 'hello\n');
  } finally {
    await server.close();
    repo.cleanup();
  }
});

test('a plan invalid twice: plan and run exit 1 listing the errors, and nothing is created', async () => {
  const repo = makeRepo();
  const dup = rawTask('dup', { files: ['a.txt'] });
  const scenario: Scenario = {
    planner: [
      text('Sure! Here is the plan: tasks: dup, loop'),
      planReply([dup, dup, rawTask('loop', { dependsOn: ['loop'] })]),
    ],
  };
  for (const command of ['plan', 'run']) {
    const server = await startServer(scenario);
    try {
      const r = await runCli([command, 'Do two things', '--no-checks'], { repo, server });
      assert.equal(r.code, 1, `${command}: ${r.stderr}`);
      assert.match(r.stderr, /Planning failed: The planner did not produce a valid plan, even after one repair turn/);
      const listed = r.stderr.split('\n').filter((l) => l.startsWith('  - '));
      assert.ok(listed.length >= 2, `${command} lists every validation error:\n${r.stderr}`);
      assert.ok(
        listed.some((l) => /dup/.test(l)),
        'the duplicate id is named',
      );
      assert.ok(
        listed.some((l) => /loop/.test(l)),
        'the self-dependency is named',
      );
      assert.equal(requestsFor(server, 'planner').length, 2);
      assert.equal(requestsFor(server, 'agent').length, 0);
    } finally {
      await server.close();
    }
  }
  assert.deepEqual(gitLeftovers(repo), { branches: ['main'], worktrees: 1, refs: '' });
  assert.equal(existsSync(repo.worktreeRoot), false, 'no worktree folder was made');
  assert.deepEqual(await listRunIds(stateDir(repo)), [], 'no run was started');
  assert.equal(repo.snapshot().status, '', 'the checkout is untouched');
  repo.cleanup();
});

// --- 4. Checks that fail ----------------------------------------------------------------------

/**
 * A check that prints 300 lines of progress, then fails when value.txt says "broken". Everything
 * goes to stdout, so the order of the output does not depend on how two pipes are read, and it
 * sets `process.exitCode` rather than calling `process.exit`, which can drop a Node child's
 * pending writes to a pipe.
 */
const CHECK_JS = `'use strict';
const v = require('node:fs').readFileSync('value.txt', 'utf8').trim();
for (let i = 1; i <= 300; i++) console.log('progress line ' + i + ' of the value check ..........');
if (v.includes('broken')) {
  console.log('AssertionError: value.txt says "' + v + '", expected no "broken"');
  process.exitCode = 1;
} else {
  console.log('value ok');
}
`;
const VALUE_CHECK = [{ name: 'value', command: 'node check.js' }];
const valueRepo = (): TempRepo =>
  makeRepo({ files: { ...NODE_TEMPLATE, 'check.js': CHECK_JS, 'value.txt': 'start\n' } });

test('failed checks are sent back with the relevant tail, repaired, and verified again', async () => {
  const repo = valueRepo();
  const server = await startServer({
    agents: {
      fix: [
        toolCall('write_file', { path: 'value.txt', content: 'broken\n' }),
        toolCall('finish', { summary: 'set the value' }),
        toolCall('write_file', { path: 'value.txt', content: 'fixed\n' }),
        toolCall('finish', { summary: 'fixed the value' }),
      ],
    },
  });
  try {
    const plan = makePlan('Set the value', [rawTask('fix', { files: ['value.txt'] })]);
    const { state, events } = await runEngine(repo, server, plan, { checks: VALUE_CHECK });
    assert.equal(state.status, 'completed', state.message ?? '');
    assert.equal(state.tasks.get('fix')?.status, 'merged');
    const repair = lastMessage(server, 2, 'agent', 'fix');
    assert.equal(repair.role, 'user', 'the repair note is the newest message of the next request');
    assert.match(repair.text, /Verification failed \(repair round 1 of 2\)/);
    assert.match(repair.text, /AssertionError: value\.txt says "broken"/);
    assert.match(repair.text, /progress line 300 of/, 'the tail of the output is there');
    assert.doesNotMatch(repair.text, /progress line 1 of/, 'the head of the long output is not');
    const rounds = tasksOf(events, 'verification', 'fix').map((e) =>
      e.type === 'verification' ? [e.round, e.status] : null,
    );
    assert.deepEqual(rounds, [
      [1, 'failed'],
      [2, 'passed'],
    ]);
    assert.equal(repo.git(['show', `foreman/${state.runId}/integration:value.txt`]), 'fixed\n');
  } finally {
    await server.close();
    repo.cleanup();
  }
});

test('checks that keep failing fail the task after the repair rounds; dependents are blocked, others merge', async () => {
  const repo = valueRepo();
  const server = await startServer({
    agents: {
      bad: [
        toolCall('write_file', { path: 'value.txt', content: 'broken\n' }),
        toolCall('finish', { summary: 'done' }),
      ],
      after: [
        toolCall('write_file', { path: 'after.txt', content: 'after\n' }),
        toolCall('finish', { summary: 'done' }),
      ],
      other: [
        toolCall('write_file', { path: 'other.txt', content: 'other\n' }),
        toolCall('finish', { summary: 'done' }),
      ],
    },
  });
  try {
    const plan = makePlan('Three tasks', [rawTask('bad'), rawTask('after', { dependsOn: ['bad'] }), rawTask('other')]);
    const { state, events, runId } = await runEngine(repo, server, plan, {
      checks: VALUE_CHECK,
      flags: { maxRepairs: 1, concurrency: 2 },
    });
    const bad = state.tasks.get('bad')!;
    assert.equal(bad.status, 'failed');
    assert.match(bad.reason ?? '', /verification failed after 1 repair round\(s\): value failed/);
    assert.equal(tasksOf(events, 'verification', 'bad').length, 2, 'one verification plus one repair round');
    assert.match(lastMessage(server, 2, 'agent', 'bad').text, /repair round 1 of 1/);
    const after = state.tasks.get('after')!;
    assert.equal(after.status, 'blocked');
    assert.match(after.reason ?? '', /depends on bad, which is failed/);
    assert.equal(after.worktree, null, 'a blocked task never starts');
    assert.equal(requestsFor(server, 'agent', 'after').length, 0);
    assert.equal(state.tasks.get('other')?.status, 'merged');
    assert.equal(state.status, 'failed');
    const integration = `foreman/${runId}/integration`;
    assert.equal(repo.git(['show', `${integration}:other.txt`]), 'other\n');
    assert.equal(repo.git(['show', `${integration}:value.txt`]), 'start\n', "the failed task's work is not merged");
    assert.equal(
      repo.git(['show', `foreman/${runId}/bad:value.txt`]),
      'broken\n',
      "but it is kept on the task's branch",
    );
  } finally {
    await server.close();
    repo.cleanup();
  }
});

// --- 5. A misbehaving backend, and one that is down -------------------------------------------

test('429 with Retry-After, 5xx and cut streams: the run completes and no tool call runs twice', async () => {
  const repo = makeRepo();
  const append = (word: string) => toolCall('run_command', { command: `echo ${word} >> calls.txt` });
  const server = await startServer({
    agents: {
      flaky: [
        { faults: [{ fault: 'rate_limit', retryAfterSec: 1 }], then: append('one') },
        { faults: [{ fault: 'server_error', status: 500 }], then: append('two') },
        { faults: [{ fault: 'cut', afterChunks: 3 }], then: append('three') },
        {
          faults: [
            { fault: 'server_error', status: 503 },
            { fault: 'cut', afterChunks: 1 },
          ],
          then: toolCall('finish', { summary: 'appended three lines' }),
        },
      ],
    },
  });
  try {
    const plan = makePlan('Append three lines', [rawTask('flaky', { files: ['calls.txt'] })]);
    const { state, events, runId } = await runEngine(repo, server, plan, {});
    assert.equal(state.status, 'completed', state.message ?? '');
    assert.equal(
      repo.git(['show', `foreman/${runId}/integration:calls.txt`]),
      'one\ntwo\nthree\n',
      'each command ran exactly once',
    );
    const commands = events.filter((e) => e.type === 'tool_call' && e.tool === 'run_command');
    assert.equal(commands.length, 3);
    const booked = events.filter((e) => e.type === 'model_request' && e.taskId === 'flaky');
    assert.deepEqual(
      booked.map((e) => (e.type === 'model_request' ? [e.ok, e.attempts] : null)),
      [
        [true, 2],
        [true, 2],
        [true, 2],
        [true, 3],
      ],
    );
    const sent = requestsFor(server, 'agent', 'flaky');
    assert.equal(sent.length, 9, 'the attempts booked are the requests the server saw');
    assert.ok(
      sent[1].receivedAt - sent[0].receivedAt >= 900,
      `Retry-After: 1 was honoured (${sent[1].receivedAt - sent[0].receivedAt} ms)`,
    );
    assert.equal(state.usage.requests, 4, 'the ledger counts each request once, however many attempts it took');
  } finally {
    await server.close();
    repo.cleanup();
  }
});

/** A local URL where nothing listens. */
async function deadUrl(): Promise<string> {
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', () => r()));
  const port = (probe.address() as { port: number }).port;
  await new Promise<void>((r) => probe.close(() => r()));
  return `http://127.0.0.1:${port}/v1`;
}

test('a backend that is down: foreman run exits 4 with a message naming the URL', async (t) => {
  const planning = makeRepo();
  const planned = makeRepo();
  try {
    const url = await deadUrl();
    const env = { FOREMAN_BASE_URL: url, FOREMAN_MODEL: 'm' };
    const planFile = join(planned.tmp, 'plan.json');
    await savePlan(planFile, makePlan('Anything', [rawTask('one')]));
    const [viaPlanner, viaPlanFile] = await Promise.all([
      runCli(['run', 'Anything', '--no-checks'], { repo: planning, env }),
      runCli(['run', '--plan', planFile, '--no-checks', '--no-review'], { repo: planned, env }),
    ]);
    assert.equal(viaPlanner.code, 4, viaPlanner.stderr);
    const failure = viaPlanner.stderr.slice(viaPlanner.stderr.indexOf('Planning failed'));
    assert.match(failure, /^Planning failed: .*\(connection\)/);
    assert.ok(viaPlanner.stderr.includes(url), 'the URL is named before planning');
    assert.deepEqual(gitLeftovers(planning), { branches: ['main'], worktrees: 1, refs: '' });
    await t.test('the failure itself names the URL', () => {
      assert.ok(failure.includes(url), `the failure names ${url}:\n${failure}`);
    });
    await t.test('with --plan (no planner request) it also exits 4 naming the URL', () => {
      assert.equal(viaPlanFile.code, 4, viaPlanFile.stderr);
      assert.ok(
        viaPlanFile.stderr.split('\n').some((l) => /fail/i.test(l) && l.includes(url)),
        viaPlanFile.stderr,
      );
    });
  } finally {
    planning.cleanup();
    planned.cleanup();
  }
});

// --- 7. A merge conflict between parallel tasks -----------------------------------------------

test('two parallel tasks edit the same line: one merges, the other fails naming the file; nothing half-merged', async () => {
  const repo = makeRepo({ files: { ...NODE_TEMPLATE, 'shared.txt': 'line 1\nline 2\nline 3\n' } });
  const edit = (who: string) => [
    toolCall('edit_file', { path: 'shared.txt', old_text: 'line 2', new_text: `line 2 by ${who}` }),
    toolCall('finish', { summary: `edited by ${who}` }),
  ];
  const server = await startServer({ agents: { left: edit('left'), right: edit('right') } });
  try {
    const plan = makePlan('Edit a line twice', [
      rawTask('left', { files: ['shared.txt'] }),
      rawTask('right', { files: ['shared.txt'] }),
    ]);
    const { state, events, runId } = await runEngine(repo, server, plan, { flags: { concurrency: 2 } });
    assert.equal(state.status, 'failed');
    const statuses = ['left', 'right'].map((id) => state.tasks.get(id)!.status).sort();
    assert.deepEqual(statuses, ['failed', 'merged']);
    const winner = state.tasks.get('left')!.status === 'merged' ? 'left' : 'right';
    const loser = winner === 'left' ? 'right' : 'left';
    const reason = state.tasks.get(loser)!.reason ?? '';
    assert.match(reason, /conflicts in shared\.txt; nothing was merged/);
    assert.ok(reason.includes(`git merge foreman/${runId}/${loser}`), `says how to resolve it: ${reason}`);
    assert.match(reason, new RegExp(`make ${loser} depend on the task it conflicts with`));
    const merge = events.find((e) => e.type === 'merge' && e.taskId === loser);
    assert.deepEqual(merge && merge.type === 'merge' ? merge.conflicts : null, ['shared.txt']);
    const integration = join(repo.worktreeRoot, runId, 'integration');
    assert.equal(
      repo.git(['status', '--porcelain', '--untracked-files=all'], integration),
      '',
      'the integration worktree is clean',
    );
    assert.throws(
      () => repo.git(['rev-parse', '-q', '--verify', 'MERGE_HEAD'], integration),
      'no merge left in progress',
    );
    assert.equal(repo.read('shared.txt', integration), `line 1\nline 2 by ${winner}\nline 3\n`);
    assert.equal(
      repo.git(['show', `foreman/${runId}/${loser}:shared.txt`]),
      `line 1\nline 2 by ${loser}\nline 3\n`,
      "the loser's work is kept",
    );
  } finally {
    await server.close();
    repo.cleanup();
  }
});

test('a backend URL with a user name and password is refused, and the password is printed nowhere', async () => {
  const repo = makeRepo();
  try {
    const url = 'http://dev:s3cret-pw@127.0.0.1:9/v1';
    const r = await runCli(['run', 'Anything', '--no-checks'], {
      repo,
      env: { FOREMAN_BASE_URL: url, FOREMAN_MODEL: 'm' },
    });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /user name or password.*http:\/\/127\.0\.0\.1:9\/v1/);
    assert.doesNotMatch(r.stdout + r.stderr, /s3cret-pw/);
  } finally {
    repo.cleanup();
  }
});
