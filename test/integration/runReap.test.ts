/**
 * After a kill -9 of Foreman, no agent process survives the run being taken back: `foreman run
 * --resume` and `foreman clean` kill whatever still works in the run's worktrees. Real CLI
 * processes, a real agent command, real signals.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { toolCall } from '../../src/scripted/scenario';
import { isDead } from './processProbe';
import { latestRunId, makeRepo, planReply, rawTask, runCli, spawnCli, startServer, waitFor } from './runHarness';
import type { TempRepo } from './runHarness';
import type { ScriptedServer } from '../../src/scripted/server';
import { execFileSync } from 'node:child_process';

const FLAGS = ['--no-review', '--no-checks'];

/** Pids of processes whose command line is exactly `command`. */
function pidsOf(command: string): number[] {
  return execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' })
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.endsWith(` ${command}`))
    .map((l) => Number(l.split(' ')[0]));
}

/** Starts a run whose agent runs `command`, kills the CLI with SIGKILL while it runs; returns the run id. */
async function killMidCommand(repo: TempRepo, server: ScriptedServer, command: string): Promise<string> {
  const cli = spawnCli(['run', 'Wait a long time.', ...FLAGS], { repo, server });
  await waitFor('the agent command to run', () => (pidsOf(command).length > 0 ? true : null), 20_000);
  process.kill(cli.pid, 'SIGKILL');
  assert.equal((await cli.result).signal, 'SIGKILL');
  return latestRunId(repo);
}

for (const way of ['clean', 'resume'] as const) {
  test(`a command left running by a killed Foreman is stopped by foreman ${way}`, { timeout: 60_000 }, async () => {
    const repo = makeRepo();
    const command = way === 'clean' ? 'sleep 3141' : 'sleep 3142';
    const server = await startServer({
      planner: [planReply([rawTask('wait')])],
      agents: { wait: [toolCall('run_command', { command }), toolCall('finish', { summary: 'waited' })] },
    });
    try {
      const runId = await killMidCommand(repo, server, command);
      const left = pidsOf(command);
      const args = way === 'clean' ? ['clean', runId] : ['run', '--resume', runId, ...FLAGS];
      const r = await runCli(args, { repo, server });
      assert.equal(r.code, 0, r.stderr);
      await waitFor('the left-over command to be gone', () => (left.every(isDead) ? true : null), 10_000);
      assert.deepEqual(
        pidsOf(command).filter((p) => !isDead(p)),
        [],
        'nothing of the command is left',
      );
      if (left.length > 0 && way === 'resume') assert.match(r.stderr, /Stopped process \d+, left running/);
      if (left.length > 0 && way === 'clean')
        assert.match(r.stdout + r.stderr, /stopped \d+ process\(es\) left running/);
    } finally {
      for (const pid of pidsOf(command)) process.kill(pid, 'SIGKILL');
      await server.close();
      repo.cleanup();
    }
  });
}
