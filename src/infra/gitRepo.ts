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
import type { ProcessRunner } from '../core/ports';
import type { ApplyResult, BaseResult, DirtyPolicy, ForemanWorktree, MergeResult, RepoPort, WorktreeSetup } from '../core/repoPort';
import { resolveBase } from './gitBase';
import { FOREMAN_IDENTITY, gitOk, runGit } from './gitExec';
import { applyBranch, diffFiles, diffText, mergeInto } from './gitMerge';
import { addTaskWorktree, branchCommit, foremanWorktrees, removeTaskWorktree } from './gitWorktrees';
import { prepareWorktree } from './worktreeSetup';

/** Options of `createGitRepo`. */
export interface GitRepoOptions {
  /** Any directory inside the repository (or one of its linked worktrees). */
  cwd: string;
  /** Where task worktrees go; `defaultWorktreeRoot(root)` when omitted. */
  worktreeRoot?: string;
  /** Runs worktree set-up commands. */
  runner: ProcessRunner;
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
 * Open the repository containing `cwd`. Rejects with a clear Error when `cwd` does not exist or is
 * not inside a git working tree.
 */
export async function createGitRepo(options: GitRepoOptions): Promise<GitRepo> {
  const cwd = resolve(options.cwd);
  const info = await stat(cwd).catch(() => null);
  if (!info?.isDirectory()) throw new Error(`Not a directory: ${cwd}`);
  const top = await runGit(cwd, ['rev-parse', '--show-toplevel']);
  if (top.exitCode !== 0 || top.stdout.trim() === '') {
    throw new Error(`${cwd} is not inside a git repository (a checkout with a working tree): ${top.stderr.trim()}`);
  }
  const root = realpathSync(top.stdout.trim());
  const common = (await gitOk(root, ['rev-parse', '--git-common-dir'])).trim();
  const commonDir = isAbsolute(common) ? common : resolve(root, common);
  const stateDir = join(realpathLoose(commonDir), 'foreman');
  await mkdir(stateDir, { recursive: true });
  const worktreeRoot = realpathLoose(options.worktreeRoot ?? defaultWorktreeRoot(root));
  return new GitRepo(root, stateDir, worktreeRoot, options.runner);
}

/** `RepoPort` over a real repository; create it with `createGitRepo`. */
export class GitRepo implements RepoPort {
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    readonly root: string,
    readonly stateDir: string,
    /** Absolute real path of the directory holding the task worktrees. */
    readonly worktreeRoot: string,
    private readonly runner: ProcessRunner,
  ) {}

  /** Run `work` after every earlier serialised operation has settled. */
  private serialised<T>(work: () => Promise<T>): Promise<T> {
    const next = this.queue.then(work, work);
    this.queue = next.catch(() => undefined);
    return next;
  }

  resolveBase(policy: DirtyPolicy, signal?: AbortSignal): Promise<BaseResult> {
    return resolveBase(this.root, this.stateDir, policy, signal);
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
      return addTaskWorktree(this.root, this.worktreeRoot, runId, taskId, from, signal);
    });
    if (added.created && setup !== null) {
      try {
        await prepareWorktree(this.runner, this.root, added.path, setup, signal);
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

  async commitAll(worktreePath: string, message: string): Promise<string | null> {
    await gitOk(worktreePath, ['add', '-A', '--', '.']);
    const staged = await runGit(worktreePath, ['diff', '--cached', '--quiet']);
    if (staged.exitCode === 0) return null;
    await gitOk(worktreePath, [...FOREMAN_IDENTITY, 'commit', '--no-verify', '-q', '-m', message]);
    return (await gitOk(worktreePath, ['rev-parse', 'HEAD'])).trim();
  }

  branchHead(branch: string): Promise<string | null> {
    return branchCommit(this.root, branch);
  }

  diff(from: string, to: string, maxChars: number): Promise<string> {
    return diffText(this.root, from, to, maxChars);
  }

  changedFiles(from: string, to: string): Promise<string[]> {
    return diffFiles(this.root, from, to);
  }

  merge(targetPath: string, branch: string, message: string): Promise<MergeResult> {
    return mergeInto(targetPath, branch, message);
  }

  listWorktrees(): Promise<ForemanWorktree[]> {
    return this.serialised(() => foremanWorktrees(this.root));
  }

  removeWorktree(path: string, opts: { deleteBranch: string | null }): Promise<void> {
    return this.serialised(() => removeTaskWorktree(this.root, this.worktreeRoot, path, opts.deleteBranch));
  }

  apply(branch: string, base: string, mode: 'squash' | 'merge', message: string): Promise<ApplyResult> {
    return this.serialised(async () => {
      await mkdir(this.worktreeRoot, { recursive: true });
      return applyBranch(this.root, this.worktreeRoot, branch, base, mode, message);
    });
  }
}
