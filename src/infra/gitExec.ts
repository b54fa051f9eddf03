/**
 * Running git for the repository adapter. Every call goes through simple-git (which strips ambient
 * GIT_* variables such as GIT_DIR, vets arguments, and kills the child on abort) but never throws
 * for a non-zero exit: the caller gets the exit code and both streams and decides what an expected
 * failure means.
 */
import { GitPluginError, simpleGit } from 'simple-git';

/** What one git invocation produced. */
export interface GitOutput {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** Options for one git invocation. */
export interface GitCallOptions {
  signal?: AbortSignal;
  /**
   * Extra environment variables (for example GIT_INDEX_FILE). The child starts from this process's
   * environment with every ambient GIT_* variable removed; these are added on top.
   */
  env?: Record<string, string>;
}

/** `-c` options that make a commit Foreman's own: fixed identity, no signing prompt. */
export const FOREMAN_IDENTITY: readonly string[] = [
  '-c',
  'user.name=Foreman',
  '-c',
  'user.email=foreman@localhost',
  '-c',
  'commit.gpgsign=false',
];

/** A git command failed in a way the caller did not expect; the original stderr is kept. */
export class GitCommandError extends Error {
  override readonly name = 'GitCommandError';
  constructor(
    readonly args: readonly string[],
    readonly exitCode: number,
    readonly stderr: string,
    readonly cwd: string,
  ) {
    super(`git ${args.join(' ')} failed (exit ${exitCode}) in ${cwd}: ${stderr.trim() || '(no output)'}`);
  }
}

/** Environment for a call that sets git variables explicitly: ambient GIT_* dropped, `extra` added. */
/** Variables simple-git refuses in an explicit environment; non-interactive git needs none of them. */
const INTERACTIVE_ONLY = new Set(['EDITOR', 'VISUAL', 'PAGER', 'PREFIX', 'SSH_ASKPASS']);

function explicitEnv(extra: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    const name = key.toUpperCase();
    if (value !== undefined && !name.startsWith('GIT_') && !INTERACTIVE_ONLY.has(name)) env[key] = value;
  }
  return { ...env, ...extra };
}

/** Git processes of this process running at once; more wait their turn. */
const MAX_GIT_PROCESSES = 4;
let gitRunning = 0;
const gitWaiting: (() => void)[] = [];

/**
 * Wait for a git process slot. Spawning forks this (large) process on the main thread, so a burst
 * of spawns in one turn of the event loop stalls it; the cap keeps bursts small.
 */
function acquireGitSlot(): Promise<void> | undefined {
  if (gitRunning < MAX_GIT_PROCESSES && gitWaiting.length === 0) {
    gitRunning++;
    return undefined;
  }
  return new Promise<void>((resolve) => gitWaiting.push(resolve));
}

/** Hand the slot to the next waiter on a later turn of the loop (so spawns spread out), or free it. */
function releaseGitSlot(): void {
  const next = gitWaiting.shift();
  if (next) setImmediate(next);
  else gitRunning--;
}

/**
 * Run `git <args>` in `cwd`. Resolves with the exit code and output for any exit status; rejects
 * only when git could not be run at all, when `cwd` does not exist, or on abort. At most
 * `MAX_GIT_PROCESSES` run at once; the rest queue, first come, first served.
 */
export async function runGit(cwd: string, args: readonly string[], options: GitCallOptions = {}): Promise<GitOutput> {
  await acquireGitSlot();
  try {
    return await runGitNow(cwd, args, options);
  } finally {
    releaseGitSlot();
  }
}

async function runGitNow(cwd: string, args: readonly string[], options: GitCallOptions): Promise<GitOutput> {
  let exitCode = 0;
  let stderr = '';
  let spawnError: Error | undefined;
  const env = options.env ? explicitEnv(options.env) : undefined;
  const git = simpleGit({
    baseDir: cwd,
    abort: options.signal,
    allowEnvironment: env ? Object.keys(env) : [],
    errors: (error, result) => {
      exitCode = result.exitCode;
      stderr = Buffer.concat(result.stdErr).toString('utf8');
      // Abort and refused arguments come from simple-git's plugins and stay errors; so does a
      // failure to start git (a negative errno as exit code). A failed exit status is a value.
      if (error instanceof GitPluginError) return error;
      if (error instanceof Error && result.exitCode < 0) spawnError = error;
      return undefined;
    },
  });
  if (env) git.env(env);
  const stdout = await git.raw([...args]);
  if (spawnError) throw spawnError;
  return { exitCode, stdout, stderr };
}

/** Run git and return its stdout; any non-zero exit rejects with a `GitCommandError`. */
export async function gitOk(cwd: string, args: readonly string[], options: GitCallOptions = {}): Promise<string> {
  const out = await runGit(cwd, args, options);
  if (out.exitCode !== 0) throw new GitCommandError(args, out.exitCode, out.stderr || out.stdout, cwd);
  return out.stdout;
}

/** Split NUL-separated git output (`-z`) into its non-empty fields. */
export function splitNul(text: string): string[] {
  return text.split('\0').filter((field) => field.length > 0);
}

/**
 * The files that make a checkout dirty: staged, unstaged and untracked (not ignored) paths, each
 * file listed individually, relative to the top level. Never takes the index lock, so the
 * developer's index file is not rewritten by the look.
 */
export async function dirtyFiles(cwd: string, signal?: AbortSignal): Promise<string[]> {
  const out = await gitOk(cwd, ['--no-optional-locks', 'status', '--porcelain=v1', '-z', '--untracked-files=all'], {
    signal,
  });
  const fields = splitNul(out);
  const files: string[] = [];
  for (let i = 0; i < fields.length; i++) {
    const entry = fields[i];
    const status = entry.slice(0, 2);
    files.push(entry.slice(3));
    // A rename or copy is followed by its source path, which is also touched.
    if (status.includes('R') || status.includes('C')) files.push(fields[++i] ?? '');
  }
  return [...new Set(files.filter((f) => f.length > 0))].sort();
}
