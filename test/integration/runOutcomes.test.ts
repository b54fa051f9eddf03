/**
 * What the command line says a run came to, checked against real runs: the CLI as a child
 * process, real git repositories, the scripted server. Checks that never ran are not called
 * verified; checks cut short by Ctrl-C are stopped, not failed; an applied run reads as applied,
 * with its commit, wherever it is shown; an apply conflict is told in Foreman's words; and the
 * README's own flow (plan into a file in the repository, then run it) works first time.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { listRunIds } from '../../src/infra/journalFile';
import { savePlan } from '../../src/infra/planFile';
import { toolCall } from '../../src/scripted/scenario';
import type { Scenario } from '../../src/scripted/scenario';
import {
  latestRunId,
  makePlan,
  makeRepo,
  planReply,
  rawTask,
  readRun,
  runCli,
  spawnCli,
  startServer,
  stateDir,
  waitFor,
} from './runHarness';
import { cleanEnv } from './tempRepo';

const write = (path: string, content: string) => toolCall('write_file', { path, content });
const finish = (summary: string) => toolCall('finish', { summary });

/** Two tasks that each write one file. */
const TWO_FILES: Scenario = {
  planner: [planReply([rawTask('one', { files: ['one.txt'] }), rawTask('two', { files: ['two.txt'] })])],
  agents: {
    one: [write('one.txt', 'one\n'), finish('wrote one')],
    two: [write('two.txt', 'two\n'), finish('wrote two')],
  },
};

test('a run whose checks were skipped says merged, not verified; once applied it reads applied with its commit everywhere', async () => {
  const repo = makeRepo();
  const server = await startServer(TWO_FILES);
  try {
    const run = await runCli(['run', 'Write two files', '--no-checks', '--no-review'], { repo, server });
    assert.equal(run.code, 0, run.stderr);
    const runId = await latestRunId(repo);
    for (const text of [run.stdout, (await runCli(['status', runId], { repo })).stdout]) {
      assert.match(text, /2 of 2 task\(s\) merged into \S+, not verified \(no checks\); ready to apply/);
      assert.match(text, /TOTAL \(run\)\s+completed\s+not verified \(no checks\)/);
      assert.doesNotMatch(text, /verified together|integration skipped/);
      assert.match(text, /^one\s+merged\s+no checks/m);
    }
    assert.match((await readRun(repo, runId)).state.message ?? '', /not verified \(no checks\)/);

    const applied = await runCli(['apply', runId], { repo });
    assert.equal(applied.code, 0, applied.stderr);
    const head = repo.git(['rev-parse', 'HEAD']).trim();
    assert.match(applied.stdout, new RegExp(`onto main as one commit ${head.slice(0, 10)}`));

    const status = await runCli(['status', runId], { repo });
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, /TOTAL \(run\)\s+applied\s/);
    assert.match(status.stdout, new RegExp(`; applied onto main as one commit ${head.slice(0, 10)}\\.`));
    assert.doesNotMatch(status.stdout, /ready to apply|foreman apply/);

    const all = await runCli(['status', '--all'], { repo });
    assert.match(all.stdout, /run\s+status\s+merged\s+checks/);
    assert.match(
      all.stdout,
      new RegExp(`${runId}\\s+applied ${head.slice(0, 10)}\\s+2/2\\s+not verified \\(no checks\\)`),
    );

    const again = await runCli(['apply', runId], { repo });
    assert.equal(again.code, 0, again.stderr);
    assert.match(
      again.stderr,
      new RegExp(`already applied onto main as one commit ${head.slice(0, 10)}; nothing more to apply`),
    );
    const resume = await runCli(['run', '--resume', runId], { repo, server });
    assert.equal(resume.code, 0, resume.stderr);
    assert.match(resume.stderr, new RegExp(`nothing to resume\\. It is applied onto main as ${head.slice(0, 10)}\\.`));
    assert.doesNotMatch(resume.stderr, /foreman apply/);

    const json = JSON.parse((await runCli(['status', runId, '--json'], { repo })).stdout) as {
      status: string;
      applied: { commit: string; branch: string };
    };
    assert.deepEqual([json.status, json.applied.commit, json.applied.branch], ['completed', head, 'main']);
  } finally {
    await server.close();
    repo.cleanup();
  }
});

test('a held run without checks says its waiting tasks are not verified', async () => {
  const repo = makeRepo();
  const server = await startServer(TWO_FILES);
  try {
    const run = await runCli(['run', 'Write two files', '--no-checks', '--no-review', '--hold'], { repo, server });
    assert.equal(run.code, 6, run.stderr);
    assert.match(run.stdout, /2 task\(s\), not verified \(no checks\), wait for you: one, two\./);
    assert.doesNotMatch(run.stdout, /verified task\(s\)/);
  } finally {
    await server.close();
    repo.cleanup();
  }
});

test('a run whose checks passed on the integration branch says verified together', async () => {
  const repo = makeRepo();
  const server = await startServer(TWO_FILES);
  try {
    const run = await runCli(['run', 'Write two files', '--check', 'test=node --test', '--no-review'], {
      repo,
      server,
    });
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /2 of 2 task\(s\) merged into \S+ and verified together; ready to apply/);
    assert.match(run.stdout, /TOTAL \(run\)\s+completed\s+integration passed/);
    assert.doesNotMatch(run.stdout, /not verified/);
  } finally {
    await server.close();
    repo.cleanup();
  }
});

