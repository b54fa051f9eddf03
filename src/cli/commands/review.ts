/**
 * The developer's decisions on a run's tasks from the command line: `foreman accept`, `reject` and
 * `revise`. Each reopens the run from its journal, applies the decision, and drives the run on
 * (merging what was accepted, starting what now can start, redoing what was sent back).
 */
import type { Decision } from '../../core/decisions';
import type { RunEngine } from '../../core/runEngine';
import { EXIT } from '../context';
import type { CommandContext, CommandHandler } from '../context';
import { UsageError } from '../options';
import { loadRun, openWorkspace } from '../../app/workspace';
import { driveLocked, cliMcp, reopenRun, sandboxGate } from './run';

async function decide(
  ctx: CommandContext,
  usage: string,
  act: (engine: RunEngine, args: string[]) => Decision[] | Promise<Decision[]>,
): Promise<number> {
  const [runId, ...args] = ctx.cl.args;
  if (!runId || args.length === 0) throw new UsageError(usage);
  const ws = await openWorkspace(ctx.cl.cwd, ctx.settings);
  await loadRun(ws, runId); // an unknown run is a usage error, before the sandbox and the backend
  const approvals = await sandboxGate(ctx, ws);
  if (typeof approvals === 'number') return approvals;
  const engine = await reopenRun(ctx, ws, runId, approvals.approver, await cliMcp(ctx, ws));
  if (typeof engine === 'number') {
    approvals.close();
    return engine;
  }
  return driveLocked(ctx, ws, engine, approvals, async (e) => {
    const refusals = (await act(e, args)).filter((d): d is Extract<Decision, { ok: false }> => !d.ok);
    for (const r of refusals) ctx.err(`Refused: ${r.message}`);
    return refusals.length ? EXIT.refused : null;
  });
}

export const acceptCommand: CommandHandler = (ctx) =>
  decide(ctx, 'foreman accept <run> <task>...', (engine, tasks) => tasks.map((t) => engine.acceptTask(t)));

export const rejectCommand: CommandHandler = (ctx) =>
  decide(ctx, 'foreman reject <run> <task>...', async (engine, tasks) => {
    const decisions: Decision[] = [];
    for (const t of tasks) decisions.push(await engine.rejectTask(t));
    return decisions;
  });

export const reviseCommand: CommandHandler = (ctx) =>
  decide(ctx, 'foreman revise <run> <task> "<what to change>"', (engine, [task, ...words]) => [
    engine.requestChanges(task, words.join(' ')),
  ]);
