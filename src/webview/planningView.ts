/**
 * While the planner works: an indeterminate bar, what it is doing, for how long, and Cancel.
 */
import type { PanelState } from '../protocol/panel';
import { button, h, setText } from './dom';
import { requestButton } from './context';
import type { PanelContext } from './context';
import { firstLine, formatDuration } from './format';

/** The planning phase. */
export class PlanningView {
  private readonly message = h('span', { class: 'planning-message', 'aria-live': 'polite' });
  private readonly elapsed = h('span', { class: 'planning-elapsed muted' });
  private readonly spec = h('p', { class: 'planning-spec muted' });
  readonly el: HTMLElement;
  private startedAt: number | null = null;

  constructor(private readonly ctx: PanelContext) {
    const cancel = requestButton(ctx, button('Cancel planning', { icon: 'close' }), 'plan/cancel', () => ({
      type: 'plan/cancel',
    }));
    this.el = h(
      'section',
      { class: 'phase planning', 'aria-busy': 'true' },
      h('h2', { class: 'section-title', text: 'Planning' }),
      h(
        'div',
        { class: 'progress', role: 'progressbar', 'aria-label': 'Planning in progress' },
        h('div', { class: 'progress-indeterminate' }),
      ),
      h('p', { class: 'planning-line' }, this.message, this.elapsed),
      this.spec,
      h('div', { class: 'actions' }, cancel),
      ctx.controls.errorSlot(['plan/cancel', 'plan/start', 'plan/replan']),
    );
  }

  update(state: PanelState): void {
    this.startedAt = state.planning?.startedAt ?? null;
    setText(this.message, state.planning?.message || 'The planner is reading the repository and the spec…');
    setText(this.spec, firstLine(state.spec, 200));
    this.tick();
  }

  /** Moves the elapsed time on; called every second. */
  tick(): void {
    setText(this.elapsed, this.startedAt === null ? '' : ` · ${formatDuration(this.ctx.hostNow() - this.startedAt)}`);
  }
}
