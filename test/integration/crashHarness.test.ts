/**
 * The crash harness: `kill -9` of the real `foreman` CLI (dist/cli.js, agent commands in the
 * bubblewrap sandbox) at seeded random points of a scripted four-task run (one task depends on
 * another; two work at once; checks, review, merges, the integration branch's checks). Each kill
 * is followed by `foreman run --resume`, which is killed in turn, until enough kills have landed;
 * then a resume is let finish. When a run completes before that, a new run of the same plan
 * continues the chain. Half the kills (by the same seed) take the CLI alone, whose git children
 * then die of SIGPIPE at their next write or finish on their own; the other half take its whole
 * process group, git children included, as a container stop or `kill -9 -<pgid>` would.
 *
 * A kill counts ("lands") when the CLI died of it while it drove the run: after it took the run's
 * lock, before the run was finished. Where it landed is named by the journal's last event.
 * FOREMAN_CRASH_POINTS (default 50) sets how many must land, FOREMAN_CRASH_SEED the seed (printed).
 * The seed fixes the delays and what each kill takes; where they land also depends on the
 * machine's timing, so a replay comes close to a failure rather than onto it. FOREMAN_CRASH_KEEP=1
 * keeps the test's folder when it fails.
 * It runs dist/cli.js: build it first (`node esbuild.js`; `npm test` does).
 *
 * After every kill:
 * - the journal reads with the real reader (a torn last line is allowed and counted, nothing else);
 * - no process of the run is left: none in the CLI's process group (its git children) and none
 *   working in, or naming, the test's folder (the sandboxed commands), once those already exiting
 *   have exited (waited for, not assumed);
 * - nothing of Foreman's is in the system's temporary folder (the CLI's TMPDIR is a folder of the
 *   test's own, so other tests' files do not count).
 * After each run completes: every task merged, the integration branch's checks passed, no lock
 * file in the repository's git folder, nothing in Foreman's state folder but the runs' journals
 * and transcripts (the run's scratch folders `runs/<run>/tmp` are empty), no process left. At the
 * very end the developer's repository is byte for byte as before (HEAD, index, config, hooks,
 * info, every ref that is not Foreman's, every file of the checkout).
 *
 * "No completed step is redone", precisely. Each agent's script has run_command steps that append a
 * marker line `step <task> <n>` to `steps-<task>.log` in the task's worktree (n is the step's
 * place in the script, so a step asked of the model again carries the same marker). A step is
 * completed when its `tool_call` event is in the journal. Then, for every run:
 * - no marker is journaled in more than one `tool_call` event (a completed step never ran to the
 *   end again);
 * - no line appears twice in any `steps-<task>.log` of the integration branch (no step ran twice,
 *   even partly), and every completed run_command step's marker is there (its effect was kept);
 * - a task that was merged or verified at a kill gets no agent request after that kill (its agent
 *   is never asked to work again), read from the scripted server's request log.
 * A step in flight at the kill (sent to the model or running, its `tool_call` not journaled) may
 * or may not have had its effect: the resumed conversation answers it as interrupted and the
 * scripted model goes on with the next step, so its marker appears once, or not at all.
 */
