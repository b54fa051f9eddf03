/**
 * Plan review: the tasks as cards in dependency order, the plan's errors and warnings, the
 * estimate, and the ways on: Run, Re-plan with a comment, Discard. Cards are keyed by task id and
 * rebuilt only when what they show changes; a card being edited keeps its form (and focus) while
 * states arrive.
 */
import type { PanelState, PlanTask, PlanView as Plan } from '../protocol/panel';
import { button, h, icon, reconcile, rebuildIfChanged, setHidden, setText } from './dom';
import { requestButton } from './context';
import type { PanelContext } from './context';
import { firstLine, formatCost, formatCount, formatUsage, formatUsageCost, plural } from './format';
import { cardFace, taskForm, warningNote } from './planCard';
import {
  dependencyOrder,
  draftOf,
  draftProblem,
  emptyDraft,
  newIdProblem,
  removeTask,
  replaceTask,
  taskOfDraft,
  unattachedWarnings,
  warningsFor,
} from './planModel';
import type { TaskDraft } from './planModel';

/** Busy prefix of every control that sends `plan/edit`: one edit at a time, each from the latest plan. */
const EDIT_BUSY = 'plan/edit';
/** The key part that stands for the "Add task" form (no task id contains "+"). */
const NEW = '+new';

/** The plan phase. */
export class PlanView {
  private readonly summary = h('p', { class: 'plan-summary muted' });
  private readonly errors = h('div', { class: 'plan-errors', role: 'alert', hidden: true });
  private readonly looseWarnings = h('div', { class: 'plan-warnings' });
  private readonly cardList = h('ol', { class: 'cards', 'aria-label': 'Tasks' });
  private readonly addArea = h('div', { class: 'add-area' });
  private readonly addButton: HTMLButtonElement;
  private readonly estimate = h('div', { class: 'estimate' });
  private readonly run: HTMLButtonElement;
  private readonly runHint = h('span', { class: 'muted plan-hint' });
  private readonly replan: HTMLButtonElement;
  private readonly comment = h('textarea', {
    'aria-label': 'Re-plan comment',
    rows: 2,
    placeholder: 'What should the planner do differently? e.g. "Split the API task; keep the docs in one task."',
  });
  private readonly cards = new Map<string, HTMLLIElement>();
  private readonly signatures = new Map<string, string>();
  private plan: Plan | null = null;
  private focusNext: { taskId: string; target: 'edit' | 'form' } | null = null;
  private focusAdd = false;
  readonly el: HTMLElement;
  /** Run, its hint and its error: the panel keeps it in view (see App). */
  readonly bar: HTMLElement;

  constructor(private readonly ctx: PanelContext) {
    this.addButton = button('Add task', { icon: 'add' }, () => this.startAdd());
    this.run = requestButton(ctx, button('Run', { kind: 'primary', icon: 'play' }), 'run/start', () => ({
      type: 'run/start',
    }));
    this.replan = requestButton(
      ctx,
      button('Re-plan', { icon: 'refresh' }),
      'plan/replan',
      () => ({ type: 'plan/replan', comment: this.comment.value.trim() }),
      (ok) => {
        if (ok) this.ctx.updateUi((ui) => ({ ...ui, replanComment: '' }));
      },
    );
    const discard = requestButton(ctx, button('Discard plan', { icon: 'discard' }), 'plan/discard', () => ({
      type: 'plan/discard',
    }));
    this.comment.addEventListener('input', () => {
      this.ctx.updateUi((ui) => ({ ...ui, replanComment: this.comment.value }));
      this.ctx.controls.enable(this.replan, this.comment.value.trim() !== '');
    });
    this.bar = h(
      'div',
      { class: 'plan-bar', role: 'group', 'aria-label': 'Run the plan' },
      h('div', { class: 'actions run-actions' }, this.run, this.runHint),
      ctx.controls.errorSlot(['run/start']),
    );
    this.el = h(
      'section',
      { class: 'phase plan' },
      h('h2', { class: 'section-title', text: 'Review the plan' }),
      this.summary,
      this.errors,
      this.looseWarnings,
      this.cardList,
      this.addArea,
      this.estimate,
      h(
        'div',
        { class: 'replan' },
        h(
          'label',
          { class: 'field' },
          h('span', { class: 'field-label', text: 'Re-plan with a comment' }),
          this.comment,
        ),
        h('div', { class: 'actions' }, this.replan, discard),
      ),
      ctx.controls.errorSlot(['plan/replan', 'plan/discard']),
    );
  }

  update(state: PanelState): void {
    const plan = state.plan;
    this.plan = plan;
    if (!plan) return;
    setText(this.summary, `${plural(plan.tasks.length, 'task')} for: ${firstLine(plan.spec, 160)}`);
    this.updateErrors(plan.errors);
    rebuildIfChanged(this.looseWarnings, JSON.stringify(unattachedWarnings(plan.warnings, plan.tasks)), () =>
      unattachedWarnings(plan.warnings, plan.tasks).map(warningNote),
    );
    this.updateCards(plan);
    this.updateAdd(plan);
    this.updateEstimate(plan);
    this.ctx.controls.enable(this.run, plan.errors.length === 0 && plan.tasks.length > 0 && !state.blocked);
    setText(
      this.runHint,
      plan.errors.length
        ? 'Solve the problems listed below to run.'
        : plan.tasks.length === 0
          ? 'Add a task to run.'
          : '',
    );
    const comment = this.ctx.ui().replanComment;
    if (document.activeElement !== this.comment && this.comment.value !== comment) this.comment.value = comment;
    this.ctx.controls.enable(this.replan, this.comment.value.trim() !== '');
    this.applyFocus();
  }

