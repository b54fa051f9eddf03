/**
 * `foreman status`: a run's tasks with their tokens, cost and verification, rebuilt from its
 * journal (the latest run by default); `--all` lists every run of the repository.
 */
import { reduceJournal, runPhase } from '../../core/runState';
import { listRunIds } from '../../infra/journalFile';
import { EXIT } from '../context';
import type { CommandHandler } from '../context';
import { Ledger } from '../../core/ledger';
import { fmtUsageCost, fmtTokens, integrationCell, renderBreakdown, renderSummary, table } from '../render';
import { loadRun, openWorkspace } from '../../app/workspace';
import { stateJson } from './run';
import { TelemetryBook } from '../../core/telemetry';
import { backendsJson, renderBackends } from '../telemetryText';

export const statusCommand: CommandHandler = async (ctx) => {
  const ws = await openWorkspace(ctx.cl.cwd, ctx.settings);
  const ids = await listRunIds(ws.repo.stateDir);
  if (ids.length === 0 && ctx.cl.args[0] === undefined) {
    ctx.out(ctx.cl.json ? '[]' : 'No runs in this repository yet. Start one with: foreman run "<spec>"');
    return EXIT.ok;
  }
  if (ctx.cl.all) {
    const states = [];
    for (const id of ids) states.push(reduceJournal((await loadRun(ws, id)).events));
    if (ctx.cl.json) ctx.out(JSON.stringify(states.map(stateJson), null, 2));
    else {
      const rows = states.map((s) => {
        const merged = [...s.tasks.values()].filter((t) => t.status === 'merged').length;
        return [
          s.runId,
          s.applied && runPhase(s) === 'applied' ? `applied ${s.applied.commit.slice(0, 10)}` : s.status,
          `${merged}/${s.tasks.size}`,
          integrationCell(s).replace(/^integration /, ''),
          fmtTokens(s.usage.input + s.usage.output),
          fmtUsageCost(s.usage),
          s.startedAt ? new Date(s.startedAt).toISOString().slice(0, 16).replace('T', ' ') : '-',
        ];
      });
      ctx.out(table(['run', 'status', 'merged', 'checks', 'tokens', 'cost', 'started'], rows));
    }
    return EXIT.ok;
  }
  const runId = ctx.cl.args[0] ?? ids[0];
  const { events, torn } = await loadRun(ws, runId);
  const state = reduceJournal(events);
  if (torn) ctx.err(`Note: ${torn}.`);
  const ledger = Ledger.fromEvents(events);
  const book = TelemetryBook.fromEvents(events);
  if (ctx.cl.json)
    ctx.out(JSON.stringify({ ...(stateJson(state) as object), ...(backendsJson(book, ledger) as object) }, null, 2));
  else {
    ctx.out(
      `Run ${runId}${state.status === 'interrupted' ? ` (interrupted: resume with foreman run --resume ${runId})` : ''}`,
    );
    ctx.out(renderSummary(state, ledger, events.at(-1)?.t ?? Date.now()));
    ctx.out(`\n${renderBreakdown(ledger)}`);
    const backends = renderBackends(book, ledger);
    if (backends) ctx.out(`\n${backends}`);
  }
  return EXIT.ok;
};
