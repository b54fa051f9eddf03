import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, realpath, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createProcessRunner, scrubEnv } from '../../src/infra/processRunner';
import { isDead } from './processProbe';

const runner = createProcessRunner();
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

test('the child never sees secrets from the parent environment', async () => {
  const dir = await tempDir();
  const saved = { ...process.env };
  Object.assign(process.env, {
    OPENAI_API_KEY: 'sk-secret-1',
    MY_TOKEN: 'secret-2',
    FOREMAN_ENDPOINT_X: 'secret-3',
    GITHUB_PAT: 'secret-4',
    db_password: 'secret-5',
    HARMLESS_VALUE: 'visible-1',
  });
  try {
    const r = await runner.run('env', { cwd: dir, timeoutMs: 5000, env: { EXTRA_ONE: 'given' } });
    for (const secret of ['sk-secret-1', 'secret-2', 'secret-3', 'secret-4', 'secret-5']) {
      assert.ok(!r.output.includes(secret), `leaked ${secret}`);
    }
    assert.match(r.output, /^PATH=/m);
    assert.match(r.output, /^HARMLESS_VALUE=visible-1$/m);
    assert.match(r.output, /^GIT_TERMINAL_PROMPT=0$/m);
    assert.match(r.output, /^EXTRA_ONE=given$/m);
  } finally {
    for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
    Object.assign(process.env, saved);
  }
});

test('scrubEnv drops secret-looking names and keeps the rest', () => {
  const out = scrubEnv({
    PATH: '/bin',
    HOME: '/home/x',
    ANTHROPIC_BASE_URL: 'u',
    AWS_REGION: 'r',
    npm_config__authToken: 't',
    SSH_AUTH_SOCK: 's',
    GH_HOST: 'h',
    LANG: 'C',
    UNDEF: undefined,
  });
  assert.deepEqual(out, { PATH: '/bin', HOME: '/home/x', LANG: 'C' });
});

test('a missing working directory is a value, not an exception', async () => {
  const dir = await tempDir();
  const r = await runner.run('echo hi', { cwd: join(dir, 'missing'), timeoutMs: 5000 });
  assert.equal(r.exitCode, null);
  assert.match(r.output, /working directory does not exist/);
});

test('a missing shell is reported in the output', async () => {
  const dir = await tempDir();
  const r = await createProcessRunner({ shell: join(dir, 'no-such-shell') }).run('echo hi', {
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
