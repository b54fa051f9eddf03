/**
 * Running git for the repository adapter. Every call goes through simple-git (which vets arguments
 * and kills the child on abort) but never throws for a non-zero exit: the caller gets the exit
 * code and both streams and decides what an expected failure means. The one exception is
 * `runGitSteps`, a few fixed git commands run by one `sh` (a task's commit), for speed; it gets the
 * same environment and the same cap on processes.
 *
 * Foreman's git runs no program a repository configures and never sees Foreman's environment:
 * - the environment is an allow-list (PATH, HOME, locale, TZ, TMPDIR, and what the caller sets), so
 *   an API key or any other secret of Foreman's never reaches git or anything git starts;
 * - every call carries settings in git's command-line scope (GIT_CONFIG_COUNT, which wins over
 *   every config file): no hooks (`core.hooksPath=/dev/null`), no fsmonitor, no transport of any
 *   kind (`protocol.allow=never`), no pager; and every clean, smudge or process filter that the
 *   configuration defines is emptied, so checkouts and adds copy bytes as they are (Git LFS files
 *   stay pointer files in task worktrees). Aliases never apply to the built-in commands Foreman
 *   runs, and its diffs pass --no-ext-diff --no-textconv. A custom merge driver the developer
 *   configured still runs in Foreman's merges, with this environment.
 */
import { spawn } from 'node:child_process';
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
   * Extra environment variables (for example GIT_INDEX_FILE), added to the allow-listed ones (see
   * the module comment).
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

/** The variables of Foreman's environment that git gets: enough to find programs and files. */
const PASSED_VARIABLES = new Set(['PATH', 'HOME', 'LANG', 'LANGUAGE', 'TZ', 'TMPDIR']);

/** Settings of git's command-line scope on every call (see the module comment). */
const HARDENING: readonly (readonly [string, string])[] = [
  ['core.hooksPath', '/dev/null'],
  ['core.fsmonitor', 'false'],
  ['protocol.allow', 'never'],
  ['core.pager', 'cat'],
  // No automatic maintenance after Foreman's commits and merges: a `git gc --auto` started in the
  // middle of a run would repack and prune under the feet of the other tasks' git calls.
  ['maintenance.auto', 'false'],
  ['gc.auto', '0'],
];

/**
 * The environment of one git call: the allow-listed variables, the hardening settings (and the
 * emptied filters of `filters`), then `extra`.
 */
function gitEnv(extra: Record<string, string>, filters: readonly string[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value !== undefined && (PASSED_VARIABLES.has(key) || key.startsWith('LC_'))) env[key] = value;
  }
  const settings: (readonly [string, string])[] = [...HARDENING];
  for (const name of filters) {
    for (const key of ['clean', 'smudge', 'process']) settings.push([`filter.${name}.${key}`, '']);
    settings.push([`filter.${name}.required`, 'false']);
  }
  env.GIT_CONFIG_COUNT = String(settings.length);
  settings.forEach(([key, value], i) => {
    env[`GIT_CONFIG_KEY_${i}`] = key;
    env[`GIT_CONFIG_VALUE_${i}`] = value;
  });
  return { ...env, ...extra };
}

/** The filter drivers each directory's configuration defines, read once per directory. */
const filterDrivers = new Map<string, Promise<string[]>>();

/**
 * The names of the filter drivers git's configuration defines for `cwd` (every scope, includes
 * followed). Reading configuration runs nothing.
 */
function filtersOf(cwd: string): Promise<string[]> {
  let found = filterDrivers.get(cwd);
  if (found === undefined) {
    found = runGitNow(cwd, ['config', '--name-only', '-z', '--get-regexp', '^filter\\.'], {}, []).then(
      (out) => [...new Set(splitNul(out.stdout).map((key) => key.slice('filter.'.length, key.lastIndexOf('.'))))],
      () => [],
    );
    filterDrivers.set(cwd, found);
  }
  return found;
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
    return await runGitNow(cwd, args, options, await filtersOf(cwd));
  } finally {
    releaseGitSlot();
  }
}

async function runGitNow(
  cwd: string,
  args: readonly string[],
  options: GitCallOptions,
  filters: readonly string[],
): Promise<GitOutput> {
  let exitCode = 0;
  let stderr = '';
  let spawnError: Error | undefined;
  const env = gitEnv(options.env ?? {}, filters);
  const git = simpleGit({
    baseDir: cwd,
    abort: options.signal,
    // The hardening travels as GIT_CONFIG_* variables that Foreman alone sets (see gitEnv);
    // simple-git's guard would otherwise refuse the very keys that switch programs off.
    unsafe: {
      allowUnsafeConfigEnvCount: true,
      allowUnsafeHooksPath: true,
      allowUnsafeFsMonitor: true,
      allowUnsafeProtocolOverride: true,
      allowUnsafePager: true,
      allowUnsafeFilter: true,
    },
    allowEnvironment: Object.keys(env),
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
  git.env(env);
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

/** Quote one word for `sh`: inside single quotes nothing is special but the quote itself. */
function shellWord(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/** What `runGitSteps` produced: each step's standard output, in order, and how it ended. */
export interface GitStepsOutput {
  exitCode: number;
  outputs: string[];
  stderr: string;
}

/**
 * Run several git commands in `cwd` as one process: `sh` runs them in turn, stopping at the first
 * that fails, with Foreman's git environment (see the module comment). Forking this large process
 * for each git call is what costs (a few milliseconds of the main thread each); `sh` forking git
 * costs next to nothing, so a task's commit takes one fork instead of four. The script is built
 * from fixed words, each quoted; `stdin` (a commit message, say) is written to the first step that
 * reads it. A step marked `onlyIfStaged` runs, with those after it, only when the index differs from
 * HEAD; otherwise the script ends there, successfully.
 */
export async function runGitSteps(
  cwd: string,
  steps: readonly { args: readonly string[]; onlyIfStaged?: boolean }[],
  stdin: string,
  options: GitCallOptions = {},
): Promise<GitStepsOutput> {
  const mark = `--foreman-step-${Math.random().toString(36).slice(2)}--`;
  const script = steps
    .map((step) => {
      const run = `git ${step.args.map(shellWord).join(' ')} || exit $?; printf '%s' ${shellWord(mark)}`;
      return step.onlyIfStaged ? `if git diff --cached --quiet; then exit 0; fi; ${run}` : run;
    })
    .join('\n');
  await acquireGitSlot();
  try {
    const env = gitEnv(options.env ?? {}, await filtersOf(cwd));
    return await new Promise<GitStepsOutput>((resolve, reject) => {
      const child = spawn('sh', ['-c', script], { cwd, env, signal: options.signal, stdio: 'pipe' });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      child.stdout.on('data', (d: Buffer) => out.push(d));
      child.stderr.on('data', (d: Buffer) => err.push(d));
      child.on('error', reject);
      child.stdin.on('error', () => undefined);
      child.stdin.end(stdin);
      child.on('close', (code) => {
        const outputs = Buffer.concat(out).toString('utf8').split(mark);
        outputs.pop();
        resolve({ exitCode: code ?? -1, outputs, stderr: Buffer.concat(err).toString('utf8') });
      });
    });
  } finally {
    releaseGitSlot();
  }
}
