/**
 * The sandbox as an agent meets it: real bubblewrap, a real worktree of a real temporary
 * repository, the real task runner. Every escape a hostile agent tried (issue 8) is run inside,
 * and the test checks from outside that nothing changed: the developer's checkout and its shared
 * git directory (refs, config, hooks), the folders around the worktree, the system temp folder,
 * the home folder, Foreman's environment, the network, and the processes left behind.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { resolveSettings } from '../../src/app/settings';
import { openWorkspace } from '../../src/app/workspace';
import { sandboxGate } from '../../src/cli/commands/run';
import { EXIT } from '../../src/cli/context';
import type { CommandContext } from '../../src/cli/context';
import type { TaskRunner } from '../../src/core/ports';
import { DEFAULT_SANDBOX_SETTINGS } from '../../src/core/sandbox';
import type { SandboxSettings } from '../../src/core/sandbox';
import { createBubblewrapSandbox } from '../../src/infra/bubblewrap';
import { createGitRepo } from '../../src/infra/gitRepo';
import type { GitRepo } from '../../src/infra/gitRepo';
import { createTaskRunners } from '../../src/infra/taskRunners';
import type { TaskPlace, TaskRunners } from '../../src/infra/taskRunners';
import { makeTempRepo } from './tempRepo';
import type { TempRepo } from './tempRepo';

const CANARY = `canary-${randomBytes(6).toString('hex')}`;
/** A unique word in the names of files the escapes try to make, and in their sleep durations. */
const TAG = randomBytes(4).toString('hex');

let t: TempRepo;
let repo: GitRepo;
let runners: TaskRunners;
let place: TaskPlace;
let runner: TaskRunner;
const saved = { ...process.env };

function runnersWith(settings: Partial<SandboxSettings> = {}, bwrapPath?: string): TaskRunners {
  return createTaskRunners({
    settings: { ...DEFAULT_SANDBOX_SETTINGS, ...settings },
    sandbox: createBubblewrapSandbox(bwrapPath === undefined ? {} : { bwrapPath }),
  });
}

before(async () => {
  // Secrets in Foreman's own environment, under names no deny-list would catch.
  Object.assign(process.env, {
    FOREMAN_API_KEY: `sk-${CANARY}`,
    DATABASE_URL: `postgres://u:${CANARY}@db/app`,
    HARMLESS_LOOKING: CANARY,
  });
  t = makeTempRepo({
    files: {
      'README.md': '# sandboxed\n',
      'package.json': '{ "name": "sandboxed", "private": true }\n',
      'test/ok.test.js': "const test = require('node:test');\ntest('passes', () => {});\n",
    },
  });
  runners = runnersWith();
  repo = await createGitRepo({ cwd: t.root, worktreeRoot: t.worktreeRoot, runners });
  const wt = await repo.ensureWorktree('r1', 't1', t.git(['rev-parse', 'HEAD']).trim(), null);
  place = repo.taskPlace('r1', 't1', wt.path);
  runner = await runners.open(place);
});

after(async () => {
  await runner.close();
  for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
  Object.assign(process.env, saved);
  t.cleanup();
});

/** Run in the task's sandbox, in its worktree. */
function sh(command: string, timeoutMs = 20_000, signal?: AbortSignal) {
  return runner.run(command, { cwd: place.worktree, timeoutMs, signal, maxOutputBytes: 1 << 20 });
}

/** Path → content hash of every file under `dir` (links by their target), leaving out `skip`. */
function tree(dir: string, skip: (path: string) => boolean = () => false): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (skip(p)) continue;
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) out.set(relative(dir, p), createHash('sha1').update(readFileSync(p)).digest('hex'));
      else out.set(relative(dir, p), `${e.isSymbolicLink() ? 'link' : 'other'}`);
    }
  };
  walk(dir);
  return out;
}

/**
 * Everything outside the task's own places that an escape could change: the temporary directory
 * holding the checkout, its .git and the worktrees (the task's worktree and scratch folder left
 * out), plus the names of this test's files in the system temp folder and the home folder.
 */
