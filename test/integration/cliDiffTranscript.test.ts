/**
 * `foreman diff` and `foreman transcript` on a real finished run: the demo's three tasks on a copy
 * of the sample repository, run by the CLI against the scripted server (the checkout task's first
 * version fails its check and is repaired). The integration diff must apply onto the base as it
 * is; a task's diff holds only that task's files; the colours appear only on a terminal; the
 * transcript reads as the conversation it was; unknown runs and tasks get a sentence, not a trace.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { demoScenario } from '../../src/scripted/demoScenario';
import type { ScriptedServer } from '../../src/scripted/server';
import { cleanEnv } from './tempRepo';
import { latestRunId, makeRepo, PROJECT_ROOT, runCli, startServer } from './runHarness';
import type { TempRepo } from './runHarness';

/** The escape character that starts git's colour sequences. */
const ESC = '\u001b';
const SPEC = readFileSync(join(PROJECT_ROOT, 'samples', 'demo-spec.txt'), 'utf8').trim();

let repo: TempRepo;
let server: ScriptedServer;
let runId: string;
let testContext: string | undefined;

before(async () => {
  // The sample's checks are `node --test`: they must not report to this test runner.
  testContext = process.env.NODE_TEST_CONTEXT;
  delete process.env.NODE_TEST_CONTEXT;
  repo = makeRepo({ template: join(PROJECT_ROOT, 'samples', 'demo-shop') });
  server = await startServer(demoScenario);
  const run = await runCli(['run', SPEC, '--concurrency', '2', '--no-review'], {
    repo,
    server,
    model: 'scripted-demo',
    timeoutMs: 120_000,
  });
  assert.equal(run.code, 0, run.stderr);
  runId = await latestRunId(repo);
});

after(async () => {
  await server?.close();
  repo?.cleanup();
  if (testContext !== undefined) process.env.NODE_TEST_CONTEXT = testContext;
});

const foreman = (...args: string[]) => runCli(args, { repo });

test("the run's diff is its integration branch against its base, a patch that applies there", async () => {
  const r = await foreman('diff', runId);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(
    (await foreman('diff', runId, 'integration')).stdout,
    r.stdout,
    "the integration branch's id names it too",
  );
  assert.match(
    r.stderr,
    new RegExp(`^Changes of run ${runId}'s integration branch: [0-9a-f]{10}\\.\\.[0-9a-f]{10}$`, 'm'),
  );
  for (const file of ['src/discounts.js', 'src/receipt.js', 'src/checkout.js', 'test/checkout.test.js'])
    assert.match(r.stdout, new RegExp(`^diff --git a/${file} b/${file}$`, 'm'), file);
  assert.match(r.stdout, /^\+ {2}const total = applyDiscount\(cartTotal\(items\), code\);$/m, 'the repaired line');
  assert.ok(!r.stdout.includes(ESC), 'no colour when stdout is not a terminal');
  // The checkout is still at the base: the patch applies there, byte for byte.
  const check = spawnSync('git', ['apply', '--check', '-'], { cwd: repo.root, input: r.stdout, encoding: 'utf8' });
  assert.equal(check.status, 0, check.stderr);
});

test("a task's diff holds only what that task changed, from where its worktree started", async () => {
  const r = await foreman('diff', runId, 'checkout', '--stat');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, new RegExp(`^Changes of task checkout of run ${runId}: `, 'm'));
  const files = r.stdout
    .split('\n')
    .filter((l) => l.includes('|'))
    .map((l) => l.split('|')[0].trim());
  assert.deepEqual(files, ['src/checkout.js', 'test/checkout.test.js'], 'not the files of the tasks it depends on');
  assert.match(r.stdout, /2 files changed, 24 insertions\(\+\)/);
});

