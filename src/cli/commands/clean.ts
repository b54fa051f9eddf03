/**
 * `foreman clean` and the reconciliation every `foreman run` starts with: worktrees of finished
 * or abandoned runs are removed by the retention policy; work left uncommitted in one is committed
 * to its branch first, and branches are kept unless `--branches` asks otherwise.
 */
import { worktreesToRemove } from '../../core/retention';
import type { Removal } from '../../core/retention';
import { EXIT } from '../context';
import type { CommandHandler } from '../context';
import { loadRun, openWorkspace } from '../../app/workspace';
import { removeWorktreeSaving, runFacts } from '../../app/worktreeRetention';

export const cleanCommand: CommandHandler = async (ctx) => {
  const ws = await openWorkspace(ctx.cl.cwd, ctx.settings);
  const runId = ctx.cl.args[0];
  const worktrees = await ws.repo.listWorktrees();
  const facts = await runFacts(ws, worktrees);
  let removals: Removal[];
  // A run with no worktree left is fine; a name that is no run at all is a mistake to point out.
  if (runId && !worktrees.some((w) => w.runId === runId)) await loadRun(ws, runId);
  if (runId || ctx.cl.all) {
    const chosen = worktrees.filter((w) => (ctx.cl.all || w.runId === runId) && !facts.get(w.runId)?.live);
    removals = chosen.map((w) => ({ worktree: w, reason: runId ? `asked for run ${runId}` : 'asked for all runs' }));
    const busy = worktrees.filter((w) => (ctx.cl.all || w.runId === runId) && facts.get(w.runId)?.live);
    if (busy.length) ctx.err(`Kept ${busy.length} worktree(s) of runs a live process is driving.`);
  } else {
    removals = worktreesToRemove(worktrees, facts, ctx.settings.retention, Date.now());
  }
  const lines: string[] = [];
  for (const r of removals) lines.push(await removeWorktreeSaving(ws, r, ctx.cl.branches));
  if (ctx.cl.json)
    ctx.out(JSON.stringify({ removed: removals.map((r) => ({ ...r.worktree, reason: r.reason })) }, null, 2));
  else ctx.out(lines.length ? lines.join('\n') : 'Nothing to clean.');
  return EXIT.ok;
};
