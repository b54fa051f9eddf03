/**
 * Beside the board's Resume, for a run a budget stopped: that budget's field, filled with its limit,
 * and "Resume with this budget", which posts `run/resume` with the new limit (plain Resume keeps
 * the run's budgets). A limit that would not let the run go on is refused here, in words.
 */
import type { RunView } from '../protocol/panel';
import { button, h, setHidden, setText, uid } from './dom';
import { requestButton } from './context';
import type { PanelContext } from './context';
import { parseRaisedBudget, raiseBudgetModel, raisedResume } from './raiseBudget';
import type { RaiseBudgetModel } from './raiseBudget';

export class RaiseBudgetView {
  private readonly label = h('span', { class: 'field-label' });
  private readonly input = h('input', { type: 'text', autocomplete: 'off', spellcheck: 'false' });
  private readonly used = h('span', { class: 'muted raise-used' });
  private readonly error = h('p', { class: 'inline-error', role: 'alert', hidden: true });
  private readonly go: HTMLButtonElement;
  private model: RaiseBudgetModel | null = null;
  /** The budget the field was last filled for: a new state of the same run keeps what was typed. */
  private filledFor = '';
  readonly el: HTMLElement;

  constructor(private readonly ctx: PanelContext) {
    this.go = requestButton(ctx, button('Resume with this budget', { icon: 'debug-continue' }), 'run/resume', () =>
      this.request(),
    );
    this.used.id = uid('raise-used');
    this.error.id = uid('raise-error');
    this.input.setAttribute('aria-describedby', `${this.used.id} ${this.error.id}`);
    this.input.addEventListener('input', () => this.showError(null));
    this.input.addEventListener('keydown', (ev) => {
      if (ev.key !== 'Enter') return;
      ev.preventDefault();
      this.go.click();
    });
    const field = h('label', { class: 'field raise-field' }, this.label, this.input);
    this.el = h(
      'div',
      { class: 'raise-budget', role: 'group', 'aria-label': 'Raise the budget and resume' },
      h('div', { class: 'raise-row' }, field, this.go),
      this.used,
      this.error,
    );
  }

  update(run: RunView, blocked: boolean): void {
    const model = raiseBudgetModel(run);
    this.model = model;
    setHidden(this.el, !model);
    if (!model) return;
    const filledFor = JSON.stringify([model.runId, model.hit.scope, model.hit.kind, model.prefill]);
    if (filledFor !== this.filledFor) {
      this.filledFor = filledFor;
      this.input.value = model.prefill;
      this.input.inputMode = model.hit.kind === 'tokens' ? 'numeric' : 'decimal';
      this.showError(null);
    }
    setText(this.label, model.label);
    setText(this.used, model.usedText);
    this.ctx.controls.enable(this.go, !blocked);
  }

  private request() {
    const model = this.model;
    if (!model) return null;
    const parsed = parseRaisedBudget(model.hit, this.input.value);
    this.showError(parsed.ok ? null : parsed.error);
    return parsed.ok ? raisedResume(model, parsed.value) : null;
  }

  private showError(text: string | null): void {
    setText(this.error, text ?? '');
    setHidden(this.error, text === null);
    if (text === null) this.input.removeAttribute('aria-invalid');
    else this.input.setAttribute('aria-invalid', 'true');
  }
}
