/**
 * Real temporary git repositories for the integration tests: a temporary directory holding the
 * developer's checkout `repo/` and a `worktrees/` root beside it. The test side drives git directly
 * (execFileSync), independently of the code under test, with no ambient GIT_*, FOREMAN_* or
 * OPENAI_API_KEY variables.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/** A temporary directory holding the developer's checkout `repo/` and the `worktrees/` root. */
export interface TempRepo {
  tmp: string;
  /** The developer's checkout (real path), on branch `main`. */
  root: string;
  /** Where task worktrees go (FOREMAN_WORKTREE_ROOT); outside `root`. */
  worktreeRoot: string;
  /** Run git in `cwd` (default: the checkout) and return its stdout; throws on a non-zero exit. */
  git(args: string[], cwd?: string): string;
  write(rel: string, content: string, cwd?: string): void;
  read(rel: string, cwd?: string): string;
  /** HEAD, branch and `git status --porcelain` of the checkout: compare snapshots to prove it was untouched. */
  snapshot(): { head: string; branch: string; status: string };
  /** Remove the whole temporary directory. */
  cleanup(): void;
}

/** What a temporary repository starts with. */
export interface TempRepoOptions {
  /** A directory copied into the checkout, without any `.git`. */
  template?: string;
  /** Files written into the checkout (after the template). */
  files?: Record<string, string>;
  /** Leave the repository without a commit (files, if any, stay untracked). */
  empty?: boolean;
  /** The temporary directory's name prefix. */
  prefix?: string;
}

/** The environment of test-side processes: no GIT_*, FOREMAN_* or OPENAI_API_KEY from outside. */
export function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (k.startsWith('GIT_') || k.startsWith('FOREMAN_') || k === 'OPENAI_API_KEY') continue;
    env[k] = v;
  }
  return env;
}

/** Make a repository on `main`, its files committed as the developer unless `empty`. */
export function makeTempRepo(opts: TempRepoOptions = {}): TempRepo {
  const tmp = realpathSync(mkdtempSync(join(tmpdir(), opts.prefix ?? 'foreman-repo-')));
  const root = join(tmp, 'repo');
  mkdirSync(root);
  const env = cleanEnv();
  const git = (args: string[], cwd = root): string =>
    execFileSync('git', args, { cwd, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const write = (rel: string, content: string, cwd = root): void => {
    mkdirSync(dirname(join(cwd, rel)), { recursive: true });
    writeFileSync(join(cwd, rel), content);
  };
  if (opts.template)
    cpSync(opts.template, root, { recursive: true, filter: (src) => !src.split(/[\\/]/).includes('.git') });
  for (const [rel, content] of Object.entries(opts.files ?? {})) write(rel, content);
  git(['init', '-q', '-b', 'main']);
  git(['config', 'user.name', 'Dev Eloper']);
  git(['config', 'user.email', 'dev@example.com']);
  git(['config', 'commit.gpgsign', 'false']);
  if (!opts.empty) {
    git(['add', '-A']);
    git(['commit', '-q', '-m', 'initial']);
  }
  return {
    tmp,
    root,
    worktreeRoot: join(tmp, 'worktrees'),
    git,
    write,
    read: (rel, cwd = root) => readFileSync(join(cwd, rel), 'utf8'),
    snapshot: () => ({
      head: git(['rev-parse', 'HEAD']).trim(),
      branch: git(['symbolic-ref', '--short', 'HEAD']).trim(),
      status: git(['status', '--porcelain', '--untracked-files=all']),
    }),
    cleanup: () => rmSync(tmp, { recursive: true, force: true }),
  };
}
