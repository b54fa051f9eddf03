/**
 * The Lead panel's spec, options and plan requests: planning (with progress, cancellable),
 * re-planning with the developer's comment, editing the plan, discarding it.
 */
import type { ModelErrorReason, ModelResponse } from '../core/model';
import type { Plan, TaskSpec } from '../core/plan';
import { planSpec } from '../core/planner';
import { buildRepoView } from '../core/repoView';
import { createRepoReader } from '../infra/repoReader';
import type { PlanTask } from '../protocol/panel';
import { DEMO_BACKEND, modelFailureText, resolveBackend, unreachable } from './backends';
import type { ResolvedBackend } from './backends';
import { LeadError } from './leadApi';
import { applyChange } from './leadOptions';
import { editDraft, newDraft } from './planDraft';
import type { PlanDraft } from './planDraft';
import type { SessionCore } from './sessionCore';

/** What asking the planner came to. */
type Planned =
  | { kind: 'planned'; plan: Plan; repoView: string; responses: ModelResponse[]; notes: string[] }
  | { kind: 'cancelled' }
  | { kind: 'failed'; text: string };

/** The spec draft changed: kept and remembered. */
export async function changeSpec(core: SessionCore, spec: string): Promise<void> {
  await core.editSpec(spec);
}

/** Some run options changed: checked, kept and remembered. */
export async function changeOptions(core: SessionCore, change: unknown): Promise<void> {
  const next = applyChange(core.chosen, change, core.known);
  if (typeof next === 'string') {
    // The demo is left out of the list where it cannot work: say why, not that there is none.
    if ((change as { backend?: unknown } | null)?.backend === DEMO_BACKEND) core.demo.requireSample();
    throw new LeadError(next, 'invalid');
  }
  await core.choose(next);
}

/** Plan the spec with the selected backend; the panel shows `planning`, then the plan. */
export async function startPlanning(core: SessionCore): Promise<void> {
  if (core.planning) throw new LeadError('The planner is already at work; wait for it or cancel it.', 'busy');
  if (core.board?.live || core.starting)
    throw new LeadError('A run is going: stop it or let it finish before planning another spec.', 'busy');
  const spec = core.spec.trim();
  if (!spec) throw new LeadError('Write a spec first: say what the agents should build.', 'invalid');
  const backend = await resolveBackend(core.host, core.settings, core.options(), core.demo);
  await core.refreshBackends();
  await plan(core, backend, spec, null);
}

/** Ask the planner again with the developer's comment on the plan as it stands. */
export async function replan(core: SessionCore, comment: string): Promise<void> {
  const draft = core.draft;
  if (!draft) throw new LeadError('There is no plan to revise: plan a spec first.', 'invalid');
  if (core.planning) throw new LeadError('The planner is already at work; wait for it or cancel it.', 'busy');
  if (!comment.trim()) throw new LeadError('Say what the planner should change.', 'invalid');
  const backend = await resolveBackend(core.host, core.settings, core.options(), core.demo);
  await core.refreshBackends();
  await plan(core, backend, draft.spec, { tasks: draft.tasks, comment: comment.trim() });
}

/** Stop the planner; the panel goes back to where it was. */
export function cancelPlanning(core: SessionCore): void {
  core.planning?.abort.abort();
}

/** The developer's edited task list replaces the plan's (validated; problems listed, not refused). */
export function editPlan(core: SessionCore, tasks: PlanTask[]): void {
  if (!core.draft) throw new LeadError('There is no plan to edit: plan a spec first.', 'invalid');
  if (core.planning) throw new LeadError('The planner is revising the plan; wait for it or cancel it.', 'busy');
  core.setDraft(editDraft(core.draft, tasks.map(copyTask), core.host.readSettings().maxTasks));
}

/** Drop the plan and go back to the spec. */
export function discardPlan(core: SessionCore): void {
  core.planning?.abort.abort();
  core.setDraft(null);
}

/**
 * Ask the planner and put its plan under review. A fresh plan (no `revise`) takes the place of the
 * board and of any plan under review from the start; a revision replaces the plan it revises only
 * when it arrives.
 */
async function plan(
  core: SessionCore,
  backend: ResolvedBackend,
  spec: string,
  revise: { tasks: TaskSpec[]; comment: string } | null,
): Promise<void> {
  const abort = new AbortController();
  const doing = `Asking ${backend.model} at ${backend.endpoint} for ${revise ? 'a revised plan' : 'a plan'}…`;
  core.planningStarted(doing, abort, revise === null);
  let outcome: Planned;
  let draft: PlanDraft | null = null;
  try {
    const title = `Foreman: planning with ${backend.model}`;
    outcome = await core.host.withProgress(title, (signal) =>
      askPlanner(core, backend, spec, revise, AbortSignal.any([signal, abort.signal])),
    );
    if (outcome.kind === 'planned' && !core.disposed) {
      const revised = revise ? (core.draft ?? undefined) : undefined;
      const profile = core.repo ? await core.costHistory.profile(core.repo) : undefined;
      draft = newDraft(outcome.plan, outcome.repoView, outcome.responses, backend.prices, revised, profile);
    }
  } finally {
    core.planningEnded(abort, draft);
  }
  if (core.disposed) return;
  // What the planner did to fit its model's context window (the repository view it cut).
  if (outcome.kind === 'planned') for (const note of outcome.notes) core.notify('info', note);
  if (outcome.kind === 'cancelled') {
    core.notify('info', 'Planning was cancelled.');
  } else if (outcome.kind === 'failed') {
    // Said once, beside the control that asked (the request's error), and logged.
    core.host.log('error', outcome.text);
    throw new LeadError(outcome.text, 'backend');
  }
}

/** One planning request: a reachability probe, the repository view, the planner itself. */
async function askPlanner(
  core: SessionCore,
  backend: ResolvedBackend,
  spec: string,
  revise: { tasks: TaskSpec[]; comment: string } | null,
  signal: AbortSignal,
): Promise<Planned> {
  const down = await unreachable(backend);
  if (signal.aborted) return { kind: 'cancelled' };
  if (down) return { kind: 'failed', text: down };
  const repoView = core.draft?.repoView ?? (await buildRepoView(createRepoReader(core.requireRepo().root)));
  const responses: ModelResponse[] = [];
  let failure: { reason: ModelErrorReason; message: string } | null = null;
  const outcome = await planSpec({
    spec,
    repoView,
    model: backend.roles.planner,
    maxTasks: core.host.readSettings().maxTasks,
    signal,
    onResponse: (r) => responses.push(r),
    onError: (e) => (failure = { reason: e.reason, message: e.message }),
    ...(revise ? { revise } : {}),
  });
  if (outcome.ok) return { kind: 'planned', plan: outcome.plan, repoView, responses, notes: outcome.notes };
  if (signal.aborted) return { kind: 'cancelled' };
  if (outcome.reason === 'model') {
    const f = failure as { reason: ModelErrorReason; message: string } | null;
    // The planner's own sentence names the window and the spec's size: nothing to add.
    if (f?.reason === 'context_length') return { kind: 'failed', text: outcome.message };
    return { kind: 'failed', text: modelFailureText(backend, f?.reason ?? null, f?.message ?? outcome.message) };
  }
  return { kind: 'failed', text: `${outcome.message} Try again, say more in the spec, or choose another model.` };
}

function copyTask(t: PlanTask): TaskSpec {
  return {
    id: t.id,
    title: t.title,
    instructions: t.instructions,
    acceptance: [...t.acceptance],
    files: [...t.files],
    dependsOn: [...t.dependsOn],
  };
}