  private updateErrors(errors: readonly string[]): void {
    setHidden(this.errors, errors.length === 0);
    rebuildIfChanged(this.errors, JSON.stringify(errors), () => [
      h(
        'h3',
        { class: 'subheading' },
        icon('error'),
        h('span', { text: `The plan cannot run yet (${plural(errors.length, 'problem')})` }),
      ),
      h('ul', {}, ...errors.map((e) => h('li', { text: e }))),
    ]);
  }

  private updateCards(plan: Plan): void {
    const ordered = dependencyOrder(plan.tasks);
    const byId = new Map(ordered.map((t) => [t.id, t]));
    const titles = new Map(plan.tasks.map((t) => [t.id, t.title]));
    const editing = this.ctx.ui().editing;
    const keys = [...byId.keys()];
    const lis = reconcile(this.cardList, keys, this.cards, (id) => h('li', { class: 'card', 'data-plan-task': id }));
    for (const key of [...this.signatures.keys()]) if (!byId.has(key)) this.signatures.delete(key);
    lis.forEach((li, i) => {
      const task = byId.get(keys[i]) as PlanTask;
      if (editing?.taskId === task.id) this.fillEditing(li, task, plan, editing.draft);
      else this.fillFace(li, task, plan, titles);
    });
  }

  private fillFace(li: HTMLLIElement, task: PlanTask, plan: Plan, titles: ReadonlyMap<string, string>): void {
    const warnings = warningsFor(task.id, plan.warnings);
    const deps = task.dependsOn.map((d) => [d, titles.get(d) ?? null]);
    const sig = JSON.stringify(['face', task, warnings, deps]);
    if (this.signatures.get(task.id) === sig) return;
    this.signatures.set(task.id, sig);
    this.ctx.controls.release(li);
    li.classList.remove('editing');
    const edit = button('Edit', { icon: 'edit' }, () => this.startEdit(task.id));
    const remove = this.ctx.controls.bind(button('Remove task', { icon: 'trash' }), EDIT_BUSY);
    remove.addEventListener('click', () => {
      if (this.ctx.controls.canAct(remove))
        this.sendEdit(`plan/edit:${task.id}:remove`, removeTask(this.currentTasks(), task.id));
    });
    li.replaceChildren(
      ...faceChildren(cardFace({ task, titles, warnings, edit, remove })),
      this.ctx.controls.errorSlot([`plan/edit:${task.id}:`]),
    );
  }

  private fillEditing(li: HTMLLIElement, task: PlanTask, plan: Plan, draft: TaskDraft): void {
    const sig = JSON.stringify(['edit', task.id]);
    if (this.signatures.get(task.id) === sig) return;
    this.signatures.set(task.id, sig);
    this.ctx.controls.release(li);
    li.classList.add('editing');
    const problem = h('p', { class: 'inline-error', role: 'alert', hidden: true });
    const save = this.ctx.controls.bind(button('Save', { kind: 'primary', icon: 'check' }), EDIT_BUSY);
    const form = taskForm({
      draft,
      others: plan.tasks.filter((t) => t.id !== task.id),
      withId: false,
      save,
      onInput: (d) => this.ctx.updateUi((ui) => ({ ...ui, editing: { taskId: task.id, draft: d } })),
      onCancel: () => this.stopEdit(task.id),
      onSave: () => {
        if (!this.ctx.controls.canAct(save)) return;
        const d = this.ctx.ui().editing?.draft ?? draft;
        if (showProblem(problem, draftProblem(d))) return;
        const tasks = replaceTask(this.currentTasks(), task.id, taskOfDraft({ ...d, id: task.id }));
        this.sendEdit(`plan/edit:${task.id}:save`, tasks, () => this.stopEdit(task.id));
      },
    });
    const head = h(
      'div',
      { class: 'card-head' },
      h('span', { class: 'task-id', text: task.id }),
      h('h3', { class: 'card-title', text: `Editing ${task.id}` }),
    );
    li.replaceChildren(head, form, problem, this.ctx.controls.errorSlot([`plan/edit:${task.id}:`]));
  }

