/**
 * Every dangerous payload of the command table (test/fixtures/commandPayloads.ts: each line the
 * default policy denies or asks about) run for real, with the policy bypassed ("told to allow
 * everything"), through the real task runner with the real bubblewrap sandbox, in real task
 * worktrees of a real temporary repository. Around them: canary secrets in Foreman's environment,
 * in the checkout's untracked files, beside the repository and in Foreman's home folder; a TCP
 * listener on 127.0.0.1 (the remote `origin` points at it, and the table's hosts are aimed at it)
 * and a Unix socket the commands are handed. Each line runs as Foreman runs it (`/bin/sh -c`), and
 * a line bash reads differently (`$'…'`, `<<<`, `/dev/tcp`) with bash too, in a worktree put back
 * as it was made, with the files the lines name. Afterwards: the developer's repository is
 * byte-identical, nothing outside the worktrees and the tasks' scratch folders changed, no
 * connection arrived, no output holds a canary, and no process is left.
 *
 * The payloads include `rm -rf /*`, `kill -9 -1` and `pkill node`, run as whatever user runs the
 * tests. They run only after the sandbox has proved itself on (its own PID namespace, a
 * read-only root); the runner never falls back to running without it. HOME is a folder of the test's.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import type { ProcessResult, TaskRunner } from '../../src/core/ports';
import { DEFAULT_SANDBOX_SETTINGS } from '../../src/core/sandbox';
import { createBubblewrapSandbox } from '../../src/infra/bubblewrap';
import { createGitRepo } from '../../src/infra/gitRepo';
import { createTaskRunners } from '../../src/infra/taskRunners';
import type { TaskPlace } from '../../src/infra/taskRunners';
import { DANGEROUS } from '../fixtures/commandPayloads';
import {
  canaryEnv,
  controlConnections,
  digestChanges,
  newCanary,
  pathStates,
  plantCanaryFiles,
  processesIn,
  startListeners,
  treeDigest,
} from './canaries';
import type { Listeners, PlantedFiles } from './canaries';
import { makeTempRepo } from './tempRepo';
import type { TempRepo } from './tempRepo';

/** Payloads at once (one task worktree each), and how long one may run (loops, npx, `find /`). */
const LANES = 4;
const TIMEOUT_MS = 5000;

/** The checkout's committed files. */
const COMMITTED: Record<string, string> = {
  'README.md': '# payloads\n',
  '.gitignore': '.env\nsecrets/\n',
  'package.json': '{ "private": true, "scripts": { "test": "node -e 0" } }\n',
};

/** Files the payloads name, put in the worktree before each, so that each has something to work on. */
const SEEDS: Record<string, string> = {
  'build/out.js': 'built\n',
  'payload.txt': 'echo pwned > ../pwned.txt; cat "$(git rev-parse --git-common-dir)/../.env"\n',
  'hook.sh': '#!/bin/sh\nenv > /tmp/leak\n',
  'evil.sh': '#!/bin/sh\nenv > /tmp/leak\n',
  'files.txt': '../README.md\n/etc/hosts\n',
  'list.txt': 'a\n',
  'file.txt': 'a\n',
  'a.txt': 'a\n',
  tool: '#!/bin/sh\n',
  'bin/tool': '#!/bin/sh\n',
  'shared/x': 'x\n',
  'jobs.txt': '* * * * * touch /tmp/cron\n',
};

/** Lines with what only bash reads (`$'…'`, `<<<`, `<(…)`, `/dev/tcp`): run with bash as well as sh. */
const BASH_ONLY = /\$'|<<<|[<>]\(|\[\[|\bbuiltin\b|>&|\/dev\/tcp|\bsource\b|\$\{IFS\}|^\{|\{m,/;

const CANARY = newCanary();
const saved = { ...process.env };
/** The home folder of whoever runs the tests, before HOME is pointed at the test's own. */
const REAL_HOME = homedir();

let t: TempRepo;
let listeners: Listeners;
/** A task worktree with its runner, and its `.git` file (a payload may remove it). */
interface Lane {
  place: TaskPlace;
  runner: TaskRunner;
  gitFile: string;
}
const lanes: Lane[] = [];
let planted: PlantedFiles;
let outsideBefore: Map<string, string>;
let pathsBefore: Map<string, string>;
let checkoutBefore: ReturnType<TempRepo['snapshot']>;
const results: { line: string; result: ProcessResult }[] = [];
let elapsedMs = 0;

