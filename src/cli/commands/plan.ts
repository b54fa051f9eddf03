/**
 * `foreman plan`: plan a spec into a task graph, show it with an estimate, optionally save it for
 * editing. Also the planning step `foreman run` shares.
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { RunEstimate } from '../../core/estimate';
import type { Budgets } from '../../core/budget';
import type { ModelClient, ModelResponse } from '../../core/model';
import type { Plan } from '../../core/plan';
import { loadPlan, savePlan } from '../../infra/planFile';
import { EXIT } from '../context';
import type { CommandContext, CommandHandler } from '../context';
import { fmtCost, fmtTokens, renderPlan } from '../render';
import { UsageError } from '../options';
import { openWorkspace, repositoryView, roleClients } from '../../app/workspace';
import { errorMessage } from '../../core/errors';
import { overBudgetText } from '../../app/planDraft';
import { estimateWork, planWork } from '../../app/planWork';

/** The spec text from the first argument or --spec-file. */
export async function readSpec(ctx: CommandContext): Promise<string> {
  if (ctx.cl.specFile) {
    const file = resolve(ctx.cl.cwd, ctx.cl.specFile);
    const text = await readFile(file, 'utf8').catch((e: unknown) => {
      const code = (e as NodeJS.ErrnoException).code;
      const why =
        code === 'ENOENT' ? 'there is no such file' : code === 'EISDIR' ? 'it is a folder' : (code ?? errorMessage(e));
      throw new UsageError(`--spec-file ${ctx.cl.specFile}: cannot read ${file}: ${why}`);
    });
    if (!text.trim()) throw new UsageError(`--spec-file ${ctx.cl.specFile}: the file is empty; write the spec in it`);
    return text.trim();
  }
  const spec = ctx.cl.args.join(' ').trim();
  if (!spec) throw new UsageError('give a spec: foreman plan "what to build", or --spec-file FILE');
  return spec;
}

/** A plan ready to run, with the planner's requests (to book in the run's ledger). */
export interface PlannedRun {
  plan: Plan;
  repoView: string;
  responses: ModelResponse[];
}

/**
 * Plan the spec (or load --plan). Prints failures to stderr and returns an exit code instead of a
 * plan when there is none.
 */
export async function obtainPlan(
  ctx: CommandContext,
  model: ModelClient,
  repoView: string,
): Promise<PlannedRun | number> {
  if (ctx.cl.planFile) {
    const loaded = await loadPlan(resolve(ctx.cl.cwd, ctx.cl.planFile), { maxTasks: ctx.cl.maxTasks });
    if (!loaded.ok) {
      ctx.err(`The plan file is not valid:\n${loaded.errors.map((e) => `  - ${e}`).join('\n')}`);
      return EXIT.usage;
    }
    return { plan: loaded.plan, repoView, responses: [] };
  }
  const spec = await readSpec(ctx);
  ctx.err(`Planning with ${model.model} at ${model.endpoint} …`);
  const outcome = await planWork(spec, repoView, model, { maxTasks: ctx.cl.maxTasks });
  if (!outcome.ok) {
    ctx.err(`Planning failed: ${outcome.message}`);
    for (const e of outcome.errors) ctx.err(`  - ${e}`);
    return outcome.reason === 'model' ? EXIT.backend : EXIT.runFailed;
  }
  if (outcome.repaired) ctx.err("(the planner's first answer was invalid; its repair was accepted)");
  for (const note of outcome.notes) ctx.err(note);
  return { plan: outcome.plan, repoView, responses: outcome.responses };
}

/** The run's estimated tokens and cost (see estimateWork). */
export async function estimateFor(
  ctx: CommandContext,
  planned: PlannedRun,
  model: ModelClient,
  repo: { root: string; stateDir: string },
): Promise<RunEstimate> {
  return estimateWork(ctx.settings, planned, model.model, repo);
}

/** Print the estimate with its range, and a warning when it is (or may be) over a budget. */
export function printEstimate(ctx: CommandContext, estimate: RunEstimate): void {
  for (const line of estimateLines(estimate, ctx.settings.budgets)) ctx.err(line);
}

/** The estimate with its range and assumptions, and a warning when it is (or may be) over a budget. */
export function estimateLines(estimate: RunEstimate, budgets: Budgets): string[] {
  const t = estimate.total;
  const tokens = (x: RunEstimate['total']) => fmtTokens(x.input + x.output);
  const cost =
    t.cost === null ? '' : `, cost ${fmtCost(t.cost)} (${fmtCost(estimate.low.cost)}–${fmtCost(estimate.high.cost)})`;
  const lines = [
    `Estimate: ~${fmtTokens(t.input)} input (~${fmtTokens(t.cached)} cached), ~${fmtTokens(t.output)} output; ` +
      `~${tokens(t)} tokens in all, range ${tokens(estimate.low)}–${tokens(estimate.high)}${cost}` +
      (t.cost === null ? ', cost unknown (no price for this model)' : ''),
    `  (${estimate.assumptions})`,
  ];
  const warning = overBudgetText(budgets, estimate);
  if (warning) lines.push(`Warning: ${warning}`);
  return lines;
}

export const planCommand: CommandHandler = async (ctx) => {
  const ws = await openWorkspace(ctx.cl.cwd, ctx.settings);
  const models = await roleClients(ctx.settings, ws, (line) => ctx.err(`Backends: ${line}`));
  for (const line of models.lines) ctx.err(line);
  const planned = await obtainPlan(ctx, models.planner, await repositoryView(ws));
  if (typeof planned === 'number') return planned;
  const estimate = await estimateFor(ctx, planned, models.agent, ws.repo);
  if (ctx.cl.out) {
    const out = resolve(ctx.cl.cwd, ctx.cl.out);
    try {
      await savePlan(out, planned.plan);
    } catch (e) {
      ctx.err(`Could not save the plan to ${out}: ${errorMessage(e)}. Name another file with --out.`);
      return EXIT.usage;
    }
  }
  if (ctx.cl.json) {
    ctx.out(JSON.stringify({ plan: planned.plan, estimate, saved: ctx.cl.out ?? null }, null, 2));
    return EXIT.ok;
  }
  ctx.out(renderPlan(planned.plan));
  printEstimate(ctx, estimate);
  if (ctx.cl.out)
    ctx.err(
      `Saved to ${ctx.cl.out}. Edit it if you like, then: foreman run --plan ${ctx.cl.out} (the run does not count this file as an uncommitted change).`,
    );
  return EXIT.ok;
};
