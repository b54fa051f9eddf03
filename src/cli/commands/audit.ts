/**
 * `foreman audit [<run>] [--task T] [--json]`: a run's audit trail from its journal (the latest run
 * by default): every tool call with the policy's verdict, every approval, each task's sandbox
 * profile and every git operation Foreman performed. `--json` exports the entries with the journal
 * events they came from.
 */
import { auditTrail, formatAudit } from '../../core/audit';
import { reduceJournal } from '../../core/runState';
import { listRunIds } from '../../infra/journalFile';
import { loadRun, openWorkspace } from '../../app/workspace';
import { EXIT } from '../context';
import type { CommandHandler } from '../context';
import { UsageError } from '../options';

export const auditCommand: CommandHandler = async (ctx) => {
  const ws = await openWorkspace(ctx.cl.cwd, ctx.settings);
  const ids = await listRunIds(ws.repo.stateDir);
  const runId = ctx.cl.args[0] ?? ids[0];
  if (runId === undefined) {
    ctx.err('No runs in this repository yet, so there is no audit trail.');
    return EXIT.refused;
  }
  const { events, torn } = await loadRun(ws, runId);
  if (torn) ctx.err(`Note: ${torn}.`);
  const task = ctx.cl.task ?? null;
  const tasks = reduceJournal(events).tasks;
  if (task !== null && !tasks.has(task))
    throw new UsageError(
      `--task ${task}: run ${runId} has no such task${tasks.size ? ` (its tasks: ${[...tasks.keys()].join(', ')})` : ''}`,
    );
  const entries = auditTrail(events, task);
  if (ctx.cl.json) {
    const exported = entries.map((e) => ({ ...e, time: new Date(e.t).toISOString() }));
    ctx.out(JSON.stringify({ runId, task, entries: exported }, null, 2));
    return EXIT.ok;
  }
  if (entries.length === 0) {
    ctx.out(task ? `Run ${runId} has no audit entries for task ${task}.` : `Run ${runId} has no audit entries.`);
    return EXIT.ok;
  }
  ctx.out(`Audit trail of run ${runId}${task ? `, task ${task}` : ''} (! marks a refusal or a failure):`);
  for (const line of formatAudit(entries, clock)) ctx.out(line);
  return EXIT.ok;
};

/** Local date and time to the second: the trail spans hours, and runs may span days. */
function clock(t: number): string {
  const d = new Date(t);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}
