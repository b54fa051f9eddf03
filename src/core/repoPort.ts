/**
 * The repository port: everything a run does with git. The real implementation is
 * src/infra/gitRepo.ts (simple-git and real worktrees). Contract for every method: the developer's
 * branch, index and working tree are never changed (the one exception is `apply`, which the
 * developer asks for), and nothing is ever pushed.
 */

/**
 * Why a folder cannot be Foreman's repository: `notDirectory` (it does not exist or is a file),
 * `notGit` (not inside a git working tree), `noCommits` (a repository whose branch has no commit
 * yet, so there is nothing for a run to start from).
 */
export type RepoErrorReason = 'notDirectory' | 'notGit' | 'noCommits';

/**
 * The repository cannot be used, for a reason the developer can fix. Thrown by opening the
 * repository and by resolving a run's base; `path` is the folder or repository concerned. Front
 * ends tell the developer what to do from `reason` (the message says what is wrong).
 */
export class RepoError extends Error {
  override readonly name = 'RepoError';
  constructor(
    readonly reason: RepoErrorReason,
    readonly path: string,
    message: string,
    override readonly cause?: unknown,
  ) {
    super(message);
  }

  static is(e: unknown): e is RepoError {
    return e instanceof RepoError;
  }
}

/** How a run treats uncommitted changes in the developer's checkout. */
export type DirtyPolicy = 'refuse' | 'snapshot';

/** Options of `RepoPort.resolveBase`. */
export interface BaseOptions {
  signal?: AbortSignal;
  /**
   * Absolute paths of files Foreman was given to read for the run (its plan file, its spec file):
   * uncommitted as they may be, they do not make the checkout dirty and are left out of a
   * snapshot. Paths outside the repository are ignored.
   */
  ignore?: readonly string[];
}

export type BaseResult =
  | { ok: true; commit: string; snapshot: boolean; branch: string | null }
  | { ok: false; reason: 'dirty'; files: string[]; message: string };

/** A worktree that belongs to a Foreman run, as found by `git worktree list`. */
export interface ForemanWorktree {
  path: string;
  branch: string;
  runId: string;
  /** A task id, or `integration`. */
  taskId: string;
}

export type MergeResult =
  | { ok: true; commit: string; alreadyMerged: boolean }
  | { ok: false; reason: 'conflict'; files: string[]; message: string };

export type ApplyResult =
  /** `branch`: the developer's branch it went onto. */
  | { ok: true; commit: string; mode: 'squash' | 'merge'; files: string[]; branch: string }
  | { ok: false; reason: 'dirty' | 'conflict' | 'detached' | 'nothing'; files: string[]; message: string };

/** What to prepare in a fresh worktree. */
export interface WorktreeSetup {
  /**
   * Patterns of files to copy from the developer's checkout (never overwriting). When null, the
   * repository's `.worktreeinclude` is used if present, else nothing is copied.
   */
  include: string[] | null;
  /** Shell command run in the new worktree with WORKTREE_PATH and REPO_PATH set; none when null. */
  command: string | null;
  timeoutMs: number;
}

/**
 * What Foreman watches in the repository's shared git directory while a task works (agents and
 * checks run in the developer's repository, in their worktree): fingerprints of `config`, `hooks/*`
 * and `info/*` by path, and every ref outside Foreman's own `refs/heads/foreman/` (and `HEAD`, as
 * its file's content and commit) with whether the ref's newest reflog entry accounts for its value.
 */
export interface SharedGitState {
  files: Readonly<Record<string, string>>;
  refs: Readonly<Record<string, { value: string; logged: boolean }>>;
}

export interface RepoPort {
  /** Absolute path of the repository's top level. */
  readonly root: string;
  /** Directory where Foreman keeps run journals (inside the git common dir). */
  readonly stateDir: string;

  /** Resolve the base commit of a new run. With `snapshot`, a dirty checkout is captured in a commit
   * object (no branch of the developer's moves, their index and files are untouched). */
  resolveBase(policy: DirtyPolicy, opts?: BaseOptions): Promise<BaseResult>;

  /**
   * Create (or, when it already exists, reuse) the worktree for `taskId` of `runId`, on branch
   * `foreman/<runId>/<taskId>` starting at `from`. Returns its absolute path.
   */
  ensureWorktree(
    runId: string,
    taskId: string,
    from: string,
    setup: WorktreeSetup | null,
    signal?: AbortSignal,
  ): Promise<{ path: string; branch: string; created: boolean }>;

  /**
   * Stage everything in the worktree and commit it; null when there was nothing to commit. With
   * `diffFrom`, the diff from that commit to the new one is read in the same breath, and a later
   * `diff(diffFrom, <the new commit>)` is answered with it (a task's review asks for it at once).
   */
  commitAll(worktreePath: string, message: string, diffFrom?: string): Promise<string | null>;

  /** The commit a branch points at, or null when it does not exist. */
  branchHead(branch: string): Promise<string | null>;

  /** The unified diff between two commits or branches, cut to `maxChars` with a marker. */
  diff(from: string, to: string, maxChars: number): Promise<string>;

  /** Files changed between two commits (names relative to the repository root). */
  changedFiles(from: string, to: string): Promise<string[]>;

  /**
   * Merge `branch` into the worktree at `targetPath` (a no-fast-forward merge commit). On a
   * conflict the merge is aborted, the target is left exactly as it was, and the files are listed.
   */
  merge(targetPath: string, branch: string, message: string): Promise<MergeResult>;

  /** The shared git directory's state now (see SharedGitState). */
  sharedGitState(): Promise<SharedGitState>;

  /** Foreman's worktrees that git knows of. */
  listWorktrees(): Promise<ForemanWorktree[]>;

  /** Remove a worktree (forcefully) and, when asked, its branch. Missing ones are not an error. */
  removeWorktree(path: string, opts: { deleteBranch: string | null }): Promise<void>;

  /**
   * Bring `branch` onto the developer's current branch, as one squashed commit or a merge commit.
   * Refuses when their working tree is dirty in the files involved, when HEAD is detached, or when
   * it would conflict; in each case nothing in their checkout changes, and the message says so in
   * words a person can act on (a conflict's names the files and how to go on).
   */
  apply(branch: string, base: string, mode: 'squash' | 'merge', message: string): Promise<ApplyResult>;
}
