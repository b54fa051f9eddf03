/**
 * What the crash harness (crashHarness.test.ts) looks at after each kill: the processes a run may
 * have left, the files a folder holds, the developer's repository as bytes, and where the run was. Each probe reads
 * the system directly (/proc, the file system, git plumbing that writes nothing), independently of
 * the code under test.
 */
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, readlinkSync, lstatSync, utimesSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { INTEGRATION_ID } from '../../src/core/branches';
import type { JournalEvent, TaskStatus } from '../../src/core/journal';
import type { RunState } from '../../src/core/runState';
import { cleanEnv } from './tempRepo';

/** A process found by `processesOf`. */
export interface FoundProcess {
  pid: number;
  /** Why it counts as the run's: its group, its working directory, or its command line. */
  why: string;
  command: string;
}

function readProc(pid: string, file: string): string | null {
  try {
    return readFileSync(`/proc/${pid}/${file}`, 'utf8');
  } catch {
    // Gone meanwhile, or not ours to read.
    return null;
  }
}

/** State letter and process group of /proc/<pid>/stat (the command name may hold spaces). */
function statOf(pid: string): { state: string; pgrp: number } | null {
  const text = readProc(pid, 'stat');
  if (text === null) return null;
  const [state, , pgrp] = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { state, pgrp: Number(pgrp) };
}

function cwdOf(pid: string): string | null {
  try {
    return readlinkSync(`/proc/${pid}/cwd`);
  } catch {
    return null;
  }
}

/**
 * The live processes (zombies left out: nothing runs in them, and PID 1 here may not reap) that
 * belong to a run: members of one of `groups` (the CLI's own process group: its git children), or
 * with a working directory or a command line inside `dir` (the sandboxed commands and anything
 * else working in the repository or the worktrees). This process is never listed.
 */
export function processesOf(dir: string, groups: number[]): FoundProcess[] {
  const found: FoundProcess[] = [];
  for (const pid of readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    if (Number(pid) === process.pid) continue;
    const stat = statOf(pid);
    if (stat === null || stat.state === 'Z' || stat.state === 'X') continue;
    const cwd = cwdOf(pid);
    const command = (readProc(pid, 'cmdline') ?? '').replaceAll('\0', ' ').trim();
    let why: string | null = null;
    if (groups.includes(stat.pgrp)) why = `in process group ${stat.pgrp}`;
    else if (cwd !== null && (cwd === dir || cwd.startsWith(dir + sep))) why = `working in ${cwd}`;
    else if (command.includes(dir)) why = 'named in its command line';
    if (why !== null) found.push({ pid: Number(pid), why, command: command.slice(0, 200) });
  }
  return found;
}

/** Every file (not directory) under `dir`, relative to it, sorted; none when `dir` is missing. */
export function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  const walk = (at: string): void => {
    for (const entry of readdirSync(at, { withFileTypes: true })) {
      const path = join(at, entry.name);
      if (entry.isDirectory()) walk(path);
      else out.push(relative(dir, path));
    }
  };
  walk(dir);
  return out.sort();
}

function digest(bytes: Buffer | string): string {
  return createHash('sha256').update(bytes).digest('hex').slice(0, 16);
}

/** Each file under `dir` (skipping `skip` names at any depth) as `mode sha`, keyed by its path. */
function treeFingerprint(dir: string, skip: Set<string>, out: Record<string, string>, prefix: string): void {
  if (!existsSync(dir)) return;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (skip.has(entry.name)) continue;
    const path = join(dir, entry.name);
    const key = `${prefix}${relative(dir, path)}`;
    const st = lstatSync(path);
    if (entry.isDirectory()) treeFingerprint(path, skip, out, `${key}/`);
    else if (entry.isSymbolicLink()) out[key] = `link ${readlinkSync(path)}`;
    else out[key] = `${(st.mode & 0o777).toString(8)} ${digest(readFileSync(path))}`;
  }
}

/**
 * The developer's side of the repository as bytes: HEAD, the index, the config, the hooks, the
 * info folder, every ref that is not Foreman's (`refs/heads/foreman/…`, `refs/foreman/…`) with
 * what it points at, and every file of the working tree with its mode. Two equal fingerprints
 * mean the developer's checkout and history were not touched.
 */
export function developerFingerprint(root: string): Record<string, string> {
  const git = join(root, '.git');
  const out: Record<string, string> = {};
  for (const name of ['HEAD', 'index', 'config', 'description'])
    if (existsSync(join(git, name))) out[`.git/${name}`] = digest(readFileSync(join(git, name)));
  treeFingerprint(join(git, 'hooks'), new Set(), out, '.git/hooks/');
  treeFingerprint(join(git, 'info'), new Set(), out, '.git/info/');
  const refs = execFileSync('git', ['for-each-ref', '--format=%(refname) %(objectname) %(symref)'], {
    cwd: root,
    env: { ...cleanEnv(), GIT_OPTIONAL_LOCKS: '0' },
    encoding: 'utf8',
  });
  for (const line of refs.split('\n').filter(Boolean)) {
    const [ref, ...rest] = line.split(' ');
    if (ref.startsWith('refs/heads/foreman/') || ref.startsWith('refs/foreman/')) continue;
    out[`ref ${ref}`] = rest.join(' ').trim();
  }
  treeFingerprint(root, new Set(['.git']), out, '');
  return out;
}

/**
 * Make the checkout's index stable before a fingerprint: files written in the same second as the
 * index are "racily clean", and the next `git status` by anyone would rewrite the index to record
 * their times. Moving the files' times a minute back and refreshing once settles it.
 */
export function settleIndex(root: string, git: (args: string[]) => string): void {
  const past = new Date(Date.now() - 60_000);
  for (const rel of filesUnder(root).filter((f) => !f.startsWith(`.git${sep}`)))
    utimesSync(join(root, rel), past, past);
  git(['update-index', '-q', '--really-refresh']);
}

/** Where a task status leaves the run. */
const STATUS_PHASE: Partial<Record<TaskStatus, string>> = {
  queued: 'queueing tasks',
  interrupted: 'queueing tasks',
  setting_up: 'making a worktree',
  working: 'waiting on the model',
  verifying: "a task's checks",
  verified: 'merging',
};

/** Where the run was at a kill, named from its journal's last event. */
export function phaseOf(events: JournalEvent[], state: RunState): string {
  const last = events.at(-1);
  switch (last?.type) {
    case undefined:
      return 'before any event';
    case 'task_status':
      if (last.status !== 'merged') return STATUS_PHASE[last.status] ?? `a task ${last.status}`;
      return [...state.tasks.values()].every((t) => t.status === 'merged') ? 'integration checks' : 'after a merge';
    case 'task_worktree':
      return 'making a worktree';
    case 'task_step':
      return last.tool === null ? 'waiting on the model' : `running ${last.tool}`;
    case 'model_request':
      return 'an answer in, its tool next';
    case 'tool_call':
      return 'between agent steps';
    case 'task_committed':
      return "a task's checks";
    case 'verification':
      return last.taskId === INTEGRATION_ID ? 'finishing the run' : 'review';
    case 'review':
    case 'merge':
      return 'merging';
    default:
      return 'opening the run';
  }
}

/** A seeded pseudo-random generator (mulberry32): the same seed gives the same kill points. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