import { test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { INTEGRATION_ID, integrationBranch } from '../../src/core/branches';
import type { JournalEvent } from '../../src/core/journal';
import type { RunState } from '../../src/core/runState';
import { listRunIds } from '../../src/infra/journalFile';
import { text, toolCall } from '../../src/scripted/scenario';
import type { Scenario, Step } from '../../src/scripted/scenario';
import type { ScriptedServer } from '../../src/scripted/server';
import { developerFingerprint, filesUnder, phaseOf, processesOf, seededRandom, settleIndex } from './crashProbes';
import {
  PROJECT_ROOT,
  journalPath,
  makeRepo,
  rawTask,
  readRun,
  routeOfBody,
  spawnCli,
  startServer,
  stateDir,
} from './runHarness';
import type { CliProcess, TempRepo } from './runHarness';

const POINTS = Number(process.env.FOREMAN_CRASH_POINTS ?? 50);
const SEED = Number(process.env.FOREMAN_CRASH_SEED ?? Math.floor(Math.random() * 2 ** 31));
/**
 * A kill lands uniformly within this long after the CLI took the run: longer than the longest
 * step that cannot be cut short without being done again (a task's checks and review), so a chain
 * of resumes moves on through the whole run.
 */
const KILL_WITHIN_MS = 2000;
const TASKS = ['a', 'b', 'c', 'd'] as const;
/**
 * Two tasks at once, the template's `node --test` as the check, review on. The step limit is
 * raised because kills spend it: a request cut by a kill was sent and counts, and a task killed
 * during its checks or review asks its agent once more when resumed. At a few hundred kills one
 * task can reach the default 40 that way, which is the limit doing its job, not a crash bug.
 */
const FLAGS = ['--concurrency', '2', '--check', 'test=node --test', '--max-steps', '400'];
const MARKER = /step [a-z] \d+/;

function marker(task: string, n: number): string {
  return `step ${task} ${n}`;
}

/** A write, two marker commands, another write, a third marker command, finish. */
function agentScript(task: string): Step[] {
  const mark = (n: number): Step =>
    toolCall('run_command', { command: `echo '${marker(task, n)}' >> steps-${task}.log` });
  return [
    toolCall('write_file', { path: `${task}.txt`, content: `${task}\n` }),
    mark(1),
    mark(2),
    toolCall('write_file', { path: `${task}-more.txt`, content: `more of ${task}\n` }),
    mark(4),
    toolCall('finish', { summary: `did ${task}` }),
  ];
}

const SCENARIO: Scenario = {
  agents: Object.fromEntries(TASKS.map((t) => [t, agentScript(t)])),
  reviewer: [text(JSON.stringify({ approved: true, comments: 'fine' }))],
};

/** What the harness has seen so far, for its report. */
interface Tally {
  landed: number;
  /** Landed kills by where the run was, and by what was killed. */
  phases: Map<string, number>;
  modes: Map<string, number>;
  torn: number;
  /** Lines of resumes that stopped a left-over process or undid a killed git command's leftovers. */
  takenBack: string[];
  runs: number;
  /** Runs killed after they had finished, before they let go of their lock (which stays, stale). */
  killedAfterFinish: Set<string>;
}

/** What was true at one kill: the requests answered so far, the tasks already done. */
interface KillMark {
  requests: number;
  done: string[];
}

interface Harness {
  repo: TempRepo;
  server: ScriptedServer;
  planFile: string;
  systemTmp: string;
  random: () => number;
  tally: Tally;
}

function startCli(h: Harness, args: string[]): CliProcess {
  return spawnCli([...args, ...FLAGS], {
    repo: h.repo,
    server: h.server,
    dist: true,
    detached: true,
    timeoutMs: 120_000,
    env: { TMPDIR: h.systemTmp },
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const exited = (cli: CliProcess) => cli.child.exitCode !== null || cli.child.signalCode !== null;

/** The id of a run not in `known`, once its journal exists; null when the CLI exits first. */
async function newRunOf(h: Harness, cli: CliProcess, known: Set<string>): Promise<string | null> {
  for (;;) {
    const ids = await listRunIds(stateDir(h.repo));
    const id = ids.find((r) => !known.has(r) && existsSync(journalPath(h.repo, r)));
    if (id) return id;
    if (exited(cli)) return null;
    await sleep(5);
  }
}

/** Wait until `cli` holds the run's lock (true), or has exited (false). */
async function untilDriving(h: Harness, cli: CliProcess, runId: string): Promise<boolean> {
  const lock = join(stateDir(h.repo), 'runs', runId, 'lock');
  for (;;) {
    if (exited(cli)) return false;
    try {
      if (readFileSync(lock, 'utf8').trim() === String(cli.pid)) return true;
    } catch {
      // Not taken yet.
    }
    await sleep(5);
  }
}

/** Kill the CLI alone or its whole process group, as the seed says; returns which. */
function kill(h: Harness, cli: CliProcess): string {
  const group = h.random() < 0.5;
  try {
    process.kill(group ? -cli.pid : cli.pid, 'SIGKILL');
  } catch {
    // ESRCH: it exited just before; its result says how.
  }
  return group ? 'process group' : 'CLI alone';
}

/** The checks after a kill; returns whether the run had already finished, and where it was. */
async function afterKill(h: Harness, cli: CliProcess, runId: string): Promise<{ finished: boolean; phase: string }> {
  assert.deepEqual(await leftProcesses(h, [cli.pid]), [], 'processes of the killed run are still running');
  const read = await readRun(h.repo, runId); // throws on a journal that does not read
  if (read.torn) h.tally.torn += 1;
  assert.deepEqual(filesUnder(h.systemTmp), [], "files were left in the system's temporary folder");
  assert.deepEqual(failedTasks(read.state), [], 'a task failed (nothing in this run can fail but a crash)');
  const finished = read.events.some((e) => e.type === 'run_finished');
  return { finished, phase: phaseOf(read.events, read.state) };
}

/** The run's failed tasks with their reasons. */
function failedTasks(state: RunState): string[] {
  return [...state.tasks.values()].filter((t) => t.status === 'failed').map((t) => `${t.id}: ${t.reason ?? ''}`);
}

/** The run's processes still alive after a grace for those already on their way out. */
async function leftProcesses(h: Harness, groups: number[]): Promise<string[]> {
  const describe = () => processesOf(h.repo.tmp, groups).map((p) => `${p.pid} (${p.why}): ${p.command}`);
  for (let waited = 0; waited < 10_000 && describe().length > 0; waited += 50) await sleep(50);
  return describe();
}

/** Note what a resume took back from the kill before it (lines the CLI prints on stderr). */
function noteTakenBack(h: Harness, stderr: string): void {
  h.tally.takenBack.push(...stderr.split('\n').filter((l) => /^(Stopped process \d+|Recovered run )/.test(l)));
}

function count(map: Map<string, number>, key: string): void {
  map.set(key, (map.get(key) ?? 0) + 1);
}

/**
 * One run: started, killed at random points and resumed until the tally has its points (or the
 * run completes on its own), then resumed to the end. Returns its id and its kills' marks.
 */
async function chainOneRun(h: Harness, known: Set<string>): Promise<{ runId: string; marks: KillMark[] }> {
  let cli = startCli(h, ['run', '--plan', h.planFile]);
  const runId = await newRunOf(h, cli, known);
  if (runId === null) assert.fail(`the run did not start:\n${(await cli.result).stderr}`);
  known.add(runId);
  const marks: KillMark[] = [];
  while (h.tally.landed < POINTS && (await untilDriving(h, cli, runId))) {
    await sleep(h.random() * KILL_WITHIN_MS);
    const mode = kill(h, cli);
    const result = await cli.result;
    noteTakenBack(h, result.stderr);
    if (result.signal !== 'SIGKILL') {
      assert.deepEqual(failedTasks((await readRun(h.repo, runId)).state), [], 'a task failed');
      assert.equal(result.code, 0, `the run ended on its own, but not well:\n${result.stderr}`);
      return { runId, marks };
    }
    const { finished, phase } = await afterKill(h, cli, runId);
    if (finished) {
      h.tally.killedAfterFinish.add(runId);
      return { runId, marks };
    }
    h.tally.landed += 1;
    count(h.tally.phases, phase);
    count(h.tally.modes, mode);
    marks.push(await markAt(h, runId));
    cli = startCli(h, ['run', '--resume', runId]);
  }
  const result = await cli.result;
  noteTakenBack(h, result.stderr);
  assert.deepEqual(failedTasks((await readRun(h.repo, runId)).state), [], 'a task failed');
  assert.equal(result.code, 0, `the last resume did not finish the run:\n${result.stderr}`);
  return { runId, marks };
}

async function markAt(h: Harness, runId: string): Promise<KillMark> {
  const { state } = await readRun(h.repo, runId);
  const done = [...state.tasks.values()].filter((t) => t.status === 'merged' || t.status === 'verified');
  return { requests: h.server.requests.length, done: done.map((t) => t.id) };
}

/** The checks of a run that completed after its kills. */
async function checkCompletedRun(h: Harness, runId: string, marks: KillMark[]): Promise<void> {
  const { events, state } = await readRun(h.repo, runId);
  assert.equal(state.status, 'completed', `run ${runId} ended ${state.status}`);
  for (const t of TASKS) assert.equal(state.tasks.get(t)?.status, 'merged', `task ${t} of ${runId}`);
  const integration = events.filter((e) => e.type === 'verification' && e.taskId === INTEGRATION_ID).at(-1);
  assert.equal(integration?.type === 'verification' && integration.status, 'passed', 'the integration checks');
  checkSteps(h, runId, events);
  checkCommitsAndMerges(h, runId, state);
  for (const [i, mark] of marks.entries()) {
    const later = h.server.requests.slice(mark.requests).map((r) => routeOfBody(r.body));
    const reworked = later.filter((r) => r.role === 'agent' && r.task !== null && mark.done.includes(r.task));
    assert.deepEqual(reworked, [], `after kill ${i + 1}, a task already done (${mark.done.join(', ')}) was worked on`);
  }
  assert.deepEqual(await leftProcesses(h, []), [], 'processes of the finished run are still running');
  assert.deepEqual(filesUnder(h.systemTmp), [], "files were left in the system's temporary folder");
  const locks = filesUnder(join(h.repo.root, '.git')).filter((f) => f.endsWith('.lock'));
  assert.deepEqual(locks, [], 'lock files were left in the git folder');
  const kept = (f: string): boolean => {
    const [runs, id, ...rest] = f.split('/');
    const name = rest.join('/');
    if (runs !== 'runs') return false;
    return (
      name === 'journal.jsonl' ||
      /^transcripts\/[a-z]+\.jsonl$/.test(name) ||
      (name === 'lock' && h.tally.killedAfterFinish.has(id))
    );
  };
  const extra = filesUnder(stateDir(h.repo)).filter((f) => !kept(f));
  assert.deepEqual(extra, [], "Foreman's state folder holds more than the runs' journals and transcripts");
}

/** No completed step redone (see the file's comment): journal markers against the merged logs. */
function checkSteps(h: Harness, runId: string, events: JournalEvent[]): void {
  const journaled: string[] = [];
  for (const e of events) {
    if (e.type !== 'tool_call' || e.tool !== 'run_command') continue;
    assert.ok(e.ok, `the marker command failed: ${e.args} → ${e.summary}`);
    journaled.push(MARKER.exec(e.args)?.[0] ?? `no marker in ${e.args}`);
  }
  const twice = journaled.filter((m, i) => journaled.indexOf(m) !== i);
  assert.deepEqual(twice, [], 'completed steps were journaled again (run again to the end)');
  for (const task of TASKS) {
    const lines = fileAt(h.repo, `${integrationBranch(runId)}:steps-${task}.log`)
      .split('\n')
      .filter(Boolean);
    assert.deepEqual(
      lines.filter((l, i) => lines.indexOf(l) !== i),
      [],
      `steps of ${task} ran twice`,
    );
    for (const m of journaled.filter((j) => j.startsWith(`step ${task} `)))
      assert.ok(lines.includes(m), `the completed step "${m}" left nothing on the integration branch`);
  }
}

/**
 * Nothing git did was done twice either: each task's branch holds one commit of Foreman's over the
 * commit it started from, and the integration branch one merge of each task.
 */
function checkCommitsAndMerges(h: Harness, runId: string, state: RunState): void {
  const merges = h.repo
    .git(['log', '--merges', '--format=%s', integrationBranch(runId)])
    .split('\n')
    .filter(Boolean);
  for (const task of TASKS) {
    const t = state.tasks.get(task);
    const commits = h.repo.git(['rev-list', '--count', `${t?.from}..${t?.branch}`]).trim();
    assert.equal(commits, '1', `task ${task}'s branch has ${commits} commits of its own`);
    const mergedTimes = merges.filter((m) => m.startsWith(`Merge foreman task ${task}:`)).length;
    assert.equal(mergedTimes, 1, `task ${task} was merged ${mergedTimes} times`);
  }
}

/**
 * A file's text at `<commit>:<path>`; empty when it is not there (every marker step of a task may
 * have been the one in flight at a kill, and was then never run).
 */
function fileAt(repo: TempRepo, spec: string): string {
  try {
    repo.git(['cat-file', '-e', spec]);
  } catch {
    return '';
  }
  return repo.git(['show', spec]);
}

function report(t: TestContext, tally: Tally, ms: number): void {
  const listed = (m: Map<string, number>) =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .map(([k, n]) => `${k} ${n}`)
      .join(', ');
  t.diagnostic(`seed ${SEED}: ${tally.landed} kills landed over ${tally.runs} run(s) in ${(ms / 1000).toFixed(1)} s`);
  t.diagnostic(`killed: ${listed(tally.modes)}`);
  t.diagnostic(`landed while: ${listed(tally.phases)}`);
  t.diagnostic(
    `torn journal tails: ${tally.torn}; kills after a run had finished (not counted): ${tally.killedAfterFinish.size}; taken back by a resume: ${tally.takenBack.length}`,
  );
  for (const line of tally.takenBack) t.diagnostic(`  ${line}`);
}

/** A repository with a settled index, a folder for the CLI's TMPDIR, and the plan file. */
function setUp(): { repo: TempRepo; systemTmp: string; planFile: string } {
  const repo = makeRepo();
  settleIndex(repo.root, (args) => repo.git(args));
  const systemTmp = join(repo.tmp, 'system-tmp');
  mkdirSync(systemTmp);
  const planFile = join(repo.tmp, 'plan.json');
  const tasks = TASKS.map((id) => rawTask(id, { dependsOn: id === 'd' ? ['a'] : [] }));
  writeFileSync(planFile, JSON.stringify({ version: 1, spec: 'Four small tasks.', tasks }));
  return { repo, systemTmp, planFile };
}

test(
  `kill -9 at ${POINTS} random points of a four-task run: every journal reads, resumes finish, nothing is redone or left behind`,
  { timeout: 15 * 60_000 },
  async (t) => {
    assert.ok(existsSync(join(PROJECT_ROOT, 'dist', 'cli.js')), 'dist/cli.js is missing: run `node esbuild.js` first');
    const started = Date.now();
    const { repo, systemTmp, planFile } = setUp();
    const before = developerFingerprint(repo.root);
    const server = await startServer(SCENARIO);
    const tally: Tally = {
      landed: 0,
      phases: new Map(),
      modes: new Map(),
      torn: 0,
      takenBack: [],
      runs: 0,
      killedAfterFinish: new Set(),
    };
    const h: Harness = { repo, server, planFile, systemTmp, random: seededRandom(SEED), tally };
    t.diagnostic(`seed ${SEED} (replay with FOREMAN_CRASH_SEED=${SEED})`);
    let passed = false;
    try {
      const known = new Set<string>();
      while (tally.landed < POINTS) {
        const { runId, marks } = await chainOneRun(h, known);
        tally.runs += 1;
        await checkCompletedRun(h, runId, marks);
      }
      assert.deepEqual(developerFingerprint(repo.root), before, "the developer's repository changed");
      report(t, tally, Date.now() - started);
      passed = true;
    } finally {
      // Only what works in the test's own folder or in a CLI's group (never by command line).
      for (const p of processesOf(repo.tmp, []).filter((p) => !p.why.startsWith('named')))
        process.kill(p.pid, 'SIGKILL');
      await server.close();
      if (passed || process.env.FOREMAN_CRASH_KEEP !== '1') repo.cleanup();
      else t.diagnostic(`kept ${repo.tmp} (FOREMAN_CRASH_KEEP=1)`);
    }
  },
);
