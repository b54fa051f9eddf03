/**
 * What the Lead panel's end-to-end tests work on: a git repository made from samples/demo-shop,
 * the project's scripted OpenAI-compatible test server, and probes for the processes a run leaves.
 *
 *   const sample = makeSampleRepo();                  // <tmp>/demo-shop on main, one commit
 *   const server = await startScriptedServer('demo'); // server.url, server.requests (chat requests)
 *   ...; await server.close(); sample.cleanup();
 *
 * The test server runs in the test's own process (src/scripted/server.ts, the code behind
 * `node dist/scripted.js`), so a test reads the requests it received directly: the program
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
import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import { demoScenario } from '../../src/scripted/demoScenario';
import { scenarioResponder } from '../../src/scripted/scenario';
import type { Scenario } from '../../src/scripted/scenario';
import { createScriptedServer } from '../../src/scripted/server';
import type { ScriptedServer } from '../../src/scripted/server';
import { ensureVsix, processesOf, PROJECT_ROOT, startVSCode } from './harness';
import type { VSCodeSession } from './harness';

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

/** What a test file's VS Code session opens with. */
export interface SampleSessionOptions {
  /** The scripted backend's script, started before VS Code; without one no server is started. */
  scenario?: Scenario | 'demo';
  /**
   * User settings besides `foreman.worktrees.location`, given the started server (if any); may
   * first do set-up of its own (start a backend of the test's own, write the workspace's settings).
   */
  settings?: (server: ScriptedServer | null) => Record<string, unknown> | Promise<Record<string, unknown>>;
  /** Whether the workspace is trusted (default true). */
  trust?: boolean;
  /** The time the set-up may take (default two minutes). */
  timeoutMs?: number;
  /**
   * More set-up once VS Code is open, inside the same hook: node:test does not wait for one
   * top-level `before` hook before it starts the next.
   */
  ready?: (session: SampleSession) => Promise<void>;
}

/** The parts of a test file's session; each is there once the file's `before` hook has run. */
export interface SampleSession {
  readonly sample: SampleRepo;
  readonly vscode: VSCodeSession;
  /** The scripted backend; only when `scenario` was given. */
  readonly server: ScriptedServer;
}

/**
 * Registers a test file's `before` and `after` hooks: a fresh sample repository, the scripted
 * backend when a scenario is given, and VS Code on the sample with the packed Foreman installed.
 * Afterwards VS Code is closed, none of its processes may be left, the server is closed and the
 * sample removed. Call it once, at the top level of the file.
 */
export function useSampleSession(options: SampleSessionOptions = {}): SampleSession {
  let sample: SampleRepo | undefined;
  let vscode: VSCodeSession | undefined;
  let server: ScriptedServer | undefined;
  before(
    async () => {
      const vsix = ensureVsix();
      sample = makeSampleRepo();
      if (options.scenario !== undefined) server = await startScriptedServer(options.scenario);
      const settings = {
        ...(await options.settings?.(server ?? null)),
        'foreman.worktrees.location': sample.worktrees,
      };
      vscode = await startVSCode({ workspace: sample.repo, vsix, trust: options.trust, settings });
      await options.ready?.(session);
    },
    { timeout: options.timeoutMs ?? 120_000 },
  );
  after(async () => {
    await vscode?.close();
    if (vscode) assert.deepEqual(processesOf(vscode.marker), [], 'closing VS Code leaves none of its processes');
    await server?.close();
    sample?.cleanup();
  });
  const present = <T>(value: T | undefined, what: string): T => {
    if (value === undefined) throw new Error(`the e2e session has no ${what} (did its before hook run?)`);
    return value;
  };
  const session: SampleSession = {
    get sample() {
      return present(sample, 'sample repository');
    },
    get vscode() {
      return present(vscode, 'VS Code');
    },
    get server() {
      return present(server, 'scripted backend');
    },
  };
  return session;
}

/** Starts the scripted test server on a free loopback port: the demo's script, or the one given. */
export function startScriptedServer(scenario: Scenario | 'demo'): Promise<ScriptedServer> {
  return createScriptedServer({
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
 * a run, which Foreman runs in the task worktrees. (Their environment is an allow-list without
 * FOREMAN_* variables, so the harness's session marker does not find them; their folder does.)
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
