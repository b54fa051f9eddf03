/**
 * What the Lead panel's end-to-end tests work on: a git repository made from samples/demo-shop,
 * the project's scripted OpenAI-compatible test server, and probes for the processes a run leaves.
 *
 *   const sample = makeSampleRepo();                  // <tmp>/demo-shop on main, one commit
 *   const server = await startScriptedServer('demo'); // server.url, server.requests (chat requests)
 *   ...; await server.close(); sample.cleanup();
 *
 * The test server runs in the test's own process (src/testserver/server.ts, the code behind
 * `node dist/testserver.js`), so a test reads the requests it received directly: the program
 * prints only its URL and has no endpoint that reports them.
 */
import { execFileSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  realpathSync,
  rmSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, sep } from 'node:path';
import { demoScenario } from '../../src/testserver/demoScenario';
import { scenarioResponder } from '../../src/testserver/scenario';
import type { Scenario } from '../../src/testserver/scenario';
import { createTestServer } from '../../src/testserver/server';
import type { TestServer } from '../../src/testserver/server';
import { PROJECT_ROOT } from './harness';

/** The demo's spec (samples/demo-spec.txt), which the demo scenario's planner answers. */
export const DEMO_SPEC = readFileSync(join(PROJECT_ROOT, 'samples/demo-spec.txt'), 'utf8').trim();

/** A temporary copy of samples/demo-shop as a git repository, with a worktree root beside it. */
export interface SampleRepo {
  /** The temporary folder holding `repo` and `worktrees`. */
  tmp: string;
  /** The repository (a real path), on branch main with one commit. */
  repo: string;
  /** Where task worktrees go (the `foreman.worktrees.location` setting); outside the workspace. */
  worktrees: string;
  /** Runs git in the repository; returns its trimmed stdout, throws on a non-zero exit. */
  git(...args: string[]): string;
  /** Removes the temporary folder (kept, and its path printed, with FOREMAN_E2E_KEEP=1). */
  cleanup(): void;
}

/** Copies samples/demo-shop to a temporary folder and commits it on `main`. */
export function makeSampleRepo(): SampleRepo {
  const tmp = realpathSync(mkdtempSync(join(tmpdir(), 'foreman-e2e-repo-')));
  const repo = join(tmp, 'demo-shop');
  cpSync(join(PROJECT_ROOT, 'samples/demo-shop'), repo, { recursive: true });
  const git = (...args: string[]): string =>
    execFileSync('git', ['-c', 'user.name=E2E Developer', '-c', 'user.email=e2e@example.com', ...args], {
      cwd: repo,
      encoding: 'utf8',
    }).trim();
  git('init', '-q', '-b', 'main');
  git('add', '-A');
  git('commit', '-q', '-m', 'The shop before Foreman');
  const cleanup = (): void => {
    if (process.env.FOREMAN_E2E_KEEP === '1') console.log(`e2e: kept the sample repository ${repo}`);
    else rmSync(tmp, { recursive: true, force: true });
  };
  return { tmp, repo, worktrees: join(tmp, 'worktrees'), git, cleanup };
}

/** Starts the scripted test server on a free loopback port: the demo's script, or the one given. */
export function startScriptedServer(scenario: Scenario | 'demo'): Promise<TestServer> {
  return createTestServer({
    responder: scenarioResponder(scenario === 'demo' ? demoScenario : scenario),
    model: 'scripted-demo',
  });
}

/** A live process and what it runs. */
export interface ProcessInfo {
  pid: number;
  cwd: string;
  /** Its command line, arguments joined by spaces. */
  command: string;
}

/**
 * Live processes whose working folder is `dir` or inside it: the agents' commands and checks of
 * a run, which Foreman runs in the task worktrees. (Their environment is scrubbed of FOREMAN_*
 * variables, so the harness's session marker does not find them; their folder does.)
 */
export function processesIn(dir: string): ProcessInfo[] {
  if (!existsSync(dir)) return [];
  const root = realpathSync(dir);
  const found: ProcessInfo[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const cwd = readlinkSync(`/proc/${name}/cwd`);
      if (cwd !== root && !cwd.startsWith(root + sep)) continue;
      if (/^State:\s+Z/m.test(readFileSync(`/proc/${name}/status`, 'latin1'))) continue;
      const command = readFileSync(`/proc/${name}/cmdline`, 'latin1').split('\0').join(' ').trim();
      found.push({ pid: Number(name), cwd, command });
    } catch {
      // The process ended while being read, or is not ours to read.
    }
  }
  return found;
}
