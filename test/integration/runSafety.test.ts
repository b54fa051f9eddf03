/**
 * Whole runs where an agent or the developer's situation could do harm: writes that try to leave
 * the worktree, commands that run too long or are refused by policy, secrets in the environment,
 * a dirty checkout, and stopping a run. Real git repositories in a temp dir, the real test server
 * over HTTP, the real engine (or the CLI as a child process), real processes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { JournalEvent } from '../../src/core/journal';
import type { Plan } from '../../src/core/plan';
import type { JournalFile } from '../../src/infra/journalFile';
import { listRunIds } from '../../src/infra/journalFile';
import { savePlan } from '../../src/infra/planFile';
import { toolCall } from '../../src/scripted/scenario';
import type { Step } from '../../src/scripted/scenario';
import type { ScriptedServer } from '../../src/scripted/server';
import {
  createEngine,
  engineParts,
  latestRunId,
  makePlan,
  makeRepo,
  rawTask,
  readRun,
  requestsFor,
  runCli,
  spawnCli,
  startServer,
  stateDir,
  waitFor,
} from './runHarness';
import type { EngineParts, TempRepo } from './runHarness';
import { isDead } from './processProbe';
import { contentText } from '../../src/scripted/wire';

/** Engine parts with review off; `tweak` may change the config before the engine is made. */
async function partsFor(
  repo: TempRepo,
  server: ScriptedServer,
  tweak: (p: EngineParts) => void = () => undefined,
): Promise<EngineParts> {
  const parts = await engineParts(repo, server, { flags: { review: false, concurrency: 1 } });
  tweak(parts);
  return parts;
}

/** Run `plan` in process to its end; the journal is read back from disk. */
async function runToEnd(parts: EngineParts, repo: TempRepo, plan: Plan) {
  try {
    const state = await (await createEngine(parts, plan)).run();
    return { state, events: (await readRun(repo, parts.config.runId)).events };
  } finally {
    (parts.deps.journal as JournalFile).close();
  }
}

/** The tool results the model was sent, in order, from the task's last request. */
function toolResults(server: ScriptedServer, taskId: string): string[] {
  const last = requestsFor(server, 'agent', taskId).at(-1);
  assert.ok(last, `no request for ${taskId}`);
  return last.body.messages.filter((m) => m.role === 'tool').map(contentText);
}

/** Lines of `ps` whose command line contains `token`. */
function processesWith(token: string): string[] {
  return execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' })
    .split('\n')
    .filter((l) => l.includes(token));
}