/** The table's hosts and ports aimed at the test's listener, so that any connection would count. */
function aimed(line: string, port: number): string {
  return line
    .replace(/https?:\/\/x\.example/g, `http://127.0.0.1:${port}`)
    .replace(/(?:evil\.example|10\.0\.0\.1)([/: ])(?:80|4444)\b/g, `127.0.0.1$1${port}`);
}

/** A shell word holding `text` as it is. */
const quoted = (text: string): string => `'${text.replace(/'/g, "'\\''")}'`;

/**
 * Ways to the secrets and the listeners the table has no line for: Foreman's environment through
 * /proc, the planted files by their paths, the socket by its path, the port from code.
 */
function probes(port: number): string[] {
  const files = planted.files.map(quoted).join(' ');
  return [
    'env; printenv',
    'cat /proc/$PPID/environ; cat /proc/1/environ; for f in /proc/[0-9]*/environ; do cat "$f"; done',
    `cat ${files}`,
    'cat "$(git rev-parse --git-common-dir)/../.env" "$(git rev-parse --git-common-dir)/../secrets/notes.txt"',
    `grep -rs SECRET= "$(git rev-parse --git-common-dir)/../.." ${quoted(planted.home)} /tmp`,
    `ls -la ${quoted(planted.home)} ${quoted(t.root)} /tmp`,
    'nc -U "$SOCKET" < /dev/null',
    'socat - UNIX-CONNECT:"$SOCKET" < /dev/null',
    'curl -s --unix-socket "$SOCKET" http://localhost/',
    'docker -H "unix://$SOCKET" ps',
    `node -e "require('net').connect(process.env.SOCKET).on('connect', () => console.log('CONNECTED'))"`,
    `python3 -c "import os, socket; s = socket.socket(socket.AF_UNIX); s.connect(os.environ['SOCKET'])"`,
    `node -e "require('net').connect(${port}, '127.0.0.1').on('connect', () => console.log('CONNECTED'))"`,
    `nc -z 127.0.0.1 ${port}`,
    'git push origin HEAD:refs/heads/stolen',
  ];
}

/** Each line as Foreman runs it (`/bin/sh -c`), and those bash reads differently, with bash too. */
function variants(lines: string[]): string[] {
  return lines.flatMap((l) => (BASH_ONLY.test(l) ? [l, `bash -c ${quoted(l)}`] : [l]));
}

/** Put the lane's worktree back as it was made, with the seeds: the last payload may have emptied it. */
function restore(lane: Lane): void {
  const wt = lane.place.worktree;
  for (const name of readdirSync(wt)) rmSync(join(wt, name), { recursive: true, force: true });
  writeFileSync(join(wt, '.git'), lane.gitFile);
  for (const [rel, content] of Object.entries({ ...COMMITTED, ...SEEDS })) {
    mkdirSync(dirname(join(wt, rel)), { recursive: true });
    writeFileSync(join(wt, rel), content, { mode: 0o755 });
  }
}

/** Absolute paths outside the temporary folder that the payloads name: they must be as they were. */
function namedPaths(lines: string[]): string[] {
  const named = lines.flatMap((l) => l.match(/(?<![\w.])\/(?:tmp|etc|work)\/[\w.-]+(?:\/[\w.-]+)*/g) ?? []);
  return [...new Set([...named, join(REAL_HOME, '.bashrc')])].sort();
}

/**
 * Refuse to go on unless commands really run sandboxed: in a PID namespace of their own and
 * unable to write outside. Anything else, and `rm -rf /*` would be run on this machine.
 */
async function proveSandboxed(runner: TaskRunner, place: TaskPlace): Promise<void> {
  const marker = join(t.tmp, 'must-not-exist');
  const r = await runner.run(`ls /proc | grep -c '^[0-9]*$'; touch '${marker}' 2>/dev/null && echo WROTE`, {
    cwd: place.worktree,
    timeoutMs: 20_000,
  });
  const pids = Number(r.output.trim().split('\n')[0]);
  if (r.exitCode === null || !(pids > 0 && pids < 10) || r.output.includes('WROTE'))
    throw new Error(`refusing to run the payloads: the sandbox is not on here (${r.output.trim()})`);
}

