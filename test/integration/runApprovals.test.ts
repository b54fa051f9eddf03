/**
 * Approvals and the audit trail through the real CLI: the command policy asks, the developer
 * answers on the terminal (allow for this run, deny with a reason), the agent gets the answer, and
 * `foreman audit` shows every ask, answer, sandbox profile and git operation. Without a terminal,
 * `--approve never` (the default) and `--approve policy` decide without asking.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { toolCall } from '../../src/scripted/scenario';
import type { ScriptedServer } from '../../src/scripted/server';
import { contentText } from '../../src/scripted/wire';
import type { AuditEntry } from '../../src/core/audit';
import {
  latestRunId,
  makeRepo,
  planReply,
  rawTask,
  readRun,
  requestsFor,
  runCli,
  spawnCli,
  startServer,
  waitFor,
} from './runHarness';

const FLAGS = ['--concurrency', '1', '--no-review', '--no-checks'];
/** Asked about by the `inline-code` rule: code given on the command line. */
const NODE_WRITE = `node -e "require('fs').writeFileSync('approved.txt', 'yes\\n')"`;

function toolResults(server: ScriptedServer, taskId: string): string[] {
  const last = requestsFor(server, 'agent', taskId).at(-1);
  assert.ok(last, `no request for ${taskId}`);
  return last.body.messages.filter((m) => m.role === 'tool').map(contentText);
}

function count(text: string, needle: string): number {
  return text.split(needle).length - 1;
}

test('asks answered on the terminal: allow for this run, deny with a reason; the audit shows it all', async () => {
  const repo = makeRepo();
  const server = await startServer({
    planner: [planReply([rawTask('a', { files: ['approved.txt'] }), rawTask('b', { files: ['approved.txt'] })])],
    agents: {
      a: [
        toolCall('run_command', { command: NODE_WRITE }),
        toolCall('run_command', { command: 'npx cowsay hello' }),
        toolCall('finish', { summary: 'wrote approved.txt' }),
      ],
      b: [toolCall('run_command', { command: NODE_WRITE }), toolCall('finish', { summary: 'wrote it again' })],
    },
  });
  try {
    const cli = spawnCli(['run', 'Write approved.txt.', '--approve', 'prompt', ...FLAGS], {
      repo,
      server,
      stdin: true,
    });
    const stdin = cli.child.stdin;
    assert.ok(stdin);
    await waitFor('the first question', () => count(cli.stderrSoFar(), 'Approval needed') === 1 || null);
    assert.match(cli.stderrSoFar(), /a wants to run\n {4}node -e .*\n {2}rule inline-code: /);
    stdin.write('r\n');
    await waitFor('the second question', () => count(cli.stderrSoFar(), 'Approval needed') === 2 || null);
    assert.match(cli.stderrSoFar(), /a wants to run\n {4}npx cowsay hello\n {2}rule package-runner/);
    stdin.write('d\n');
    await waitFor('the reason prompt', () => cli.stderrSoFar().includes('Reason, for the agent') || null);
    stdin.write('not in this repository\n');
    const done = await cli.result;
    assert.equal(done.code, 0, done.stderr);
    assert.equal(count(done.stderr, 'Approval needed'), 2, 'b was not asked: a allowed the command for the run');

    const a = toolResults(server, 'a');
    assert.match(a[0], /exit code 0/);
    assert.match(a[1], /not in this repository/);
    assert.match(toolResults(server, 'b')[0], /exit code 0/);

    const runId = await latestRunId(repo);
    const { events, state } = await readRun(repo, runId);
    const answers = events.flatMap((e) => (e.type === 'approval_answered' ? [[e.taskId, e.approved, e.by]] : []));
    assert.deepEqual(answers, [
      ['a', true, 'user'],
      ['a', false, 'user'],
      ['b', true, 'rule'],
    ]);
    assert.equal(state.status, 'completed');
    assert.equal(repo.git(['show', `foreman/${runId}/integration:approved.txt`]), 'yes\n');

    const audit = await runCli(['audit', runId, '--json'], { repo });
    assert.equal(audit.code, 0, audit.stderr);
    const entries = (JSON.parse(audit.stdout) as { entries: AuditEntry[] }).entries;
    const kinds = new Set(entries.map((e) => `${e.task ?? 'run'}:${e.kind}`));
    for (const k of ['a:sandbox', 'b:sandbox', 'a:approval', 'a:tool', 'a:git', 'b:git', 'run:run'])
      assert.ok(kinds.has(k), `the audit has ${k}`);
    const gitOps = new Set<string>(entries.flatMap((e) => (e.event.type === 'git' ? [e.event.op] : [])));
    for (const op of ['worktree', 'commit', 'merge', 'read-git-dir']) assert.ok(gitOps.has(op), `git ${op} audited`);
    const sandbox = entries.find((e) => e.event.type === 'sandbox');
    assert.ok(sandbox?.event.type === 'sandbox' && /bubblewrap/.test(sandbox.event.profile.confinement));
    assert.ok(
      entries.some((e) => e.event.type === 'tool_call' && e.event.policy?.rule === 'inline-code'),
      'the policy verdict is on the tool call',
    );

    const text = await runCli(['audit', runId, '--task', 'b'], { repo });
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /b +approval +allowed for this run by your earlier "allow for this run"/);
    assert.doesNotMatch(text.stdout, /^\S+ \S+ . a /m, 'only task b');
  } finally {
    await server.close();
    repo.cleanup();
  }
});

test('without a terminal asks are refused; --approve policy runs them in the sandbox without asking', async () => {
  const repo = makeRepo();
  const server = await startServer({
    planner: [planReply([rawTask('t', { files: ['approved.txt'] })])],
    agents: { t: [toolCall('run_command', { command: NODE_WRITE }), toolCall('finish', { summary: 'tried' })] },
  });
  try {
    const never = await runCli(['run', 'Write approved.txt.', ...FLAGS], { repo, server });
    assert.equal(never.code, 0, never.stderr);
    assert.match(never.stderr, /Approvals: commands the policy asks about are refused/);
    assert.match(toolResults(server, 't')[0], /refused in this run \(no one can be asked\)/);
    const first = await latestRunId(repo);
    const refused = (await readRun(repo, first)).events.find((e) => e.type === 'approval_answered');
    assert.ok(refused?.type === 'approval_answered' && !refused.approved && refused.by === 'nobody');

    const policy = await runCli(['run', 'Write approved.txt.', '--approve', 'policy', ...FLAGS], { repo, server });
    assert.equal(policy.code, 0, policy.stderr);
    assert.match(toolResults(server, 't')[0], /exit code 0/);
    const second = await latestRunId(repo);
    const allowed = (await readRun(repo, second)).events.find((e) => e.type === 'approval_answered');
    assert.ok(allowed?.type === 'approval_answered' && allowed.approved && allowed.by === 'sandbox');
    assert.equal(repo.git(['show', `foreman/${second}/integration:approved.txt`]), 'yes\n');
  } finally {
    await server.close();
    repo.cleanup();
  }
});