function toolEvents(events: JournalEvent[], taskId: string) {
  return events.flatMap((e) => (e.type === 'tool_call' && e.taskId === taskId ? [e] : []));
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

// --- 2. Writes outside the worktree -----------------------------------------------------------

test('writes through .., an absolute path and symlinks are refused; the outside file is unchanged', async () => {
  const repo = makeRepo();
  const outside = join(repo.tmp, 'outside');
  mkdirSync(outside);
  const secret = join(outside, 'secret.txt');
  writeFileSync(secret, 'original secret\n');
  symlinkSync(outside, join(repo.root, 'escape'));
  repo.git(['add', 'escape']);
  repo.git(['commit', '-q', '-m', 'a link that points outside']);
  const attempts: Step[] = [
    toolCall('write_file', { path: '../../../outside/secret.txt', content: 'pwned\n' }),
    toolCall('write_file', { path: secret, content: 'pwned\n' }),
    toolCall('run_command', { command: `ln -s '${outside}' link` }),
    toolCall('write_file', { path: 'link/secret.txt', content: 'pwned\n' }),
    toolCall('write_file', { path: 'link/new.txt', content: 'pwned\n' }),
    toolCall('write_file', { path: 'escape/secret.txt', content: 'pwned\n' }),
    toolCall('edit_file', { path: 'escape/secret.txt', old_text: 'original', new_text: 'pwned' }),
    toolCall('read_file', { path: 'escape/secret.txt' }),
    toolCall('write_file', { path: 'inside.txt', content: 'fine\n' }),
    toolCall('finish', { summary: 'tried everything' }),
  ];
  const server = await startServer({ agents: { sneaky: attempts } });
  try {
    const parts = await partsFor(repo, server);
    const { state, events } = await runToEnd(parts, repo, makePlan('Escape', [rawTask('sneaky')]));
    assert.equal(readFileSync(secret, 'utf8'), 'original secret\n', 'the outside file is byte-for-byte unchanged');
    assert.deepEqual(readdirSync(outside), ['secret.txt'], 'nothing was created outside');
    const results = toolResults(server, 'sneaky');
    const refused = [0, 1, 3, 4, 5, 6, 7];
    for (const i of refused)
      assert.match(
        results[i],
        /outside the worktree|symbolic link/,
        `call ${i} was refused and the model told: ${results[i]}`,
      );
    assert.ok(!results.some((r) => r.includes('original secret')), 'the outside file was never read back to the model');
    assert.deepEqual(
      toolEvents(events, 'sneaky').map((e) => e.ok),
      [false, false, true, false, false, false, false, false, true, true],
    );
    assert.equal(state.tasks.get('sneaky')?.status, 'merged', 'the task still finishes normally');
    assert.equal(state.status, 'completed');
    assert.equal(repo.git(['show', `foreman/${state.runId}/integration:inside.txt`]), 'fine\n');
  } finally {
    await server.close();
    repo.cleanup();
  }
});

// --- 3. A command that runs too long ----------------------------------------------------------

test('a command past the time-out is killed with its children and the agent is told', async () => {
  const repo = makeRepo();
  // The marker is written inside the worktree: the policy would ask about a write outside it.
  const command = `sh -c 'sleep 2; echo late > late.marker' & sleep 25.123; echo never`;
  const server = await startServer({
    agents: { slow: [toolCall('run_command', { command }), toolCall('finish', { summary: 'gave up waiting' })] },
  });
  try {
    const parts = await partsFor(repo, server, (p) => (p.config.commandTimeoutMs = 1000));
    const { state, events } = await runToEnd(parts, repo, makePlan('Wait', [rawTask('slow')]));
    const [told] = toolResults(server, 'slow');
    assert.match(told, /timed out after 1s; the command and its child processes were killed/);
    assert.doesNotMatch(told.slice(told.indexOf('\noutput')), /never/, 'the command after the sleep never ran');
    const started = events.find((e) => e.type === 'task_step' && e.tool === 'run_command')!.t;
    const ran = toolEvents(events, 'slow')[0];
    assert.equal(ran.ok, false);
    assert.ok(ran.t - started < 4000, `killed promptly (${ran.t - started} ms)`);
    assert.equal(state.tasks.get('slow')?.status, 'merged');
    await sleep(Math.max(0, started + 3000 - Date.now()));
    const worktree = state.tasks.get('slow')?.worktree;
    assert.ok(worktree && existsSync(worktree), 'the worktree is still there to look in');
    assert.equal(existsSync(join(worktree, 'late.marker')), false, 'the grandchild never wrote its marker');
    assert.deepEqual(processesWith('25.123'), [], 'nothing of the command is left running');
  } finally {
    await server.close();
    repo.cleanup();
  }
});

// --- 6. A dirty checkout ----------------------------------------------------------------------

test('a dirty checkout: run refuses naming the files; --dirty snapshot runs and leaves it as it was', async () => {
  const repo = makeRepo();
  repo.write('README.md', '# tiny\n\nUncommitted words.\n');
  repo.write('draft.txt', 'a draft\n');
  const before = repo.snapshot();
  const planFile = join(repo.tmp, 'plan.json');
  await savePlan(planFile, makePlan('Add a feature', [rawTask('feat', { files: ['feature.txt'] })]));
  const server = await startServer({
    agents: {
      feat: [
        toolCall('write_file', { path: 'feature.txt', content: 'feature\n' }),
        toolCall('finish', { summary: 'added' }),
      ],
    },
  });
  try {
    const args = ['run', '--plan', planFile, '--no-checks', '--no-review'];
    const refused = await runCli(args, { repo, server });
    assert.equal(refused.code, 5, refused.stderr);
    assert.match(refused.stderr, /uncommitted changes \(.*README\.md/);
    assert.match(refused.stderr, /draft\.txt/);
    assert.match(refused.stderr, /--dirty snapshot/);
    assert.deepEqual(await listRunIds(stateDir(repo)), [], 'no run was started');
    assert.equal(requestsFor(server, 'agent').length, 0);

    const snap = await runCli([...args, '--dirty', 'snapshot'], { repo, server });
    assert.equal(snap.code, 0, snap.stderr);
    assert.match(snap.stderr, /snapshot of your uncommitted changes/);
    assert.deepEqual(repo.snapshot(), before, "the developer's HEAD, branch and status are as they were");
    assert.equal(repo.read('README.md'), '# tiny\n\nUncommitted words.\n');
    assert.equal(repo.read('draft.txt'), 'a draft\n');
    assert.equal(existsSync(join(repo.root, 'feature.txt')), false, 'the run wrote nothing into the checkout');
    const { state } = await readRun(repo, await latestRunId(repo));
    assert.equal(state.baseSnapshot, true);
    const integration = `foreman/${state.runId}/integration`;
    assert.equal(
      repo.git(['show', `${integration}:README.md`]),
      '# tiny\n\nUncommitted words.\n',
      'the run built on the snapshot',
    );
    assert.equal(repo.git(['show', `${integration}:draft.txt`]), 'a draft\n');
    assert.equal(repo.git(['show', `${integration}:feature.txt`]), 'feature\n');
  } finally {
    await server.close();
    repo.cleanup();
  }
});

test('apply refuses while a file the run touched has uncommitted changes, and works after a commit', async () => {
  const repo = makeRepo({ files: { 'notes.txt': 'first\nsecond\nthird\n' } });
  const planFile = join(repo.tmp, 'plan.json');
  await savePlan(planFile, makePlan('Extend the notes', [rawTask('notes', { files: ['notes.txt'] })]));
  const edit = toolCall('edit_file', { path: 'notes.txt', old_text: 'third', new_text: 'third, extended' });
  const server = await startServer({ agents: { notes: [edit, toolCall('finish', { summary: 'extended' })] } });
  try {
    const run = await runCli(['run', '--plan', planFile, '--no-checks', '--no-review'], { repo, server });
    assert.equal(run.code, 0, run.stderr);
    const runId = await latestRunId(repo);
    repo.write('notes.txt', 'FIRST\nsecond\nthird\n');
    const head = repo.snapshot().head;
    const refused = await runCli(['apply', runId], { repo });
    assert.equal(refused.code, 5, refused.stderr);
    assert.match(refused.stderr, /uncommitted changes in your checkout: notes\.txt/);
    assert.equal(repo.snapshot().head, head, 'nothing was committed');
    assert.equal(repo.read('notes.txt'), 'FIRST\nsecond\nthird\n', "the developer's edit is intact");

    repo.git(['commit', '-q', '-am', 'my own edit']);
    const applied = await runCli(['apply', runId], { repo });
    assert.equal(applied.code, 0, applied.stderr);
    assert.equal(repo.read('notes.txt'), 'FIRST\nsecond\nthird, extended\n');
    assert.equal(repo.git(['rev-parse', 'HEAD~1']).trim(), repo.git(['rev-parse', 'main@{1}']).trim());
    assert.equal(repo.snapshot().status, '');
    assert.ok((await readRun(repo, runId)).state.applied, 'the journal records the apply');
  } finally {
    await server.close();
    repo.cleanup();
  }
});

// --- 8. The command policy and the agent's environment ---------------------------------------

test('refused commands never run and the model is told why; agents never see API keys', async () => {
  const repo = makeRepo();
  const keys = { OPENAI_API_KEY: 'sk-openai-secret-1234', FOREMAN_API_KEY: 'fm-secret-5678' };
  const planFile = join(repo.tmp, 'plan.json');
  await savePlan(planFile, makePlan('Risky', [rawTask('risky')]));
  const run = (command: string) => toolCall('run_command', { command });
  const server = await startServer({
    agents: {
      risky: [
        run('touch push.marker && git push origin main'),
        run('touch rm.marker; rm -rf src'),
        run('touch curl.marker && curl -s http://127.0.0.1:9/'),
        run('env > env.txt'),
        toolCall('finish', { summary: 'done' }),
      ],
    },
  });
  try {
    const r = await runCli(['run', '--plan', planFile, '--no-checks', '--no-review'], { repo, server, env: keys });
    assert.equal(r.code, 0, r.stderr);
    const runId = await latestRunId(repo);
    const results = toolResults(server, 'risky');
    ['git_push', 'recursive_delete'].forEach((category, i) => {
      assert.match(results[i], /^Refused by the command policy/);
      assert.ok(results[i].includes(`Category '${category}'`), results[i]);
    });
    // The network asks, and with no one to approve it is not run either.
    assert.match(results[2], /^Not run: `curl -s http:\/\/127\.0\.0\.1:9\/` needs the developer's approval/);
    assert.ok(results[2].includes("Category 'network'"), results[2]);
    const branch = `foreman/${runId}/risky`;
    const files = repo.git(['ls-tree', '-r', '--name-only', branch]).split('\n');
    assert.deepEqual(
      files.filter((f) => f.endsWith('.marker')),
      [],
      'no part of a refused line ran',
    );
    assert.ok(files.includes('src/add.js'), 'src was not deleted');
    const env = repo.git(['show', `${branch}:env.txt`]);
    assert.match(env, /^PATH=/m, 'env.txt holds the environment');
    for (const [name, value] of Object.entries(keys)) {
      assert.ok(!env.includes(name) && !env.includes(value), `${name} is not in the agent's environment`);
    }
    assert.equal(
      server.requests[0].headers.authorization,
      `Bearer ${keys.FOREMAN_API_KEY}`,
      'the CLI itself had the key',
    );
    const journal = readFileSync(join(stateDir(repo), 'runs', runId, 'journal.jsonl'), 'utf8');
    assert.ok(
      !journal.includes(keys.FOREMAN_API_KEY) && !journal.includes(keys.OPENAI_API_KEY),
      'no key in the journal',
    );
  } finally {
    await server.close();
    repo.cleanup();
  }
});

// --- 9. Stopping a run ------------------------------------------------------------------------

/** A task that writes a file, then starts a long sleep (its shell's pid in shell.pid). */
function busyScript(seconds: string): Step[] {
  return [
    toolCall('write_file', { path: 'partial.txt', content: 'work so far\n' }),
    toolCall('run_command', { command: `echo $$ > shell.pid; sleep ${seconds}` }),
    toolCall('finish', { summary: 'never reached' }),
  ];
}

/**
 * Wait until the long command has written its pid file. The pid is the shell's inside its sandbox's
 * own PID namespace, so it only says the command started; that it is gone is checked by its command
 * line (the shell's, the sleep's and bwrap's all hold the sleep's unique duration).
 */
async function commandStarted(path: string): Promise<void> {
  await waitFor('the long command to start', () => existsSync(path) && readFileSync(path, 'utf8').trim());
}

test("a stop while a waiting task's worktree is still being made: it is stopped before its agent started", async () => {
  const repo = makeRepo();
  const server = await startServer({ agents: { busy: busyScript('27.1828') } });
  try {
    // The set-up of the waiting task's worktree outlasts the test; the busy task's is instant.
    const setup = { command: 'case "$WORKTREE_PATH" in *waiting*) sleep 60;; esac', include: null, timeoutMs: 120_000 };
    const parts = await partsFor(repo, server, (p) => (p.config.setup = setup));
    const runId = parts.config.runId;
    const engine = await createEngine(parts, makePlan('Stop me', [rawTask('busy'), rawTask('waiting')]));
    const running = engine.run();
    await commandStarted(join(repo.worktreeRoot, runId, 'busy', 'shell.pid'));
    engine.stopAll();
    const state = await running;
    (parts.deps.journal as JournalFile).close();
    assert.equal(state.tasks.get('waiting')?.status, 'stopped');
    assert.match(state.tasks.get('waiting')?.reason ?? '', /before (it|its agent) started/);
    assert.deepEqual(processesWith('27.1828'), [], "the busy task's command is gone");
  } finally {
    await server.close();
    repo.cleanup();
  }
});

test('stopAll during a run: processes are killed, work is committed, the run ends stopped', async () => {
  const repo = makeRepo();
  const server = await startServer({ agents: { busy: busyScript('31.4159') } });
  try {
    const parts = await partsFor(repo, server);
    const runId = parts.config.runId;
    const engine = await createEngine(parts, makePlan('Stop me', [rawTask('busy'), rawTask('waiting')]));
    const running = engine.run();
    await commandStarted(join(repo.worktreeRoot, runId, 'busy', 'shell.pid'));
    const stoppedAt = Date.now();
    engine.stopAll();
    const state = await running;
    (parts.deps.journal as JournalFile).close();
    assert.ok(Date.now() - stoppedAt < 5000, 'the stop is prompt');
    assert.equal(state.status, 'stopped');
    assert.equal(state.tasks.get('busy')?.status, 'stopped');
    assert.match(state.tasks.get('busy')?.reason ?? '', /Work so far is committed/);
    // With one agent slot, 'waiting' was prepared ahead (its worktree made) but its agent never started.
    assert.equal(state.tasks.get('waiting')?.status, 'stopped');
    assert.match(state.tasks.get('waiting')?.reason ?? '', /before (it|its agent) started/);
    assert.equal(requestsFor(server, 'agent', 'waiting').length, 0, 'the waiting task never asked the model');
    assert.equal(repo.git(['show', `foreman/${runId}/busy:partial.txt`]), 'work so far\n');
    assert.deepEqual(processesWith('31.4159'), [], 'the shell, the sleep and their sandbox are gone');
  } finally {
    await server.close();
    repo.cleanup();
  }
});

test('SIGINT to foreman run: exit 130, the run ends stopped, no process is left behind', async () => {
  const repo = makeRepo();
  const planFile = join(repo.tmp, 'plan.json');
  await savePlan(planFile, makePlan('Stop me', [rawTask('busy')]));
  const server = await startServer({ agents: { busy: busyScript('27.1828') } });
  try {
    const cli = spawnCli(['run', '--plan', planFile, '--no-checks', '--no-review'], { repo, server });
    const runId = await waitFor('the run to start', async () => (await listRunIds(stateDir(repo)))[0]);
    await commandStarted(join(repo.worktreeRoot, runId, 'busy', 'shell.pid'));
    cli.child.kill('SIGINT');
    const r = await cli.result;
    assert.equal(r.code, 130, r.stderr);
    assert.match(r.stderr, /Stopping: cancelling requests, killing processes/);
    const { state } = await readRun(repo, runId);
    assert.equal(state.status, 'stopped');
    assert.equal(state.tasks.get('busy')?.status, 'stopped');
    assert.equal(repo.git(['show', `foreman/${runId}/busy:partial.txt`]), 'work so far\n');
    assert.equal(isDead(cli.pid), true, 'the CLI is gone');
    assert.deepEqual(processesWith('27.1828'), [], 'the shell, the sleep and their sandbox are gone');
  } finally {
    await server.close();
    repo.cleanup();
  }
});
