/**
 * Process runners for tests about what a command does rather than where it may reach: the sandbox
 * off (so the test can see host pids and write where it likes), the agent environment's HOME,
 * TMPDIR and cache folder in a folder of the test's. The sandbox itself is tested in
 * sandbox.test.ts and, through the CLI and the engine, in the run tests.
 */
import type { ProcessRunner } from '../../src/core/ports';
import { createProcessRunner } from '../../src/infra/processRunner';
import type { ProcessRunnerOptions } from '../../src/infra/processRunner';

/** An unconfined runner whose agent environment points into `dir`. */
export function unconfinedRunner(dir: string, over: Partial<ProcessRunnerOptions> = {}): ProcessRunner {
  return createProcessRunner({
    sandbox: null,
    network: 'host',
    scope: { worktree: dir, tmp: dir, cache: dir, home: dir, readOnly: [], hidden: [] },
    ...over,
  });
}
