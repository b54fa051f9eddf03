/**
 * The spec and the run options at hand: backend, model, concurrency, budgets, hold for review.
 * Spec edits reach the host debounced; option edits as soon as a control commits its value.
 */
import type { PanelState, RunOptions } from '../protocol/panel';
import { button, h, setHidden, setText, setValue, uid } from './dom';
import { requestButton } from './context';
import type { PanelContext } from './context';
import { ConnectView } from './connectView';
import {
  backendChange,
  backendLabel,
  hasRealBackend,
  modelChoices,
  parseConcurrency,
  parseCostBudget,
  parseTokenBudget,
  selectedBackend,
} from './options';
import type { Parsed } from './options';

const SPEC_PLACEHOLDER = [
  'Describe the change you want, as you would to a colleague. For example:',
  '',
  'Add a --json flag to the `status` command that prints the same fields as JSON.',
  'Keep the text output unchanged. Cover both formats in the tests and document the flag in the README.',
].join('\n');

const IS_MAC = typeof navigator !== 'undefined' && /Mac|iPhone|iPad/.test(navigator.platform);

/** The compose phase. */
export class ComposeView {
  readonly el: HTMLElement;
  private readonly spec = h('textarea', {
    class: 'spec',
    'aria-label': 'Spec',
    placeholder: SPEC_PLACEHOLDER,
    rows: 8,
    spellcheck: 'true',
  });
  private readonly backend = h('select', { 'aria-label': 'Backend' });
  private readonly model = h('select', { 'aria-label': 'Model' });
  private readonly concurrency = h('input', { type: 'number', min: 1, max: 256, step: 1, 'aria-label': 'Concurrency' });
  private readonly budgetTokens = h('input', {
    type: 'text',
    inputmode: 'numeric',
    placeholder: 'no limit',
    'aria-label': 'Token budget',
    autocomplete: 'off',
  });
  private readonly budgetCost = h('input', {
    type: 'text',
    inputmode: 'decimal',
    placeholder: 'no limit',
    'aria-label': 'Cost budget',
    autocomplete: 'off',
  });
  private readonly hold = h('input', { type: 'checkbox', 'aria-label': 'Hold verified tasks for my review' });
  private readonly setKey: HTMLButtonElement;
  private readonly keyState = h('span', { class: 'key-state muted' });
  /** What the capability probe found for the chosen backend and model (empty before a probe). */
  private readonly probed = h('p', { class: 'muted hint probed field-wide', hidden: true });
  private readonly optionError = h('p', { class: 'inline-error', role: 'alert', hidden: true });
  private readonly plan: HTMLButtonElement;
  private readonly planHint = h('span', { class: 'muted plan-hint' });
  private readonly connect: ConnectView;
  /** Opens the connect box when a backend is configured already (it is always open before). */
  private readonly addBackend: HTMLButtonElement;
  private state: PanelState | null = null;
  /** options/change requests the host has not answered yet. */
  private optionsInFlight = 0;
  private backendsSignature = '';
  private modelsSignature = '';

  constructor(private readonly ctx: PanelContext) {
    this.connect = new ConnectView(ctx, () => this.closeConnect());
    this.addBackend = button('Add backend', { kind: 'link', icon: 'add' }, () => this.openConnect());
    this.plan = requestButton(ctx, button('Plan', { kind: 'primary', icon: 'list-tree' }), 'plan/start', () =>
      this.planRequest(),
    );
    this.setKey = requestButton(ctx, button('Set API key', { kind: 'link', icon: 'key' }), 'backend/setKey', () => {
      const b = this.state ? selectedBackend(this.state) : null;
      return b && !b.demo ? { type: 'backend/setKey', name: b.name } : null;
    });
    const settings = requestButton(
      ctx,
      button('Open settings', { kind: 'link', icon: 'settings-gear' }),
      'settings/open',
      () => ({ type: 'settings/open' }),
    );
    const specHint = `${IS_MAC ? '⌘' : 'Ctrl'}+Enter plans it.`;
    const specTitle = uid('spec');
    this.el = h(
      'section',
      { class: 'phase compose', 'aria-labelledby': specTitle },
      h('h2', { id: specTitle, class: 'section-title', text: 'What should the fleet build?' }),
      this.spec,
      h('p', {
        class: 'muted hint',
        text: `One task or many: Foreman plans it into tasks you review before anything runs. ${specHint}`,
      }),
      this.buildOptions(),
      this.optionError,
      ctx.controls.errorSlot(['options', 'spec', 'backend/setKey', 'settings/open']),
      h('div', { class: 'actions' }, this.plan, this.planHint, h('span', { class: 'spacer' }), settings),
      ctx.controls.errorSlot(['plan/start']),
    );
    this.wire();
  }

  private buildOptions(): HTMLElement {
    const field = (label: string, control: HTMLElement, extra?: HTMLElement) =>
      h('label', { class: 'field' }, h('span', { class: 'field-label', text: label }), control, extra ?? null);
    return h(
      'fieldset',
      { class: 'options' },
      h('legend', { class: 'sr-only', text: 'Run options' }),
      h(
        'div',
        { class: 'field field-wide' },
        field('Backend', this.backend),
        h('div', { class: 'key-row' }, this.setKey, this.keyState, h('span', { class: 'spacer' }), this.addBackend),
      ),
      field('Model', this.model),
      this.probed,
      field('Concurrency', this.concurrency),
      field('Token budget', this.budgetTokens),
      field('Cost budget', this.budgetCost),
      h('label', { class: 'check field-wide' }, this.hold, h('span', { text: 'Hold verified tasks for my review' })),
    );
  }