function outside(): { files: Map<string, string>; stray: string[] } {
  const mine = (p: string): boolean => p === place.worktree || p === place.scratch;
  const files = tree(t.tmp, mine);
  const stray = [tmpdir(), homedir(), '/'].flatMap((d) => readdirSync(d).filter((n) => n.includes(TAG)));
  return { files, stray };
}

const head = (): string => t.git(['rev-parse', 'main']).trim();

test('escapes through the shell change nothing outside the worktree', async () => {
  const before = outside();
  const main = head();
  const escapes = [
    'echo x > ../f',
    `echo x > ${join(dirname(place.worktree), `sibling-${TAG}`)}`,
    `echo x > ${t.root}/README.md`,
    `echo x > ${t.root}/new-${TAG}.txt`,
    `node -e "require('fs').writeFileSync('${t.root}/node-${TAG}.txt', 'x')"`,
    `echo 0000000000000000000000000000000000000000 > ${t.root}/.git/refs/heads/main`,
    `git update-ref refs/heads/main HEAD~0 && git branch evil-${TAG}`,
    `printf '[core]\\n\\thooksPath = /tmp\\n' >> ${t.root}/.git/config`,
    `git config core.hooksPath /tmp/hooks-${TAG}`,
    `printf '#!/bin/sh\\nenv > /tmp/leak-${TAG}\\n' > ${t.root}/.git/hooks/post-commit`,
    `echo x > ${t.root}/.git/hooks/x`,
    `echo x > /tmp/shell-${TAG}`,
    `node -e "require('fs').writeFileSync('/tmp/node-${TAG}', 'x')"`,
    `echo x > ${homedir()}/home-${TAG}`,
    `echo x > /home-${TAG}`,
    `dd if=/dev/zero of=/dev/sda-${TAG} bs=1M count=1`,
    `rm ${t.root}/package.json`,
    `chmod 777 ${t.root}/.git`,
  ];
  for (const command of escapes) {
    const r = await sh(command);
    assert.notEqual(r.exitCode, 0, `${command} succeeded:\n${r.output}`);
  }
  assert.deepEqual(outside(), before, 'something outside the worktree changed');
  assert.equal(head(), main, "the developer's main moved");
  assert.deepEqual(t.snapshot().status, '', "the developer's checkout changed");
});

test('root inside has no capabilities: no remount, no sysctl, no further namespaces', async () => {
  const pattern = readFileSync('/proc/sys/kernel/core_pattern', 'utf8').trim();
  // Writing the value it already has: harmless even if a broken sandbox let it through.
  const sysctl = await sh(`printf '%s\\n' '${pattern}' > /proc/sys/kernel/core_pattern`);
  assert.notEqual(sysctl.exitCode, 0, sysctl.output);
  const remount = await sh('mount -o remount,rw,bind / 2>&1; touch /usr/x-' + TAG);
  assert.notEqual(remount.exitCode, 0, remount.output);
  assert.equal(existsSync(`/usr/x-${TAG}`), false);
  const caps = await sh("grep -E '^Cap(Eff|Prm|Bnd):' /proc/self/status");
  for (const line of caps.output.trim().split('\n')) assert.match(line, /:\s+0+$/, caps.output);
  const userns = await sh('unshare -U -r true');
  assert.notEqual(userns.exitCode, 0, userns.output);
});

test("no canary of Foreman's environment is visible: env, /proc/$PPID/environ, every /proc/*/environ", async () => {
  const r = await sh(
    'env; echo ---; cat /proc/$PPID/environ; echo; cat /proc/1/environ; echo; for f in /proc/[0-9]*/environ; do cat "$f"; echo; done; echo ---; ls /proc | grep -cE "^[0-9]+$"',
  );
  assert.equal(r.exitCode, 0, r.output);
  assert.ok(!r.output.includes(CANARY), `a canary leaked:\n${r.output}`);
  assert.match(r.output, /^PATH=/m);
  assert.match(r.output, new RegExp(`^HOME=${join(place.scratch, 'home')}$`, 'm'));
  assert.ok(Number(r.output.trim().split('\n').at(-1)) < 10, `it sees the host's processes:\n${r.output}`);
  assert.equal((await sh(`test -e /proc/${process.pid}/environ || echo gone`)).output.trim(), 'gone');
});

