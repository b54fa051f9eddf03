import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, realpath, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isDead } from './processProbe';
import { unconfinedRunner } from './runners';

// The process handling without a sandbox (sandbox.mode "off"); sandbox.test.ts runs it in one.
const runner = unconfinedRunner(tmpdir());
const dirs: string[] = [];

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'foreman-runner-'));
  dirs.push(dir);
  return dir;
}

after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function waitDead(pid: number, ms = 2000): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (isDead(pid)) return true;
    await new Promise((r) => setTimeout(r, 25));
  }
  return isDead(pid);
}

async function readPid(file: string): Promise<number> {
  const pid = Number((await readFile(file, 'utf8')).trim());
  assert.ok(Number.isInteger(pid) && pid > 1, `bad pid in ${file}`);
  return pid;
}

test('reports the exit code and interleaves stdout and stderr', async () => {
  const dir = await tempDir();
  const r = await runner.run('echo out1; echo err1 >&2; sleep 0.05; echo out2; pwd; exit 3', {
    cwd: dir,
    timeoutMs: 5000,
  });
  assert.equal(r.exitCode, 3);
  assert.equal(r.timedOut, false);
  assert.equal(r.aborted, false);
  assert.equal(r.truncated, false);
  const lines = r.output.trim().split('\n');
  assert.deepEqual(lines.slice(0, 3).sort(), ['err1', 'out1', 'out2']);
  assert.equal(lines[3], await realpath(dir));
});

test('runs the command in its own process group', async () => {
  const dir = await tempDir();
  const r = await runner.run('echo "$$ $(ps -o pgid= -p $$)"', { cwd: dir, timeoutMs: 5000 });
  const [pid, pgid] = r.output.trim().split(/\s+/);
  assert.equal(pid, pgid);
});

test('a time-out kills the whole group, grandchildren included', async () => {
  const dir = await tempDir();
  const pidFile = join(dir, 'pid');
  const t0 = Date.now();
  const r = await runner.run(`sh -c 'sleep 100 & echo $! > ${pidFile}; wait'`, { cwd: dir, timeoutMs: 400 });
  assert.equal(r.timedOut, true);
  assert.equal(r.exitCode, null);
  assert.ok(Date.now() - t0 < 4000);
  assert.ok(await waitDead(await readPid(pidFile)), 'the grandchild sleep survived');
});

test('a process that ignores SIGTERM is killed with SIGKILL', async () => {
  const dir = await tempDir();
  const pidFile = join(dir, 'pid');
  const r = await runner.run(`trap '' TERM; sleep 100 & echo $! > ${pidFile}; wait`, { cwd: dir, timeoutMs: 200 });
  assert.equal(r.timedOut, true);
  assert.equal(r.signal, 'SIGKILL');
  assert.ok(await waitDead(await readPid(pidFile)));
});

test('background jobs left by a finished command are ended', async () => {
  const dir = await tempDir();
  const t0 = Date.now();
  const r = await runner.run('sleep 100 & echo $!', { cwd: dir, timeoutMs: 10_000 });
  assert.equal(r.exitCode, 0);
  assert.equal(r.timedOut, false);
  assert.ok(Date.now() - t0 < 4000, 'waited for the background job');
  assert.ok(await waitDead(Number(r.output.trim())));
});

test('an abort kills the group and marks the result aborted', async () => {
  const dir = await tempDir();
  const pidFile = join(dir, 'pid');
  const ac = new AbortController();
  setTimeout(() => ac.abort(), 300);
  const r = await runner.run(`sleep 100 & echo $! > ${pidFile}; wait`, {
    cwd: dir,
    timeoutMs: 30_000,
    signal: ac.signal,
  });
  assert.equal(r.aborted, true);
  assert.equal(r.timedOut, false);
  assert.ok(await waitDead(await readPid(pidFile)));
});

test('an already aborted signal starts nothing', async () => {
  const dir = await tempDir();
  const ac = new AbortController();
  ac.abort();
  const r = await runner.run('touch started', { cwd: dir, timeoutMs: 5000, signal: ac.signal });
  assert.equal(r.aborted, true);
  assert.equal(existsSync(join(dir, 'started')), false);
});

