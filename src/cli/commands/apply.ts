/**
 * `foreman apply <run>`: bring a run's integration branch onto the developer's current branch as
 * one commit (default) or a merge. Refuses, changing nothing, when their checkout is dirty in the
 * files involved or the change would conflict, and while another process drives the run.
 */
import { join } from 'node:path';
import { integrationBranch } from '../../core/branches';
import { reduceJournal } from '../../core/runState';
import type { RunState } from '../../core/runState';
import { openJournal, runJournalPath } from '../../infra/journalFile';
import { acquireLock } from '../../infra/runLock';
import { EXIT } from '../context';
import type { CommandContext, CommandHandler } from '../context';
import { UsageError } from '../options';
import { loadRun, openWorkspace, runDir } from '../../app/workspace';
import type { Workspace } from '../../app/workspace';

export const applyCommand: CommandHandler = async (ctx) => {
  const runId = ctx.cl.args[0];
  if (!runId) throw new UsageError('name the run to apply: foreman apply <run> (see foreman status --all)');
  const ws = await openWorkspace(ctx.cl.cwd, ctx.settings);
  await loadRun(ws, runId); // an unknown run is a usage error before any lock is taken
  const lock = acquireLock(join(runDir(ws, runId), 'lock'));
  if (!lock.ok) {
    ctx.err(`Run ${runId} is being driven by process ${lock.holder}; apply it once that run has finished.`);
    return EXIT.refused;
  }
  try {
    return await applyLocked(ctx, ws, runId);
  } finally {
    lock.release();
  }
};

async function applyLocked(ctx: CommandContext, ws: Workspace, runId: string): Promise<number> {
  const state = reduceJournal((await loadRun(ws, runId)).events);
  const merged = [...state.tasks.values()].filter((t) => t.status === 'merged');
  if (!state.base || merged.length === 0) {
    ctx.err(`Run ${runId} has nothing merged into its integration branch; nothing to apply.`);
    return EXIT.refused;
  }
  if (state.status !== 'completed') {
    ctx.err(`Note: run ${runId} is ${state.status}; applying the ${merged.length} task(s) merged so far.`);
  }
  const title = state.plan?.spec.split('\n')[0].slice(0, 72) ?? runId;
  const message =
    ctx.cl.message ?? `${title}\n\nApplied from Foreman run ${runId}: ${merged.map((t) => t.id).join(', ')}.`;
  const result = await ws.repo.apply(integrationBranch(runId), state.base, ctx.cl.mode, message);
  if (!result.ok) {
    // The message names the files involved and says what to do (see RepoPort.apply).
    ctx.err(result.reason === 'nothing' && state.applied ? `Run ${runId}: ${appliedWords(state)}` : result.message);
    return result.reason === 'nothing' ? EXIT.ok : EXIT.refused;
  }
  const journal = openJournal(runJournalPath(ws.repo.stateDir, runId), runId);
  journal.append({ type: 'applied', commit: result.commit, mode: result.mode, branch: result.branch });
  await journal.flush();
  journal.close();
  if (ctx.cl.json) ctx.out(JSON.stringify(result, null, 2));
  else
    ctx.out(
      `Applied run ${runId} onto ${result.branch} as ${result.mode === 'squash' ? 'one commit' : 'a merge'} ${result.commit.slice(0, 10)} (${result.files.length} file(s)).`,
    );
  return EXIT.ok;
}

/** "already applied onto main as one commit 3b80b82c19; nothing more to apply." */
function appliedWords(state: RunState): string {
  const a = state.applied;
  if (!a) return 'nothing to apply.';
  const how = a.mode === 'squash' ? 'as one commit' : 'as a merge';
  return `already applied onto ${a.branch ?? 'your branch'} ${how} ${a.commit.slice(0, 10)}; nothing more to apply.`;
}
