/**
 * Fixtures of the git adapter's tests: the shared temporary repositories (tempRepo.ts) with the
 * adapter opened over them, and helpers that make commits and task branches.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { DEFAULT_SANDBOX_SETTINGS } from '../../src/core/sandbox';
import { createGitRepo } from '../../src/infra/gitRepo';
import { createSystemSandbox } from '../../src/infra/systemSandbox';
import { createTaskRunners } from '../../src/infra/taskRunners';
import type { GitRepo } from '../../src/infra/gitRepo';
import { makeTempRepo } from './tempRepo';
import type { TempRepo } from './tempRepo';

/** A temporary repository (see tempRepo.ts) and the git adapter over it. */
export interface Fixture extends TempRepo {
  open(cwd?: string): Promise<GitRepo>;
}

/** Make a repository on `main` with one commit (`README.md`) unless `empty`. */
export function makeFixture(opts: { empty?: boolean } = {}): Fixture {
  const repo = makeTempRepo({
    files: opts.empty ? {} : { 'README.md': 'hello\n' },
    empty: opts.empty,
    prefix: 'foreman-git-',
  });
  // Set-up commands run in the real sandbox, as in a run.
  const runners = createTaskRunners({ settings: DEFAULT_SANDBOX_SETTINGS, sandbox: createSystemSandbox() });
  return {
    ...repo,
    open: (cwd = repo.root) => createGitRepo({ cwd, worktreeRoot: repo.worktreeRoot, runners }),
  };
}

/** Commit everything in `cwd` with the developer's identity; returns the new HEAD. */
export function commitAllAsDev(f: Fixture, message: string, cwd = f.root): string {
  f.git(['add', '-A'], cwd);
  f.git(['commit', '-q', '-m', message], cwd);
  return f.git(['rev-parse', 'HEAD'], cwd).trim();
}

/** SHA-256 of a file's bytes. */
export function fileHash(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

/** A repository with `a.txt` and `b.txt` committed, and an open adapter. */
export async function makeTwoFileRepo(): Promise<{ f: Fixture; repo: GitRepo; base: string }> {
  const f = makeFixture();
  f.write('a.txt', 'line 1\nline 2\n');
  f.write('b.txt', 'b\n');
  const base = commitAllAsDev(f, 'files');
  return { f, repo: await f.open(), base };
}

/** A task branch `foreman/r1/<task>` from `base` with `files` written and committed by Foreman. */
export async function taskWithChange(
  repo: GitRepo,
  f: Fixture,
  base: string,
  task: string,
  files: Record<string, string>,
): Promise<string> {
  const wt = await repo.ensureWorktree('r1', task, base, null);
  for (const [rel, content] of Object.entries(files)) f.write(rel, content, wt.path);
  const commit = await repo.commitAll(wt.path, `task ${task}`);
  if (!commit) throw new Error(`task ${task}: nothing to commit`);
  return wt.branch;
}