test('Ctrl-C while the checks run: the checks are stopped, not failed, in the journal and the status', async () => {
  const repo = makeRepo();
  const planFile = join(repo.tmp, 'plan.json');
  await savePlan(planFile, makePlan('Stop the checks', [rawTask('slow')]));
  const server = await startServer({ agents: { slow: [write('slow.txt', 'slow\n'), finish('done')] } });
  try {
    const cli = spawnCli(
      [
        'run',
        '--plan',
        planFile,
        '--no-review',
        '--check',
        'slow=touch checks-started; sleep 23.4567',
        '--check',
        'next=true',
      ],
      { repo, server },
    );
    const runId = await waitFor('the run to start', async () => (await listRunIds(stateDir(repo)))[0]);
    await waitFor('the check to start', () => existsSync(join(repo.worktreeRoot, runId, 'slow', 'checks-started')));
    cli.child.kill('SIGINT');
    const r = await cli.result;
    assert.equal(r.code, 130, r.stderr);
    assert.match(r.stderr, /slow\s+checks stopped \(round 1\)/);
    assert.doesNotMatch(r.stderr + r.stdout, /failed \(slow\)|checks failed/);
    assert.match(r.stdout, /^slow\s+stopped\s+stopped\s/m);

    const { events, state } = await readRun(repo, runId);
    const verification = events.find((e) => e.type === 'verification' && e.taskId === 'slow');
    assert.ok(verification?.type === 'verification');
    assert.equal(verification.status, 'stopped');
    assert.deepEqual(
      verification.checks.map((c) => c.status),
      ['stopped', 'skipped'],
    );
    assert.equal(state.tasks.get('slow')?.status, 'stopped');
    const status = await runCli(['status', runId], { repo });
    assert.match(status.stdout, /^slow\s+stopped\s+stopped\s/m);
    assert.doesNotMatch(status.stdout, /failed/);
  } finally {
    await server.close();
    repo.cleanup();
  }
});

test("an apply that conflicts names the files and says what to do next, in Foreman's words", async () => {
  const repo = makeRepo();
  const server = await startServer({
    planner: [planReply([rawTask('readme', { files: ['README.md'] })])],
    agents: { readme: [write('README.md', '# tiny\n\nRewritten by the agent.\n'), finish('rewrote the README')] },
  });
  try {
    const run = await runCli(['run', 'Rewrite the README', '--no-checks', '--no-review'], { repo, server });
    assert.equal(run.code, 0, run.stderr);
    const runId = await latestRunId(repo);
    repo.write('README.md', '# tiny\n\nRewritten by the developer meanwhile.\n');
    repo.git(['commit', '-qam', 'my own README']);
    const before = repo.snapshot();

    const applied = await runCli(['apply', runId], { repo });
    assert.equal(applied.code, 5, applied.stderr);
    assert.match(applied.stderr, /both changed this file, and the changes conflict, so nothing was applied/);
    assert.match(applied.stderr, /^ {2}README\.md$/m);
    assert.ok(applied.stderr.includes(`git merge --squash foreman/${runId}/integration, edit the files`));
    assert.doesNotMatch(applied.stderr, /fix conflicts|CONFLICT|Automatic merge failed|unexpected error/);
    assert.deepEqual(repo.snapshot(), before, 'nothing in the checkout changed');
    assert.equal((await readRun(repo, runId)).state.applied, null);

    // The advice works: the suggested command brings the run's work in, with the conflict marked.
    const merge = spawnSyncGit(repo.root, ['merge', '--squash', `foreman/${runId}/integration`]);
    assert.notEqual(merge, 0);
    assert.match(repo.read('README.md'), /<<<<<<<[\s\S]*Rewritten by the agent/);
  } finally {
    await server.close();
    repo.cleanup();
  }
});

test("the README's flow works first time: plan --out plan.json inside the repository, then run --plan plan.json", async () => {
  const repo = makeRepo();
  const server = await startServer(TWO_FILES);
  try {
    const planned = await runCli(['plan', 'Write two files', '--out', 'plan.json'], { repo, server });
    assert.equal(planned.code, 0, planned.stderr);
    assert.ok(existsSync(join(repo.root, 'plan.json')));
    assert.match(repo.git(['status', '--porcelain']), /\?\? plan\.json/, 'the plan file is untracked in the checkout');

    const run = await runCli(['run', '--plan', 'plan.json', '--no-checks', '--no-review'], { repo, server });
    assert.equal(run.code, 0, run.stderr);
    assert.doesNotMatch(run.stderr, /uncommitted changes/);
    const { state } = await readRun(repo, await latestRunId(repo));
    assert.equal(state.baseSnapshot, false, 'the run starts from HEAD, not a snapshot');
    assert.equal(state.base, repo.git(['rev-parse', 'HEAD']).trim());

    // Any other uncommitted file still stops a run, and the message says what to do on the CLI.
    repo.write('notes.txt', 'mine\n');
    const refused = await runCli(['run', '--plan', 'plan.json', '--no-checks', '--no-review'], { repo, server });
    assert.equal(refused.code, 5, refused.stderr);
    assert.match(
      refused.stderr,
      /uncommitted changes \(notes\.txt\)\. Commit or stash them first, or start the run with --dirty snapshot/,
    );
  } finally {
    await server.close();
    repo.cleanup();
  }
});

/** Run git in `cwd` and return its exit code (a conflicting merge exits 1). */
function spawnSyncGit(cwd: string, args: string[]): number {
  return spawnSync('git', args, { cwd, env: cleanEnv(), stdio: 'ignore' }).status ?? -1;
}
