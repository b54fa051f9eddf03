/**
 * Preparing a fresh worktree: copy the allow-listed files from the developer's checkout (never
 * overwriting, never reading or writing through a link that leaves its tree), then run the
 * repository's set-up command.
 */
import { chmod, constants, copyFile, mkdir, realpath, stat } from 'node:fs/promises';
import { join, posix, sep } from 'node:path';
import type { ProcessRunner } from '../core/ports';
import type { WorktreeSetup } from '../core/repoPort';
import { collectIncludedFiles, DEFAULT_INCLUDE, readWorktreeInclude } from './worktreeInclude';

/** How many characters of a failed set-up command's output go into the error message. */
const OUTPUT_TAIL_CHARS = 4000;

/** Whether `path` is `root` or lies below it (both already real paths). */
function isWithin(root: string, path: string): boolean {
  return path === root || path.startsWith(root.endsWith(sep) ? root : root + sep);
}

/** The real path of `path`, or null when it does not exist. */
async function realOrNull(path: string): Promise<string | null> {
  try {
    return await realpath(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

/**
 * The real directory inside the worktree where `relDir` should be, created when missing; null when
 * its nearest existing ancestor resolves outside the worktree (a link leading away), in which case
 * nothing is created.
 */
async function safeTargetDir(worktreeReal: string, relDir: string): Promise<string | null> {
  const parts = relDir === '.' ? [] : relDir.split('/');
  for (let keep = parts.length; keep >= 0; keep--) {
    const existing = await realOrNull(join(worktreeReal, ...parts.slice(0, keep)));
    if (existing === null) continue;
    if (!isWithin(worktreeReal, existing) || isWithin(join(worktreeReal, '.git'), existing)) return null;
    const dir = join(existing, ...parts.slice(keep));
    await mkdir(dir, { recursive: true });
    return dir;
  }
  return null;
}

/**
 * Copy one file; false when it was skipped (its source leaves the repository or is not a regular
 * file, its target exists, or the target directory leads out of the worktree).
 */
async function copyOne(repoReal: string, worktreeReal: string, rel: string): Promise<boolean> {
  const source = await realOrNull(join(repoReal, rel));
  if (source === null || !isWithin(repoReal, source) || isWithin(join(repoReal, '.git'), source)) return false;
  const info = await stat(source);
  if (!info.isFile()) return false;
  const targetDir = await safeTargetDir(worktreeReal, posix.dirname(rel));
  if (targetDir === null) return false;
  const target = join(targetDir, posix.basename(rel));
  try {
    await copyFile(source, target, constants.COPYFILE_EXCL);
  } catch (error) {
    // The file (or a link by that name) already exists in the worktree: it wins, by contract.
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
  await chmod(target, info.mode & 0o777);
  return true;
}

/**
 * Copy the allow-listed files (`include`, else `.worktreeinclude`, else none) from the developer's
 * checkout into the worktree. Returns the root-relative paths actually copied.
 */
export async function copyIncludedFiles(
  repoRoot: string,
  worktreePath: string,
  include: readonly string[] | null,
  signal?: AbortSignal,
): Promise<string[]> {
  const lines = include ?? (await readWorktreeInclude(repoRoot)) ?? DEFAULT_INCLUDE;
  const repoReal = await realpath(repoRoot);
  const worktreeReal = await realpath(worktreePath);
  const copied: string[] = [];
  for (const rel of await collectIncludedFiles(repoReal, lines, signal)) {
    signal?.throwIfAborted();
    if (await copyOne(repoReal, worktreeReal, rel)) copied.push(rel);
  }
  return copied;
}

/**
 * Run the set-up command in the worktree with WORKTREE_PATH and REPO_PATH set. Rejects with an
 * Error naming the command, its exit status and the tail of its output when it does not succeed.
 */
export async function runSetupCommand(
  runner: ProcessRunner,
  command: string,
  worktreePath: string,
  repoRoot: string,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<void> {
  const result = await runner.run(command, {
    cwd: worktreePath,
    timeoutMs,
    env: { WORKTREE_PATH: worktreePath, REPO_PATH: repoRoot },
    signal,
  });
  if (result.exitCode === 0 && !result.timedOut && !result.aborted) return;
  const how = result.timedOut
    ? `timed out after ${timeoutMs} ms`
    : result.aborted
      ? 'was aborted'
      : result.exitCode === null
        ? `was killed by ${result.signal ?? 'a signal'}`
        : `exited with code ${result.exitCode}`;
  const tail = result.output.length > OUTPUT_TAIL_CHARS ? `…${result.output.slice(-OUTPUT_TAIL_CHARS)}` : result.output;
  throw new Error(
    `Worktree set-up command \`${command}\` ${how} in ${worktreePath}.\nOutput (tail):\n${tail.trimEnd() || '(none)'}`,
  );
}

/**
 * Prepare a freshly created worktree: copy the allow-listed files, then run the set-up command if
 * one is given, through `runner` (which a set-up with a command must have: an Error otherwise).
 * Rejects when the command fails (see `runSetupCommand`).
 */
export async function prepareWorktree(
  runner: ProcessRunner | null,
  repoRoot: string,
  worktreePath: string,
  setup: WorktreeSetup,
  signal?: AbortSignal,
): Promise<{ copied: string[] }> {
  const copied = await copyIncludedFiles(repoRoot, worktreePath, setup.include, signal);
  if (setup.command !== null && setup.command.trim() !== '') {
    if (runner === null) throw new Error(`no process runner for the set-up command \`${setup.command}\``);
    await runSetupCommand(runner, setup.command, worktreePath, repoRoot, setup.timeoutMs, signal);
  }
  return { copied };
}
