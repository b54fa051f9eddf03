/**
 * The git implementation of `RepoPort` (src/core/repoPort.ts): real worktrees outside the
 * developer's workspace, merges that are aborted on conflict, and an `apply` that never risks
 * uncommitted work. Operations that change git's worktree list run one at a time.
 */
import { createHash } from 'node:crypto';
import { existsSync, realpathSync } from 'node:fs';
import { mkdir, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import type {
  ApplyResult,
  BaseOptions,
  BaseResult,
  DirtyPolicy,
  ForemanWorktree,
  MergeResult,
  RepoPort,
  SharedGitState,
  WorktreeSetup,
} from '../core/repoPort';
import { FreshReads } from '../core/freshReads';
import { RepoError } from '../core/repoPort';
import { resolveBase } from './gitBase';
import { readSharedGitState } from './gitDirState';
import { FOREMAN_IDENTITY, GitCommandError, gitOk, runGit, runGitSteps, splitNul } from './gitExec';
import { applyBranch, cutDiff, DIFF_ARGS, diffFiles, diffText, mergeInto } from './gitMerge';
import {
  addTaskWorktree,
  branchCommit,
  foremanWorktrees,
  removeTaskWorktree,
  takeWorktreeSnapshot,
} from './gitWorktrees';
import type { AddedWorktree, WorktreeSnapshot } from './gitWorktrees';
import type { TaskPlace, TaskRunners } from './taskRunners';
import { recoverWorktrees } from './worktreeRecovery';
import { prepareWorktree } from './worktreeSetup';
import { visibleControls } from '../core/text';

/** A worktree snapshot older than this is taken again (someone may have changed worktrees by hand). */
const SNAPSHOT_TTL_MS = 30_000;
/** Commits whose changed files are remembered from `commitAll`, for the `changedFiles` that follows. */
const MAX_REMEMBERED_COMMITS = 256;

/** Options of `createGitRepo`. */
export interface GitRepoOptions {
  /** Any directory inside the repository (or one of its linked worktrees). */
  cwd: string;
  /** Where task worktrees go; `defaultWorktreeRoot(root)` when omitted. */
  worktreeRoot?: string;
  /**
   * Runs worktree set-up commands, in the sandbox of the task the worktree is for. Without it, a
   * set-up command is refused with an Error.
   */
  runners?: TaskRunners;
}

/**
 * The default place for a repository's task worktrees, outside its workspace folder so editors
 * and file watchers do not index them: `~/.foreman/worktrees/<basename>-<8 hex of sha1(root)>`.
 */
export function defaultWorktreeRoot(repoRoot: string): string {
  const hash = createHash('sha1').update(repoRoot).digest('hex').slice(0, 8);
  return join(homedir(), '.foreman', 'worktrees', `${basename(repoRoot)}-${hash}`);
}

/** The real path of `path`, resolving its longest existing prefix (the rest may not exist yet). */
function realpathLoose(path: string): string {
  const abs = resolve(path);
  if (existsSync(abs)) return realpathSync(abs);
  const parent = dirname(abs);
  return parent === abs ? abs : join(realpathLoose(parent), basename(abs));
}

/**
 * Open the repository containing `cwd`. Rejects with a RepoError (`notDirectory`, `notGit`) when
 * `cwd` does not exist or is not inside a git working tree.
 */
export async function createGitRepo(options: GitRepoOptions): Promise<GitRepo> {
  const cwd = resolve(options.cwd);
  const info = await stat(cwd).catch(() => null);
  if (!info?.isDirectory()) throw new RepoError('notDirectory', cwd, `${cwd} is not a folder.`);
  const top = await runGit(cwd, ['rev-parse', '--show-toplevel']);
  if (top.exitCode !== 0 || top.stdout.trim() === '') {
    throw new RepoError(
      'notGit',
      cwd,
      `${cwd} is not inside a git repository (a checkout with a working tree).`,
      top.stderr.trim(),
    );
  }
  const root = realpathSync(top.stdout.trim());
  const common = (await gitOk(root, ['rev-parse', '--git-common-dir'])).trim();
  const commonDir = isAbsolute(common) ? common : resolve(root, common);
  const stateDir = join(realpathLoose(commonDir), 'foreman');
  await mkdir(stateDir, { recursive: true });
  const worktreeRoot = realpathLoose(options.worktreeRoot ?? defaultWorktreeRoot(root));
  return new GitRepo(root, realpathLoose(commonDir), stateDir, worktreeRoot, options.runners ?? null);
}

/** `RepoPort` over a real repository; create it with `createGitRepo`. */
export class GitRepo implements RepoPort {
  private queue: Promise<unknown> = Promise.resolve();
  /** Worktrees and branches as last seen; only touched inside `serialised`. */
  private snapshot: WorktreeSnapshot | null = null;
  /** Files changed by commits `commitAll` made: commit → files, consumed by `changedFiles`. */
  private readonly committedFiles = new Map<string, string[]>();
  /** Diffs read with a commit (`from`, NUL, commit), until the review that asks for them. */
  private readonly committedDiffs = new Map<string, string>();
  /** Readings of the shared git directory, shared by tasks that ask at the same time. */
  private readonly gitDirReads = new FreshReads(() => readSharedGitState(this.root, this.commonDir));

  constructor(
    readonly root: string,
    /** The repository's shared git directory (`.git` of the main worktree). */
    readonly commonDir: string,
    readonly stateDir: string,
    /** Absolute real path of the directory holding the task worktrees. */
    readonly worktreeRoot: string,
    private readonly runners: TaskRunners | null,
  ) {}

  /**
   * Where a task's processes run: its worktree writable, its scratch folder under the run's state
   * folder (`<stateDir>/runs/<run>/tmp/<task>`), the repository's git directory (the parent of the
   * state folder) read-only, so that no agent writes a ref, the config or a hook, and the
   * developer's checkout hidden, so that no agent reads its untracked files (a `.env`).
   */
  taskPlace(runId: string, taskId: string, worktree: string): TaskPlace {
    return {
      runId,
      taskId,
      worktree,
      scratch: join(this.stateDir, 'runs', runId, 'tmp', taskId),
      readOnly: [dirname(this.stateDir)],
      hidden: [this.root],
    };
  }

  /** Run `work` after every earlier serialised operation has settled. */
  private serialised<T>(work: () => Promise<T>): Promise<T> {
    const next = this.queue.then(work, work);
    this.queue = next.catch(() => undefined);
    return next;
  }

  resolveBase(policy: DirtyPolicy, opts: BaseOptions = {}): Promise<BaseResult> {
    return resolveBase(this.root, this.stateDir, policy, opts);
  }

  async ensureWorktree(
    runId: string,
    taskId: string,
    from: string,
    setup: WorktreeSetup | null,
    signal?: AbortSignal,
  ): Promise<{ path: string; branch: string; created: boolean }> {
    const added = await this.serialised(async () => {
      await mkdir(this.worktreeRoot, { recursive: true });
      return this.addWorktree(runId, taskId, from, signal);
    });
    if (added.created && setup !== null) {
      try {
        await this.prepare(runId, taskId, added.path, setup, signal);
      } catch (error) {
        // Undo the half-prepared worktree so that a resume creates and sets it up afresh.
        await this.removeWorktree(added.path, { deleteBranch: added.createdBranch ? added.branch : null }).catch(() => {
          // The set-up failure is what the caller must see; a leftover is pruned on a later run.
        });
        throw error;
      }
    }
    return { path: added.path, branch: added.branch, created: added.created };
  }

  /** Copy the set-up's files into a new worktree and run its command in the task's sandbox. */
  private async prepare(
    runId: string,
    taskId: string,
    path: string,
    setup: WorktreeSetup,
    signal?: AbortSignal,
  ): Promise<void> {
    if (setup.command === null || setup.command.trim() === '') {
      await prepareWorktree(null, this.root, path, setup, signal);
      return;
    }
    if (this.runners === null) throw new Error('this repository was opened without a runner for set-up commands');
    const runner = await this.runners.open(this.taskPlace(runId, taskId, path));
    try {
      await prepareWorktree(runner, this.root, path, setup, signal);
    } finally {
      await runner.close();
    }
  }

  /**
   * Add a task's worktree using the worktree snapshot (taken when missing or stale). When git
   * refuses, or the snapshot names a worktree whose directory is gone, the snapshot is dropped
   * and the work is done again from what git says now.
   */
  private async addWorktree(runId: string, taskId: string, from: string, signal?: AbortSignal): Promise<AddedWorktree> {
    if (this.snapshot === null || Date.now() - this.snapshot.takenAt > SNAPSHOT_TTL_MS) {
      this.snapshot = await takeWorktreeSnapshot(this.root, signal);
    }
    try {
      const added = await addTaskWorktree(this.root, this.worktreeRoot, runId, taskId, from, signal, this.snapshot);
      if (added.created || existsSync(added.path)) return added;
    } catch {
      // Retried below against git's own view; a real refusal is thrown from there.
    }
    this.snapshot = null;
    return addTaskWorktree(this.root, this.worktreeRoot, runId, taskId, from, signal);
  }

  /**
   * Stage everything and commit it, as one process (see runGitSteps): `add -A`, then one
   * `diff --cached --name-only` that says which files the commit changes (remembered for the
   * `changedFiles` that follows), then, only when something is staged, the commit (its message on
   * standard input: a process argument cannot hold a NUL byte, and the message carries model text)
   * and the new commit's id.
   */
  async commitAll(worktreePath: string, message: string, diffFrom?: string): Promise<string | null> {
    const steps = [
      { args: ['add', '-A', '--', '.'] },
      { args: ['diff', '--cached', '--name-only', '--no-renames', '-z'] },
      { args: [...FOREMAN_IDENTITY, 'commit', '--no-verify', '-q', '-F', '-'], onlyIfStaged: true },
      { args: ['rev-parse', 'HEAD'] },
      ...(diffFrom === undefined ? [] : [{ args: [...DIFF_ARGS, diffFrom, 'HEAD', '--'] }]),
    ];
    const out = await runGitSteps(worktreePath, steps, visibleControls(message));
    if (out.exitCode !== 0) throw new GitCommandError(['commit'], out.exitCode, out.stderr, worktreePath);
    const staged = splitNul(out.outputs[1] ?? '').sort();
    if (staged.length === 0 || out.outputs.length < 4) return null;
    const commit = out.outputs[3].trim();
    this.rememberFiles(commit, staged);
    if (diffFrom !== undefined && out.outputs.length >= 5) this.rememberDiff(diffFrom, commit, out.outputs[4]);
    return commit;
  }

  /** The diff read with a commit, for the one `diff(from, commit)` that asks for it next. */
  private rememberDiff(from: string, commit: string, text: string): void {
    if (this.committedDiffs.size >= MAX_REMEMBERED_COMMITS) {
      const oldest = this.committedDiffs.keys().next().value;
      if (oldest !== undefined) this.committedDiffs.delete(oldest);
    }
    this.committedDiffs.set(`${from}\u0000${commit}`, text);
  }

  private rememberFiles(commit: string, files: string[]): void {
    if (this.committedFiles.size >= MAX_REMEMBERED_COMMITS) {
      const oldest = this.committedFiles.keys().next().value;
      if (oldest !== undefined) this.committedFiles.delete(oldest);
    }
    this.committedFiles.set(commit, files);
  }

  /** A reading begun after the call, shared with concurrent callers (see core/freshReads.ts). */
  sharedGitState(): Promise<SharedGitState> {
    return this.gitDirReads.get();
  }

  branchHead(branch: string): Promise<string | null> {
    return branchCommit(this.root, branch);
  }

  async diff(from: string, to: string, maxChars: number): Promise<string> {
    const key = `${from}\u0000${to}`;
    const known = this.committedDiffs.get(key);
    if (known !== undefined) {
      this.committedDiffs.delete(key);
      return cutDiff(known, maxChars);
    }
    return diffText(this.root, from, to, maxChars);
  }

  /** Files changed between two commits; for `<commit>~1..<commit>` of a commit made by `commitAll`, without running git. */
  async changedFiles(from: string, to: string): Promise<string[]> {
    const known = from === `${to}~1` ? this.committedFiles.get(to) : undefined;
    if (known !== undefined) {
      this.committedFiles.delete(to);
      return [...known];
    }
    return diffFiles(this.root, from, to);
  }

  merge(targetPath: string, branch: string, message: string): Promise<MergeResult> {
    return mergeInto(targetPath, branch, message);
  }

  listWorktrees(): Promise<ForemanWorktree[]> {
    return this.serialised(() => {
      this.snapshot = null;
      return foremanWorktrees(this.root);
    });
  }

  /**
   * Undo what git commands of a Foreman that died left half done in a run's worktrees and branches
   * (see worktreeRecovery.ts). Only while holding the run's lock, after reaping its processes.
   * Returns a line to show for each thing undone.
   */
  recoverRun(runId: string): Promise<string[]> {
    return this.serialised(() => {
      this.snapshot = null;
      const refs = join(this.commonDir, 'refs', 'heads', 'foreman', runId);
      return recoverWorktrees(this.root, join(this.worktreeRoot, runId), refs);
    });
  }

  removeWorktree(path: string, opts: { deleteBranch: string | null }): Promise<void> {
    return this.serialised(() => {
      this.snapshot = null;
      return removeTaskWorktree(this.root, this.worktreeRoot, path, opts.deleteBranch);
    });
  }

  apply(branch: string, base: string, mode: 'squash' | 'merge', message: string): Promise<ApplyResult> {
    return this.serialised(async () => {
      this.snapshot = null;
      await mkdir(this.worktreeRoot, { recursive: true });
      return applyBranch(this.root, this.worktreeRoot, branch, base, mode, message);
    });
  }
}