test('on a terminal the diff is coloured', () => {
  const loader = pathToFileURL(join(PROJECT_ROOT, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href;
  const cli = [process.execPath, '--import', loader, join(PROJECT_ROOT, 'src', 'cli', 'main.ts')];
  const command = [...cli, 'diff', runId, 'receipt'].map((a) => `'${a}'`).join(' ');
  // script(1) gives the CLI a pseudo-terminal for stdout, as a developer's shell would.
  const r = spawnSync('script', ['-qec', command, '/dev/null'], {
    cwd: repo.root,
    env: { ...cleanEnv(), TERM: 'xterm' },
    encoding: 'utf8',
    timeout: 60_000,
  });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  const sgr = (code: string, text: string) => `${ESC}[${code}m${text}${ESC}[m`;
  assert.ok(
    r.stdout.includes(`${sgr('32', '+')}${sgr('32', 'module.exports = { formatReceipt };')}`),
    'added lines in green',
  );
  assert.ok(r.stdout.includes(sgr('1', 'diff --git a/src/receipt.js b/src/receipt.js')), 'headers in bold');
});

test("a task's transcript reads as its conversation: the task, the steps, the failed check sent back", async () => {
  const r = await foreman('transcript', runId, 'checkout');
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.split('\n');
  assert.match(
    lines[0],
    new RegExp(
      `^Transcript of task checkout \\(Checkout using discounts and receipt\\), run ${runId}: merged, 7 model turns, 7 tool calls\\.$`,
    ),
  );
  assert.ok(lines.includes('── The task ──'));
  assert.ok(lines.includes('  → read_file  path: "src/discounts.js"'));
  assert.ok(lines.includes('      │ Wrote 328 bytes to src/checkout.js (created).'), 'a result');
  assert.ok(lines.includes('── Verification failed (repair round 1 of 2) ──'));
  assert.ok(
    lines.includes(
      '  → edit_file  path: "src/checkout.js"  old_text: "applyDiscount(cartTotal(items))"  new_text: "applyDiscount(cartTotal(items), code)"',
    ),
  );
  assert.doesNotMatch(r.stdout, /System prompt/);
  assert.match(r.stderr, /--full shows everything/);

  const full = await foreman('transcript', runId, 'checkout', '--full');
  assert.match(full.stdout, /── System prompt \(shared by the run's agents\) ──/);

  const json = await foreman('transcript', runId, 'receipt', '--json');
  assert.equal(json.code, 0, json.stderr);
  const parsed = JSON.parse(json.stdout) as { taskId: string; status: string; messages: { role: string }[] };
  assert.equal(parsed.taskId, 'receipt');
  assert.equal(parsed.messages.filter((m) => m.role === 'assistant').length, 5);
});

test('unknown runs and tasks, and missing arguments, get a sentence and exit 2', async () => {
  const cases: [string[], RegExp][] = [
    [['diff', 'r-nope'], /^foreman: no run r-nope in this repository \(see: foreman status --all\)$/m],
    [['transcript', 'r-nope', 'checkout'], /^foreman: no run r-nope in this repository/m],
    [
      ['diff', runId, 'nope'],
      new RegExp(`^foreman: run ${runId} has no task "nope"; its tasks are discounts, receipt, checkout$`, 'm'),
    ],
    [['transcript', runId, '../../../etc/passwd'], /^foreman: run \S+ has no task "\.\.\/\.\.\/\.\.\/etc\/passwd"/m],
    [
      ['transcript', runId, 'integration'],
      /^foreman: the integration branch of run \S+ is not a task and has no conversation; name one of its tasks: discounts, receipt, checkout$/m,
    ],
    [['transcript', runId], /^foreman: transcript needs a run and one of its tasks: foreman transcript <run> <task>/m],
    [['diff'], /^foreman: diff needs a run, and optionally one of its tasks/m],
  ];
  for (const [args, said] of cases) {
    const r = await foreman(...args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, said, args.join(' '));
    assert.doesNotMatch(r.stderr, /unexpected error|\n\s+at /, 'no stack trace');
    assert.equal(r.stdout, '');
  }
});