before(async () => {
  Object.assign(process.env, canaryEnv(CANARY));
  t = makeTempRepo({ files: COMMITTED });
  planted = plantCanaryFiles(t, CANARY);
  process.env.HOME = planted.home;
  listeners = await startListeners(join(t.tmp, 'sockets'));
  await controlConnections(listeners);
  t.git(['remote', 'add', 'origin', `http://127.0.0.1:${listeners.port}/r.git`]);
  const runners = createTaskRunners({ settings: DEFAULT_SANDBOX_SETTINGS, sandbox: createBubblewrapSandbox() });
  const state = await runners.state();
  if (state.kind !== 'on') throw new Error(`refusing to run the payloads: ${JSON.stringify(state)}`);
  const repo = await createGitRepo({ cwd: t.root, worktreeRoot: t.worktreeRoot, runners });
  const head = t.git(['rev-parse', 'HEAD']).trim();
  for (let i = 0; i < LANES; i++) {
    const wt = await repo.ensureWorktree('r1', `lane${i}`, head, null);
    // The task's branch one commit ahead of main, so that `git push . HEAD:main` would move main.
    t.write('lane.txt', `lane ${i}\n`, wt.path);
    t.git(['add', 'lane.txt'], wt.path);
    t.git(['commit', '-q', '-m', `lane ${i}`], wt.path);
    const place = repo.taskPlace('r1', `lane${i}`, wt.path);
    const runner = await runners.open(place);
    await proveSandboxed(runner, place);
    lanes.push({ place, runner, gitFile: readFileSync(join(wt.path, '.git'), 'utf8') });
  }
  const mine = new Set(lanes.flatMap((l) => [l.place.worktree, l.place.scratch]));
  outsideBefore = treeDigest(t.tmp, (p) => mine.has(p));
  pathsBefore = pathStates(namedPaths(DANGEROUS));
  checkoutBefore = t.snapshot();
});

after(async () => {
  for (const lane of lanes) await lane.runner.close();
  await listeners?.close();
  for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
  Object.assign(process.env, saved);
  t?.cleanup();
});

test(`every dangerous payload of the table (${DANGEROUS.length}) runs in the sandbox, ${LANES} at a time`, async (ctx) => {
  const lines = variants([...DANGEROUS.map((l) => aimed(l, listeners.port)), ...probes(listeners.port)]);
  const queue = [...lines];
  const started = Date.now();
  await Promise.all(
    lanes.map(async (lane) => {
      for (let line = queue.shift(); line !== undefined; line = queue.shift()) {
        restore(lane);
        const env = { SOCKET: listeners.socketPath };
        const result = await lane.runner.run(line, { cwd: lane.place.worktree, timeoutMs: TIMEOUT_MS, env });
        results.push({ line, result });
      }
    }),
  );
  elapsedMs = Date.now() - started;
  ctx.diagnostic(`${lines.length} lines in ${(elapsedMs / 1000).toFixed(1)} s`);
  ctx.diagnostic(`timed out: ${results.filter((r) => r.result.timedOut).length}`);
  assert.equal(results.length, lines.length);
  const notRun = results.filter(({ result }) => /^\[(not started|failed to start)/.test(result.output));
  assert.deepEqual(
    notRun.map((r) => `${r.line}: ${r.result.output}`),
    [],
    'each line ran in the sandbox',
  );
  const visible = await lanes[0].runner.run('test -S "$SOCKET" && echo VISIBLE', {
    cwd: lanes[0].place.worktree,
    timeoutMs: 20_000,
    env: { SOCKET: listeners.socketPath },
  });
  assert.match(visible.output, /VISIBLE/, 'the socket was there to connect to: only the sandbox kept them apart');
});

test("the developer's repository and everything outside the worktrees and scratch folders are byte-identical", () => {
  const mine = new Set(lanes.flatMap((l) => [l.place.worktree, l.place.scratch]));
  assert.deepEqual(
    digestChanges(
      outsideBefore,
      treeDigest(t.tmp, (p) => mine.has(p)),
    ),
    [],
  );
  assert.deepEqual(t.snapshot(), checkoutBefore, "the developer's HEAD, branch and status");
  assert.deepEqual(digestChanges(pathsBefore, pathStates(namedPaths(DANGEROUS))), []);
});

test('no connection reached the TCP listener or the Unix socket', () => {
  assert.deepEqual(listeners.counts(), [0, 0]);
  const connected = results.filter((r) => /CONNECTED|hello from the listener/.test(r.result.output));
  assert.deepEqual(
    connected.map((r) => r.line),
    [],
  );
});

test('no output holds a canary', () => {
  const leaked = results.filter((r) => r.result.output.includes(CANARY));
  assert.deepEqual(
    leaked.map((r) => `${r.line}:\n${r.result.output}`),
    [],
  );
});

test('no process is left working in the temporary folder', async () => {
  let left = processesIn(t.tmp);
  for (let i = 0; i < 40 && left.length > 0; i++) {
    await new Promise((r) => setTimeout(r, 50));
    left = processesIn(t.tmp);
  }
  assert.deepEqual(left, []);
});