  private updateAdd(plan: Plan): void {
    const adding = this.ctx.ui().adding;
    const sig = adding ? 'form' : 'button';
    if (this.addArea.dataset.mode === sig) return;
    this.addArea.dataset.mode = sig;
    this.ctx.controls.release(this.addArea);
    if (!adding) {
      this.addArea.replaceChildren(this.addButton);
      return;
    }
    const problem = h('p', { class: 'inline-error', role: 'alert', hidden: true });
    const save = this.ctx.controls.bind(button('Save', { kind: 'primary', icon: 'check' }), EDIT_BUSY);
    const form = taskForm({
      draft: adding,
      others: plan.tasks,
      withId: true,
      save,
      onInput: (d) => this.ctx.updateUi((ui) => ({ ...ui, adding: d })),
      onCancel: () => this.stopAdd(),
      onSave: () => {
        if (!this.ctx.controls.canAct(save)) return;
        const d = this.ctx.ui().adding ?? adding;
        const tasks = this.currentTasks();
        if (showProblem(problem, newIdProblem(d.id, tasks) ?? draftProblem(d))) return;
        this.sendEdit(`plan/edit:${NEW}:save`, [...tasks, taskOfDraft(d)], () => this.stopAdd());
      },
    });
    const card = h(
      'div',
      { class: 'card card-new editing', 'data-plan-task-draft': '' },
      h('h3', { class: 'card-title', text: 'New task' }),
      form,
      problem,
    );
    this.addArea.replaceChildren(card, this.ctx.controls.errorSlot([`plan/edit:${NEW}:`]));
    if (this.focusAdd) form.querySelector('input')?.focus();
    this.focusAdd = false;
  }

  private updateEstimate(plan: Plan): void {
    rebuildIfChanged(this.estimate, JSON.stringify([plan.estimate, plan.plannerUsage]), () => estimateParts(plan));
  }

  private currentTasks(): PlanTask[] {
    return this.plan ? [...this.plan.tasks] : [];
  }

  private sendEdit(key: string, tasks: PlanTask[], onOk?: () => void): void {
    this.ctx.send(key, { type: 'plan/edit', tasks }, (ok) => ok && onOk?.());
  }

  private startEdit(taskId: string): void {
    const task = this.plan?.tasks.find((t) => t.id === taskId);
    if (!task) return;
    this.focusNext = { taskId, target: 'form' };
    this.ctx.updateUi((ui) => ({ ...ui, editing: { taskId, draft: draftOf(task) } }));
    this.ctx.rerender();
  }

  private stopEdit(taskId: string): void {
    if (this.ctx.ui().editing?.taskId !== taskId) return;
    this.focusNext = { taskId, target: 'edit' };
    this.ctx.updateUi((ui) => ({ ...ui, editing: null }));
    this.ctx.rerender();
  }

  private startAdd(): void {
    this.focusAdd = true;
    this.ctx.updateUi((ui) => ({ ...ui, adding: emptyDraft(this.currentTasks()) }));
    this.ctx.rerender();
  }

  private stopAdd(): void {
    this.ctx.updateUi((ui) => ({ ...ui, adding: null }));
    this.ctx.rerender();
    this.addButton.focus();
  }

  /** Moves focus into a form just opened, or back to the Edit button of a card just saved. */
  private applyFocus(): void {
    const f = this.focusNext;
    this.focusNext = null;
    const li = f ? this.cards.get(f.taskId) : undefined;
    if (!f || !li) return;
    const target =
      f.target === 'form'
        ? li.querySelector<HTMLElement>('form input, form textarea')
        : li.querySelector<HTMLElement>('.card-actions button');
    target?.focus();
  }
}

function faceChildren(children: ReturnType<typeof cardFace>): Node[] {
  return children.filter((c): c is HTMLElement => c instanceof Node);
}

function showProblem(el: HTMLElement, problem: string | null): boolean {
  setText(el, problem ?? '');
  setHidden(el, problem === null);
  return problem !== null;
}

function estimateParts(plan: Plan): HTMLElement[] {
  const e = plan.estimate;
  const usage = plan.plannerUsage;
  const planner = h('p', {
    class: 'muted',
    text: `Planning used ${formatCount(usage.input + usage.output)} tokens (${formatUsageCost(usage)}).`,
  });
  const title = h('h3', { class: 'subheading' }, icon('dashboard'), h('span', { text: 'Estimate for the run' }));
  if (!e) return [title, h('p', { class: 'muted', text: 'No estimate while the plan has problems.' }), planner];
  const numbers = h(
    'p',
    { class: 'estimate-numbers' },
    h('span', { text: `≈ ${formatUsage({ ...e, estimated: false })}` }),
    h('strong', { class: 'estimate-cost', text: ` · ${formatCost(e.cost)}` }),
  );
  const costRange = e.cost === null ? '' : ` · ${formatCost(e.low.cost)}–${formatCost(e.high.cost)}`;
  const range = h('p', {
    class: 'estimate-range muted',
    text:
      `Range ${formatCount(e.low.tokens)}–${formatCount(e.high.tokens)} tokens${costRange}, ` +
      (e.basis === 'history' ? "learned from this repository's finished runs." : 'assumed: no finished runs here yet.'),
  });
  const over = e.overBudget
    ? h(
        'div',
        { class: 'over-budget', role: 'note' },
        icon('warning'),
        h('div', { class: 'note-body', text: e.overBudget }),
      )
    : null;
  const details = h(
    'details',
    { class: 'assumptions' },
    h('summary', { text: 'Assumptions' }),
    h('p', { text: e.assumptions }),
  );
  return [title, numbers, range, ...(over ? [over] : []), details, planner];
}
