/**
 * Real temporary git repositories for the git adapter's tests. The test side drives git directly
 * (execFileSync), independently of the code under test.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createProcessRunner } from '../../src/infra/processRunner';
import { createGitRepo } from '../../src/infra/gitRepo';
import type { GitRepo } from '../../src/infra/gitRepo';

/** A temporary directory holding `repo/` (the developer's checkout) and `worktrees/`. */
export interface Fixture {
  tmp: string;
  root: string;
  worktreeRoot: string;
  git(args: string[], cwd?: string): string;
  write(rel: string, content: string, cwd?: string): void;
  read(rel: string, cwd?: string): string;
  open(cwd?: string): Promise<GitRepo>;
  cleanup(): void;
}

/** The environment for test-side git: no ambient GIT_* variables, no system or global config. */
function gitEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('GIT_')) env[k] = v;
  return env;
}

/** Make a repository on `main` with one commit (`README.md`) unless `empty`. */
export function makeFixture(opts: { empty?: boolean } = {}): Fixture {
  const tmp = realpathSync(mkdtempSync(join(tmpdir(), 'foreman-git-')));
  const root = join(tmp, 'repo');
  const worktreeRoot = join(tmp, 'worktrees');
  mkdirSync(root);
  const env = gitEnv();
  const git = (args: string[], cwd = root): string =>
    execFileSync('git', args, { cwd, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const write = (rel: string, content: string, cwd = root): void => {
    mkdirSync(dirname(join(cwd, rel)), { recursive: true });
    writeFileSync(join(cwd, rel), content);
  };
  git(['init', '-q', '-b', 'main']);
  git(['config', 'user.name', 'Dev Eloper']);
  git(['config', 'user.email', 'dev@example.com']);
  git(['config', 'commit.gpgsign', 'false']);
  if (!opts.empty) {
    write('README.md', 'hello\n');
    git(['add', '-A']);
    git(['commit', '-q', '-m', 'initial']);
  }
  return {
    tmp,
    root,
    worktreeRoot,
    git,
    write,
    read: (rel, cwd = root) => readFileSync(join(cwd, rel), 'utf8'),
    open: (cwd = root) => createGitRepo({ cwd, worktreeRoot, runner: createProcessRunner() }),
    cleanup: () => rmSync(tmp, { recursive: true, force: true }),
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