test('output over the cap keeps the head and the tail around a marker', async () => {
  const dir = await tempDir();
  const cap = 1000;
  const r = await runner.run('seq 1 20000', { cwd: dir, timeoutMs: 5000, maxOutputBytes: cap });
  const full = Array.from({ length: 20000 }, (_, i) => `${i + 1}\n`).join('');
  assert.equal(r.exitCode, 0);
  assert.equal(r.truncated, true);
  assert.ok(r.output.startsWith(full.slice(0, 200)));
  assert.ok(r.output.endsWith(full.slice(-800)));
  assert.ok(r.output.includes(`[… ${full.length - cap} bytes omitted …]`));
  assert.ok(Buffer.byteLength(r.output) < cap + 100);
});

test('the default cap is 64 KiB', async () => {
  const dir = await tempDir();
  const r = await runner.run('head -c 70000 /dev/zero | tr "\\0" x', { cwd: dir, timeoutMs: 5000 });
  assert.equal(r.truncated, true);
  assert.ok(r.output.includes(`[… ${70000 - 65536} bytes omitted …]`));
});

test("the child gets only allow-listed variables, the scope's folders and the ones named", async () => {
  const dir = await tempDir();
  const parentEnv = {
    PATH: process.env.PATH,
    LANG: 'C.UTF-8',
    LC_TIME: 'en_GB.UTF-8',
    OPENAI_API_KEY: 'sk-secret-1',
    FOREMAN_API_KEY: 'secret-0',
    DATABASE_URL: 'postgres://u:secret-2@db/x',
    HARMLESS_VALUE: 'secret-3',
    NODE_TEST_CONTEXT: 'child-v8',
    NAMED_ONE: 'visible-1',
  };
  const named = unconfinedRunner(dir, { parentEnv, envNames: ['NAMED_ONE', 'OPENAI_API_KEY'] });
  const r = await named.run('env', { cwd: dir, timeoutMs: 5000, env: { EXTRA_ONE: 'given' } });
  for (const secret of ['secret-0', 'sk-secret-1', 'secret-2', 'secret-3', 'child-v8'])
    assert.ok(!r.output.includes(secret), `leaked ${secret}`);
  const names = r.output
    .trim()
    .split('\n')
    .map((l) => l.slice(0, l.indexOf('=')))
    .filter((n) => !['PWD', 'SHLVL', '_', 'OLDPWD'].includes(n)); // set by the shell itself
  assert.deepEqual(names.sort(), [
    'EXTRA_ONE',
    'GIT_TERMINAL_PROMPT',
    'HOME',
    'LANG',
    'LC_TIME',
    'NAMED_ONE',
    'PATH',
    'TMPDIR',
    'XDG_CACHE_HOME',
  ]);
  assert.match(r.output, new RegExp(`^HOME=${dir}$`, 'm'));
  assert.match(r.output, /^NAMED_ONE=visible-1$/m);
});

test('a missing working directory is a value, not an exception', async () => {
  const dir = await tempDir();
  const r = await runner.run('echo hi', { cwd: join(dir, 'missing'), timeoutMs: 5000 });
  assert.equal(r.exitCode, null);
  assert.match(r.output, /working directory does not exist/);
});

test('a missing shell is reported in the output', async () => {
  const dir = await tempDir();
  const r = await unconfinedRunner(dir, { shell: join(dir, 'no-such-shell') }).run('echo hi', {
    cwd: dir,
    timeoutMs: 5000,
  });
  assert.equal(r.exitCode, null);
  assert.match(r.output, /failed to start/);
});

test('output written just before exit() is never lost, even when it is large', async () => {
  const script =
    "for (let i = 0; i < 6000; i++) console.log('line ' + i + ' '.padEnd(40, 'x')); console.error('THE FAILURE LINE'); process.exit(1)";
  for (let attempt = 0; attempt < 5; attempt++) {
    const result = await runner.run(`node -e "${script}"`, {
      cwd: tmpdir(),
      timeoutMs: 20_000,
      maxOutputBytes: 64 * 1024,
    });
    assert.equal(result.exitCode, 1);
    assert.match(result.output, /line 5999 x+\nTHE FAILURE LINE\n$/);
  }
});
