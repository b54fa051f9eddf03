import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createProcessRunner } from '../../src/infra/processRunner';
import type { ProcessRunner } from '../../src/core/ports';
import {
  STOPPED_REASON,
  EARLIER_FAILED_REASON,
  NO_CHECKS_REASON,
  formatFailureForAgent,
  isFailureLine,
  relevantTail,
  runChecks,
} from '../../src/core/verify';
import type { CheckResult } from '../../src/core/journal';

// The checks' own behaviour is under test here, not the sandbox: it is off.
const runner = createProcessRunner({
  sandbox: null,
  network: 'host',
  scope: { worktree: tmpdir(), tmp: tmpdir(), cache: tmpdir(), home: tmpdir(), readOnly: [], hidden: [] },
});

function withTempDir(fn: (dir: string) => Promise<void>): () => Promise<void> {
  return async () => {
    const dir = mkdtempSync(join(tmpdir(), 'foreman-verify-'));
    try {
      await fn(dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
}

test('no checks: the round is skipped with a reason', async () => {
  const res = await runChecks([], { runner, cwd: tmpdir(), timeoutMs: 1000 });
  assert.deepEqual(res, { status: 'skipped', checks: [], reason: NO_CHECKS_REASON });
});

test(
  'passing checks run in the directory, in order',
  withTempDir(async (dir) => {
    const res = await runChecks(
      [
        { name: 'first', command: 'echo one > order.txt' },
        { name: 'second', command: 'cat order.txt; echo two' },
      ],
      { runner, cwd: dir, timeoutMs: 5000 },
    );
    assert.equal(res.status, 'passed');
    assert.equal(res.reason, undefined);
    assert.deepEqual(
      res.checks.map((c) => [c.name, c.status, c.exitCode, c.timedOut]),
      [
        ['first', 'passed', 0, false],
        ['second', 'passed', 0, false],
      ],
    );
    assert.equal(res.checks[1].output, 'one\ntwo');
  }),
);

test(
  'a failure keeps its exit code and output, and later checks are skipped without running',
  withTempDir(async (dir) => {
    const res = await runChecks(
      [
        { name: 'ok', command: 'true' },
        { name: 'tests', command: 'echo "FAIL math.test: expected 3, got 4"; echo "1 failed" >&2; exit 2' },
        { name: 'never', command: 'touch ran.txt' },
      ],
      { runner, cwd: dir, timeoutMs: 5000 },
    );
    assert.equal(res.status, 'failed');
    assert.match(res.reason ?? '', /check "tests" failed: exited with code 2/);
    const [ok, failed, skipped] = res.checks;
    assert.equal(ok.status, 'passed');
    assert.equal(failed.status, 'failed');
    assert.equal(failed.exitCode, 2);
    assert.equal(failed.reason, 'exited with code 2');
    assert.match(failed.output, /FAIL math\.test: expected 3, got 4\n1 failed/);
    assert.equal(skipped.status, 'skipped');
    assert.equal(skipped.reason, EARLIER_FAILED_REASON);
    assert.equal(existsSync(join(dir, 'ran.txt')), false, 'a check after a failure must not run');
  }),
);

test(
  'long failing output is cut to the failure block and the tail',
  withTempDir(async (dir) => {
    const script = [
      'i=0; while [ $i -lt 200 ]; do echo "compiling module $i"; i=$((i+1)); done',
      'echo "src/a.ts(3,1): error TS2322: Type string is not assignable to number."',
      'echo "    at line 3 of a.ts"',
      'echo',
      'i=0; while [ $i -lt 200 ]; do echo "linking object $i"; i=$((i+1)); done',
      'echo "build stopped"; exit 1',
    ].join('\n');
    const res = await runChecks([{ name: 'build', command: script }], {
      runner,
      cwd: dir,
      timeoutMs: 10_000,
      maxTailChars: 600,
    });
    const out = res.checks[0].output;
    assert.ok(out.length <= 600, `output is ${out.length} chars`);
    assert.ok(out.startsWith('src/a.ts(3,1): error TS2322'), out);
    assert.match(out, /at line 3 of a\.ts\n…\n/);
    assert.ok(out.endsWith('linking object 199\nbuild stopped'), out);
    assert.doesNotMatch(out, /compiling module/);
  }),
);

test(
  'a check that runs past its time-out is killed and reported as timed out',
  withTempDir(async (dir) => {
    const started = Date.now();
    const res = await runChecks(
      [
        { name: 'slow', command: 'echo started; sleep 30', timeoutMs: 300 },
        { name: 'after', command: 'true' },
      ],
      { runner, cwd: dir, timeoutMs: 60_000 },
    );
    assert.ok(Date.now() - started < 5000, 'the per-check time-out must win over the context one');
    const slow = res.checks[0];
    assert.equal(res.status, 'failed');
    assert.equal(slow.status, 'failed');
    assert.equal(slow.timedOut, true);
    assert.equal(slow.reason, 'timed out after 0.3 s');
    assert.equal(slow.output, 'started');
    assert.equal(res.checks[1].status, 'skipped');
    const message = formatFailureForAgent(slow);
    assert.match(message, /Check "slow" failed: `echo started; sleep 30` timed out after 0\.3 s/);
  }),
);

test(
  'an abort stops the running check and skips the rest',
  withTempDir(async (dir) => {
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 200);
    const started = Date.now();
    const res = await runChecks(
      [
        { name: 'long', command: 'sleep 30' },
        { name: 'next', command: 'touch ran.txt' },
      ],
      { runner, cwd: dir, timeoutMs: 60_000, signal: ac.signal },
    );
    assert.ok(Date.now() - started < 5000);
    assert.equal(res.status, 'stopped', 'a check cut short by a stop did not fail');
    assert.equal(res.reason, STOPPED_REASON);
    assert.equal(res.checks[0].status, 'stopped');
    assert.deepEqual([res.checks[1].status, res.checks[1].reason], ['skipped', STOPPED_REASON]);
    assert.equal(existsSync(join(dir, 'ran.txt')), false);
    const before = await runChecks([{ name: 'x', command: 'touch ran.txt' }], {
      runner,
      cwd: dir,
      timeoutMs: 1000,
      signal: ac.signal,
    });
    assert.deepEqual([before.status, before.checks[0].status], ['stopped', 'skipped']);
    assert.equal(existsSync(join(dir, 'ran.txt')), false, 'nothing runs once aborted');
  }),
);

test('relevantTail returns short output whole and a plain tail when nothing looks like a failure', () => {
  assert.equal(relevantTail('a\nb\n\n', 100), 'a\nb');
  const lines = Array.from({ length: 100 }, (_, i) => `line ${i}`).join('\n');
  const tail = relevantTail(lines, 50);
  assert.ok(tail.length <= 50);
  assert.ok(tail.endsWith('line 99'));
  assert.ok(!tail.includes('…'));
  assert.equal(relevantTail('x'.repeat(500), 20), 'x'.repeat(20));
});

test('relevantTail keeps the first failure block ahead of the tail', () => {
  const noise = (p: string, n: number): string[] => Array.from({ length: n }, (_, i) => `${p} ${i}`);
  const output = [
    ...noise('setup', 50),
    'Traceback (most recent call last):',
    '  File "t.py", line 3, in <module>',
    'AssertionError: 1 != 2',
    '',
    ...noise('teardown', 80),
    'not ok 7 - adds',
  ].join('\n');
  const out = relevantTail(output, 300);
  assert.ok(out.length <= 300, `${out.length}`);
  assert.ok(
    out.startsWith(
      'Traceback (most recent call last):\n  File "t.py", line 3, in <module>\nAssertionError: 1 != 2\n…\n',
    ),
    out,
  );
  assert.ok(out.endsWith('teardown 79\nnot ok 7 - adds'));
  assert.doesNotMatch(out, /setup/);
});

test('relevantTail does not duplicate a failure already in the tail', () => {
  const output = [...Array.from({ length: 60 }, (_, i) => `ok ${i}`), '✖ broken', 'done'].join('\n');
  const out = relevantTail(output, 100);
  assert.equal(out.match(/✖ broken/g)?.length, 1);
  assert.ok(!out.includes('…'));
});

test('isFailureLine recognises failure markers but not all-clear summaries', () => {
  for (const l of [
    'TypeError: x is undefined',
    'FAIL src/a.test.ts',
    '✗ adds',
    'not ok 3 - sums',
    'thread main panicked at',
    'AssertionError',
  ]) {
    assert.equal(isFailureLine(l), true, l);
  }
  for (const l of ['Found 0 errors.', '# fail 0', 'compiled successfully', 'ok 3 - sums', 'no failures']) {
    assert.equal(isFailureLine(l), false, l);
  }
});

test('formatFailureForAgent names the check, command, exit code and output', () => {
  const failed: CheckResult = {
    name: 'test',
    command: 'npm run test --silent',
    status: 'failed',
    exitCode: 1,
    timedOut: false,
    durationMs: 1200,
    output: 'expected 3, got 4',
    reason: 'exited with code 1',
  };
  const msg = formatFailureForAgent(failed);
  assert.match(msg, /^Check "test" failed: `npm run test --silent` exited with code 1\./);
  assert.match(msg, /expected 3, got 4/);
  assert.match(formatFailureForAgent({ ...failed, output: '' }), /printed no output/);
  assert.match(
    formatFailureForAgent({ ...failed, status: 'skipped', reason: EARLIER_FAILED_REASON }),
    /was not run: an earlier check failed/,
  );
});

test(
  'a check that failed before a stop still fails the round; the stop only marks what it cut short',
  withTempDir(async (dir) => {
    const ac = new AbortController();
    // The stop comes just as the failing check ends, before the next would start.
    const stopAfterFirst: ProcessRunner = {
      run: async (command, opts) => {
        const result = await runner.run(command, opts);
        ac.abort();
        return result;
      },
    };
    const res = await runChecks(
      [
        { name: 'broken', command: 'exit 3' },
        { name: 'after', command: 'true' },
      ],
      { runner: stopAfterFirst, cwd: dir, timeoutMs: 10_000, signal: ac.signal },
    );
    assert.equal(res.status, 'failed');
    assert.deepEqual(
      res.checks.map((c) => [c.status, c.reason]),
      [
        ['failed', 'exited with code 3'],
        ['skipped', EARLIER_FAILED_REASON],
      ],
    );
  }),
);
