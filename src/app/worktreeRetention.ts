/**
 * The worktree retention every new run starts with (and `foreman clean` applies): worktrees of
 * finished or abandoned runs are removed by the retention policy; work left uncommitted in one is
 * committed to its branch first, and branches are kept unless asked otherwise. Shared by the CLI
 * and the Lead panel.
 */
import { join } from 'node:path';
import type { ForemanWorktree } from '../core/repoPort';
import { worktreesToRemove } from '../core/retention';
import type { Removal, RetentionPolicy, RunFacts } from '../core/retention';
import { reduceJournal } from '../core/runState';
import { readJournal, runJournalPath } from '../infra/journalFile';
import { reapProcessesIn } from '../infra/processReaper';
import { lockHolder } from '../infra/runLock';
import type { Workspace } from './workspace';
import { runDir } from './workspace';

/** What is known of each run that owns a worktree (null: its journal is gone). */
export async function runFacts(ws: Workspace, worktrees: ForemanWorktree[]): Promise<Map<string, RunFacts | null>> {
  const facts = new Map<string, RunFacts | null>();
  for (const runId of new Set(worktrees.map((w) => w.runId))) {
    try {
      const { events } = await readJournal(runJournalPath(ws.repo.stateDir, runId));
      const state = reduceJournal(events);
      const last = events.at(-1)?.t ?? 0;
      facts.set(runId, {
        status: state.status,
        lastEventAt: last,
        live: lockHolder(join(runDir(ws, runId), 'lock')) !== null,
      });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      facts.set(runId, null);
    }
  }
  return facts;
}

/**
 * Remove one worktree of a run no live process drives: processes still working in it (left by a
 * Foreman that died) are killed, and uncommitted work is saved on its branch first. Returns a line
 * to show.
 */
export async function removeWorktreeSaving(ws: Workspace, removal: Removal, deleteBranch: boolean): Promise<string> {
  const wt = removal.worktree;
  const reaped = reapProcessesIn(wt.path);
  const stopped = reaped.length ? `; stopped ${reaped.length} process(es) left running in it` : '';
  let saved = '';
  try {
    const commit = await ws.repo.commitAll(
      wt.path,
      `foreman(${wt.taskId}): work in progress saved before removing the worktree`,
    );
    if (commit) saved = `; uncommitted work saved as ${commit.slice(0, 10)} on ${wt.branch}`;
  } catch {
    // The directory may already be gone (deleted by hand): nothing to save.
  }
  await ws.repo.removeWorktree(wt.path, { deleteBranch: deleteBranch ? wt.branch : null });
  return `removed worktree ${wt.path} (${removal.reason})${stopped}${saved}`;
}

/** Apply the retention policy; returns one line per removed worktree. */
export async function reconcileWorktrees(ws: Workspace, settings: { retention: RetentionPolicy }): Promise<string[]> {
  const worktrees = await ws.repo.listWorktrees();
  if (worktrees.length === 0) return [];
  const removals = worktreesToRemove(worktrees, await runFacts(ws, worktrees), settings.retention, Date.now());
  const lines: string[] = [];
  for (const r of removals) lines.push(await removeWorktreeSaving(ws, r, false));
  return lines;
}