test('no network by default: a server on 127.0.0.1 is not reached; with network "host" it is', async () => {
  let hits = 0;
  const server: Server = createServer((_req, res) => {
    hits++;
    res.end('reached');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  const fetch = `node -e "require('http').get('http://127.0.0.1:${port}/', (r) => { r.pipe(process.stdout); r.on('end', () => process.exit(0)); }).on('error', (e) => { console.log('ERR ' + e.code); process.exit(3); })"`;
  try {
    const blocked = await sh(fetch);
    assert.equal(blocked.exitCode, 3, blocked.output);
    assert.match(blocked.output, /ERR ECONNREFUSED|ERR ENETUNREACH/);
    const curl = await sh(`exec 3<>/dev/tcp/127.0.0.1/${port} && echo OPEN`);
    assert.doesNotMatch(curl.output, /OPEN/);
    assert.equal(hits, 0);
    const host = runnersWith({ network: 'host' });
    const open = await host.open(place);
    const reached = await open.run(fetch, { cwd: place.worktree, timeoutMs: 20_000 });
    assert.equal(reached.exitCode, 0, reached.output);
    assert.match(reached.output, /reached/);
    assert.equal(hits, 1);
  } finally {
    await new Promise((resolve) => server.close(resolve));
    // The network test opened the same place again: the shared runner's folders must be back.
    runner = await runners.open(place);
  }
});

test('no Unix sockets: a socket file on the host (think docker.sock) cannot be reached', async () => {
  const path = join(t.tmp, `sock-${TAG}`);
  let connections = 0;
  const server = createNetServer((c) => {
    connections++;
    c.end('hello');
  });
  await new Promise<void>((resolve) => server.listen(path, resolve));
  try {
    const r = await sh(
      `node -e "require('net').connect('${path}').on('data', (d) => { console.log('GOT ' + d); process.exit(0); }).on('error', (e) => { console.log('ERR ' + e.code); process.exit(3); })"`,
    );
    assert.equal(r.exitCode, 3, r.output);
    assert.match(r.output, /ERR EPERM/);
    assert.equal(connections, 0);
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
});

/**
 * Host pids of processes whose command line contains `word` (zombies have none and are left out),
 * or, with `exact`, is exactly `word`.
 */
function pidsWith(word: string, exact = false): number[] {
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const line = readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0').join(' ').trim();
      if (exact ? line === word : line.includes(word)) pids.push(Number(name));
    } catch {
      // The process ended between the listing and the read.
    }
  }
  return pids;
}

/** How many of the sleeps `sleep <n>1`, `sleep <n>2`, … run now. */
function sleepers(n: number, digits: string): number {
  return [...digits].filter((d) => pidsWith(`sleep ${n}${d}`, true).length > 0).length;
}

async function noneLeft(word: string, ms = 3000): Promise<number[]> {
  const end = Date.now() + ms;
  let left = pidsWith(word);
  while (left.length && Date.now() < end) {
    await new Promise((r) => setTimeout(r, 50));
    left = pidsWith(word);
  }
  return left;
}

test('setsid and setsid -f do not outlive the command, its time-out or an abort', async () => {
  const n = 3000 + (parseInt(TAG.slice(0, 4), 16) % 5000);
  const done = await sh(`setsid sleep ${n}1 & setsid -f sleep ${n}2; nohup sleep ${n}3 >/dev/null 2>&1 & echo started`);
  assert.equal(done.exitCode, 0, done.output);
  assert.deepEqual(await noneLeft(`sleep ${n}`), [], 'a detached process outlived the command');

  const timedOut = await sh(`setsid -f sleep ${n}4; setsid sleep ${n}5 & sleep ${n}6`, 700);
  assert.equal(timedOut.timedOut, true);
  assert.deepEqual(await noneLeft(`sleep ${n}`), [], 'a detached process outlived the time-out');

  const ac = new AbortController();
  const running = sh(`setsid -f sh -c 'trap "" TERM; sleep ${n}7'; sleep ${n}8`, 60_000, ac.signal);
  const end = Date.now() + 5000;
  while (sleepers(n, '7') === 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
  assert.equal(sleepers(n, '7'), 1, 'the detached sleep never started');
  ac.abort();
  assert.equal((await running).aborted, true);
  assert.deepEqual(await noneLeft(`sleep ${n}`), [], 'a detached process outlived the abort');
});

test('the worktree, HOME and TMPDIR are writable; git reads; `node --test` runs and reports for real', async () => {
  const r = await sh(
    `echo ok > made.txt && mkdir -p a/b && echo y > a/b/c && echo h > "$HOME/h" && node -e "require('fs').writeFileSync(require('path').join(require('os').tmpdir(), 't'), 'x')" && git status --short && git log --oneline -1`,
  );
  assert.equal(r.exitCode, 0, r.output);
  assert.equal(readFileSync(join(place.worktree, 'made.txt'), 'utf8'), 'ok\n');
  assert.equal(readFileSync(join(place.worktree, 'a/b/c'), 'utf8'), 'y\n');
  assert.ok(statSync(join(place.scratch, 'home', 'h')).isFile());
  assert.equal(readFileSync(join(place.scratch, 'tmp', 't'), 'utf8'), 'x');
  const pass = await sh('node --test');
  assert.equal(pass.exitCode, 0, pass.output);
  assert.match(pass.output, /# pass 1/);
  writeFileSync(
    join(place.worktree, 'test/bad.test.js'),
    "const test = require('node:test');\ntest('fails', () => { throw new Error('no'); });\n",
  );
  const fail = await sh('node --test');
  assert.equal(fail.exitCode, 1, fail.output);
  assert.match(fail.output, /# fail 1/);
});

test("closing the task's runner removes its scratch folder", async () => {
  const other = await runners.open(repo.taskPlace('r1', 't2', place.worktree));
  const scratch = join(dirname(place.scratch), 't2');
  assert.equal((await other.run('echo x > "$HOME/x"', { cwd: place.worktree, timeoutMs: 10_000 })).exitCode, 0);
  assert.ok(existsSync(join(scratch, 'home', 'x')));
  await other.close();
  assert.equal(existsSync(scratch), false);
});

test("a command's output is captured in the task's own folder, not the system's temporary folder, and removed", async () => {
  const captures = (): string[] => readdirSync(place.scratch).filter((n) => n.startsWith('out-'));
  const before = new Set(readdirSync(tmpdir()));
  const r = await sh('ls "$(dirname "$TMPDIR")"');
  assert.equal(r.exitCode, 0, r.output);
  assert.match(r.output, /^out-[0-9a-f]{16}$/m, 'while it ran, its capture file was beside its tmp folder');
  assert.deepEqual(captures(), [], 'and it is gone once the command ended');
  assert.deepEqual(
    readdirSync(tmpdir()).filter((n) => !before.has(n) && n.startsWith('foreman-out-')),
    [],
    'nothing was left in the system temporary folder',
  );
});

test('where no sandbox can run, agent commands are refused with what to do, unless the sandbox is off', async () => {
  const missing = join(t.tmp, 'no-such-bwrap');
  const marker = join(place.worktree, `ran-${TAG}`);
  const refusing = runnersWith({}, missing);
  const state = await refusing.state();
  assert.equal(state.kind, 'unavailable');
  const r = await (await refusing.open(place)).run(`touch ${marker}`, { cwd: place.worktree, timeoutMs: 10_000 });
  assert.equal(r.exitCode, null);
  assert.match(r.output, /not started: Sandbox unavailable/);
  assert.match(r.output, /no-such-bwrap/);
  assert.match(r.output, /apt-get install bubblewrap/);
  assert.match(r.output, /foreman\.sandbox\.mode to "off"/);
  assert.equal(existsSync(marker), false, 'the refused command ran');

  const off = runnersWith({ mode: 'off' }, missing);
  assert.equal((await off.state()).kind, 'off');
  const ran = await (await off.open(place)).run(`touch ${marker} && env`, { cwd: place.worktree, timeoutMs: 10_000 });
  assert.equal(ran.exitCode, 0, ran.output);
  assert.ok(existsSync(marker));
  assert.ok(!ran.output.includes(CANARY), 'the environment is allow-listed with the sandbox off too');
  runner = await runners.open(place);
});

test('the CLI says first how agent commands will run, and refuses where no sandbox can', async () => {
  const lines: string[] = [];
  const ctx = {
    err: (line: string) => void lines.push(line),
    cl: { approve: 'never', approveTimeoutMs: 1000 },
  } as unknown as CommandContext;
  const broken = createBubblewrapSandbox({ bwrapPath: join(t.tmp, 'no-such-bwrap') });
  const on = resolveSettings({}, {}, {});
  const sandboxed = await sandboxGate(ctx, await openWorkspace(t.root, on));
  assert.ok(typeof sandboxed === 'object' && sandboxed.mode === 'never');
  assert.match(lines[0], /^Sandbox: bubblewrap \d+\.\d+.*: writes only to the task's worktree/);
  assert.match(lines[1], /^Approvals: commands the policy asks about are refused/);
  assert.equal(await sandboxGate(ctx, await openWorkspace(t.root, on, broken)), EXIT.refused);
  assert.match(lines[2], /^Sandbox unavailable: .*no-such-bwrap.*Agent commands are refused\..*--no-sandbox/);
  const off = resolveSettings({}, {}, { noSandbox: true });
  assert.equal(typeof (await sandboxGate(ctx, await openWorkspace(t.root, off, broken))), 'object');
  assert.match(lines[3], /^Sandbox OFF: /);
});

/**
 * Start a Foreman process that runs `command` in the sandbox of a task of its own, SIGKILL it once
 * `ready` holds, and return the pids of processes still mentioning `word` a few seconds later.
 */
async function killForeman(task: string, command: string, ready: () => boolean, word: string): Promise<number[]> {
  const script = [
    "const { createTaskRunners } = require('./src/infra/taskRunners');",
    "const { createBubblewrapSandbox } = require('./src/infra/bubblewrap');",
    "const settings = { mode: 'on', network: 'none', env: [] };",
    'const runners = createTaskRunners({ settings, sandbox: createBubblewrapSandbox() });',
    `runners.open(${JSON.stringify({ ...place, scratch: join(dirname(place.scratch), task) })})`,
    `  .then((r) => r.run(${JSON.stringify(command)}, { cwd: ${JSON.stringify(place.worktree)}, timeoutMs: 60000 }));`,
  ].join('\n');
  const foreman = spawn(process.execPath, ['--import', 'tsx', '-e', script], {
    cwd: join(__dirname, '..', '..'),
    stdio: 'ignore',
  });
  try {
    const end = Date.now() + 15_000;
    while (!ready() && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
    assert.ok(ready(), `${task}: the command never got that far`);
    foreman.kill('SIGKILL');
    return await noneLeft(word, 5000);
  } finally {
    foreman.kill('SIGKILL');
  }
}

test('kill -9 of Foreman takes every sandboxed process with it, also while the sandbox is being set up', async () => {
  const n = 5000 + (parseInt(TAG.slice(4), 16) % 4000);
  const command = `setsid -f sleep ${n}1; setsid sleep ${n}2 & sleep ${n}3`;
  // Killed as soon as bwrap runs: its init has not yet asked to die with its parent.
  const early = await killForeman('early', command, () => pidsWith(`sleep ${n}`).length >= 3, `sleep ${n}`);
  assert.deepEqual(early, [], 'a sandbox killed while being set up outlived Foreman');
  const late = await killForeman('late', command, () => sleepers(n, '123') === 3, `sleep ${n}`);
  assert.deepEqual(late, [], 'a running sandboxed command outlived Foreman');
});
