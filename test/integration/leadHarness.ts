/**
 * Helpers for the Lead session's integration tests: a LeadHost made of plain objects (settings
 * object, memory map, trust flag, a log list, a withProgress that just runs the work), a session
 * on it, and waits on the session's state. Everything else is real: git repositories in temp
 * dirs (runHarness.ts), the scripted OpenAI-compatible server, the engine, processes.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createLeadSession } from '../../src/app/leadSession';
import type { LeadSession, LeadSessionOptions } from '../../src/app/leadSession';
import type { BackendSetting, LeadHost, LeadSettings } from '../../src/app/leadHost';
import { LeadError } from '../../src/app/leadApi';
import type { SessionRequest } from '../../src/app/leadApi';
import { DEFAULT_POLICY } from '../../src/core/commandPolicy';
import { PanelState } from '../../src/protocol/panel';
import type { TempRepo } from './runHarness';
import { DEFAULT_SANDBOX_SETTINGS } from '../../src/core/sandbox';

/** A LeadHost the test can look into and change. */
export interface TestHost extends LeadHost {
  trusted: boolean;
  settings: LeadSettings;
  keys: Record<string, string>;
  readonly memoryMap: Map<string, unknown>;
  readonly logs: { level: string; message: string }[];
  readonly progressTitles: string[];
}

/** Settings for tests: no checks, no review, worktrees in the repo's temp dir. */
export function testSettings(repo: TempRepo, over: Partial<LeadSettings> = {}): LeadSettings {
  return {
    backends: [],
    defaultBackend: null,
    roles: {},
    concurrency: 4,
    holdForReview: false,
    budgets: { runTokens: null, runCost: null, taskTokens: null, taskCost: null },
    checks: [],
    review: false,
    worktreeRoot: repo.worktreeRoot,
    retention: { keepFinishedRuns: 3, abandonedAfterDays: 7 },
    setup: { command: null, include: null },
    commandPolicy: DEFAULT_POLICY,
    approvalTimeoutMs: 300_000,
    maxSteps: 40,
    maxTasks: 50,
    maxRepairRounds: 2,
    dirty: 'refuse',
    sandbox: { ...DEFAULT_SANDBOX_SETTINGS },
    ...over,
  };
}

/** A backend setting for the scripted server. */
export function serverBackend(url: string, name = 'local', model = 'foreman-test-model'): BackendSetting {
  return { name, baseUrl: url, models: [model], requestTimeoutMs: 30_000 };
}

/** A host over `folder` with these settings, trusted unless said otherwise. */
export function testHost(
  folder: string | null,
  settings: LeadSettings,
  opts: { trusted?: boolean; keys?: Record<string, string> } = {},
): TestHost {
  const memoryMap = new Map<string, unknown>();
  const host: TestHost = {
    folder,
    trusted: opts.trusted ?? true,
    settings,
    keys: opts.keys ?? {},
    memoryMap,
    logs: [],
    progressTitles: [],
    isTrusted: () => host.trusted,
    readSettings: () => host.settings,
    apiKey: async (name) => host.keys[name],
    addBackend: async (backend) => {
      host.settings = {
        ...host.settings,
        backends: [...host.settings.backends.filter((b) => b.name !== backend.name), backend],
      };
    },
    memory: {
      get: <T>(key: string) => memoryMap.get(key) as T | undefined,
      set: async (key, value) => void memoryMap.set(key, value),
    },
    log: (level, message) => void host.logs.push({ level, message }),
    withProgress: (title, work) => {
      host.progressTitles.push(title);
      return work(new AbortController().signal);
    },
  };
  return host;
}

/** A session on `host`, fast for tests (no demo pacing, a quick tick). */
export function session(host: LeadHost, options: LeadSessionOptions = {}): Promise<LeadSession> {
  return createLeadSession(host, { demoPaceMs: 0, tickMs: 200, ...options });
}

/** The session's state, checked against the protocol's schema. */
export function state(s: LeadSession): PanelState {
  return PanelState.parse(s.snapshot());
}

/** Resolve once `probe` holds for the session's state (checked on every change and every 50 ms). */
export function until<T>(
  s: LeadSession,
  what: string,
  probe: (state: PanelState) => T | null | undefined | false,
  timeoutMs = 30_000,
): Promise<T> {
  return new Promise((resolve, reject) => {
    let done = false;
    const check = (): void => {
      if (done) return;
      const value = probe(s.snapshot());
      if (value === null || value === undefined || value === false) return;
      done = true;
      stop();
      resolve(value);
    };
    const unsubscribe = s.onDidChange(check);
    const poll = setInterval(check, 50);
    const timer = setTimeout(() => {
      if (done) return;
      done = true;
      stop();
      reject(
        new Error(
          `timed out after ${timeoutMs} ms waiting for ${what}; state: ${JSON.stringify(summary(s.snapshot()))}`,
        ),
      );
    }, timeoutMs);
    function stop(): void {
      unsubscribe();
      clearInterval(poll);
      clearTimeout(timer);
    }
    check();
  });
}

/** The run on the board once it is no longer live. */
export function settledRun(s: LeadSession, timeoutMs = 30_000): Promise<NonNullable<PanelState['run']>> {
  return until(s, 'the run to settle', (st) => (st.run && !st.run.live ? st.run : null), timeoutMs);
}

/** Expect a request to be refused with a LeadError of this reason; returns the error. */
export async function refused(
  s: LeadSession,
  request: SessionRequest,
  reason: LeadError['reason'],
): Promise<LeadError> {
  try {
    await s.handle(request);
  } catch (e) {
    assert.ok(LeadError.is(e), `expected a LeadError, got ${String(e)}`);
    assert.equal(e.reason, reason, e.message);
    return e;
  }
  assert.fail(`${request.type} was not refused`);
}

/** Lines of `ps` whose command line contains `token`. */
export function processesWith(token: string): string[] {
  return execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' })
    .split('\n')
    .filter((l) => l.includes(token));
}

function summary(st: PanelState): unknown {
  return {
    phase: st.phase,
    blocked: st.blocked,
    notices: st.notices,
    run: st.run && { status: st.run.status, live: st.run.live, tasks: st.run.tasks.map((t) => `${t.id}:${t.status}`) },
  };
}