  private wire(): void {
    this.spec.addEventListener('input', () => {
      this.ctx.specEdited(this.spec.value);
      this.updatePlanButton();
    });
    this.spec.addEventListener('blur', () => this.ctx.flushSpec());
    this.spec.addEventListener('keydown', (ev) => {
      if (ev.key === 'Enter' && (ev.ctrlKey || ev.metaKey)) {
        ev.preventDefault();
        this.plan.click();
      }
    });
    this.backend.addEventListener('change', () =>
      this.sendOptions(backendChange(this.state?.backends ?? [], this.backend.value)),
    );
    this.model.addEventListener('change', () => this.sendOptions({ model: this.model.value }));
    this.hold.addEventListener('change', () => this.sendOptions({ holdForReview: this.hold.checked }));
    this.concurrency.addEventListener('change', () =>
      this.sendParsed(parseConcurrency(this.concurrency.value), (v) => ({ concurrency: v })),
    );
    this.budgetTokens.addEventListener('change', () =>
      this.sendParsed(parseTokenBudget(this.budgetTokens.value), (v) => ({ budgetTokens: v })),
    );
    this.budgetCost.addEventListener('change', () =>
      this.sendParsed(parseCostBudget(this.budgetCost.value), (v) => ({ budgetCost: v })),
    );
  }

  private planRequest(): { type: 'plan/start' } {
    this.ctx.flushSpec();
    return { type: 'plan/start' };
  }

  private sendParsed<T>(parsed: Parsed<T>, toOptions: (v: T) => Partial<RunOptions>): void {
    setText(this.optionError, parsed.ok ? '' : parsed.error);
    setHidden(this.optionError, parsed.ok);
    if (parsed.ok) this.sendOptions(toOptions(parsed.value));
  }

  private sendOptions(options: Partial<RunOptions>): void {
    // Until the host has the change, a state already on its way would put the old value back.
    this.optionsInFlight++;
    this.ctx.send('options', { type: 'options/change', options }, () => {
      this.optionsInFlight--;
    });
  }

  /** Puts the caret in the spec box. */
  focus(): void {
    this.spec.focus();
  }

  update(state: PanelState): void {
    this.state = state;
    setValue(this.spec, this.ctx.ui().specDraft ?? state.spec);
    this.updateBackends(state);
    const o = state.options;
    if (this.optionsInFlight === 0) {
      setValue(this.concurrency, String(o.concurrency));
      setValue(this.budgetTokens, o.budgetTokens === null ? '' : String(o.budgetTokens));
      setValue(this.budgetCost, o.budgetCost === null ? '' : String(o.budgetCost));
      if (this.hold.checked !== o.holdForReview) this.hold.checked = o.holdForReview;
    }
    this.updateConnect(state);
    this.updatePlanButton();
  }

  private updateBackends(state: PanelState): void {
    const selected = selectedBackend(state);
    const sig = JSON.stringify(state.backends.map((b) => [b.name, b.demo]));
    if (sig !== this.backendsSignature) {
      this.backendsSignature = sig;
      const opts = state.backends.map((b) => h('option', { value: b.name, text: backendLabel(b) }));
      this.backend.replaceChildren(...(opts.length ? opts : [h('option', { value: '', text: 'No backend yet' })]));
    }
    setValue(this.backend, selected?.name ?? '');
    this.backend.disabled = state.backends.length === 0;
    const models = modelChoices(selected, state.options.model);
    const msig = JSON.stringify(models);
    if (msig !== this.modelsSignature) {
      this.modelsSignature = msig;
      const opts = models.map((m) => h('option', { value: m, text: m }));
      this.model.replaceChildren(...(opts.length ? opts : [h('option', { value: '', text: 'No models' })]));
    }
    setValue(this.model, state.options.model ?? models[0] ?? '');
    this.model.title = this.model.value;
    this.model.disabled = models.length === 0;
    const found = selected?.probed?.[this.model.value] ?? '';
    setText(this.probed, found ? `Found at ${selected?.name ?? ''}: ${found}` : '');
    setHidden(this.probed, !found);
    const real = selected !== null && !selected.demo;
    setHidden(this.setKey, !real);
    setText(this.keyState, real ? (selected.hasKey ? 'key saved' : 'no key saved') : '');
    setHidden(this.keyState, !real);
  }

  /**
   * The connect box is there while no real backend is configured, or when "Add backend" opened it;
   * otherwise it is out of the document, not just hidden, so that its "Model name" and "Backend
   * name" fields are never found where the run options are meant.
   */
  private updateConnect(state: PanelState): void {
    const real = hasRealBackend(state.backends);
    const open = !real || this.ctx.ui().connectOpen;
    if (open !== (this.connect.el.parentNode === this.el)) {
      if (open) this.el.append(this.connect.el);
      else this.connect.el.remove();
    }
    setHidden(this.addBackend, open);
    if (open) this.connect.update(state, real);
  }

  private openConnect(): void {
    this.ctx.updateUi((ui) => ({ ...ui, connectOpen: true }));
    if (this.state) this.updateConnect(this.state);
    this.connect.focus();
  }

  private closeConnect(): void {
    this.ctx.updateUi((ui) => ({ ...ui, connectOpen: false }));
    if (this.state) this.updateConnect(this.state);
    if (!this.addBackend.hidden) this.addBackend.focus();
  }

  private updatePlanButton(): void {
    const state = this.state;
    const specEmpty = this.spec.value.trim() === '';
    const noBackend = !state || state.backends.length === 0;
    this.ctx.controls.enable(this.plan, !specEmpty && !noBackend && !state?.blocked);
    setText(this.planHint, noBackend ? 'Connect a backend first.' : specEmpty ? 'Write a spec first.' : '');
  }
}
