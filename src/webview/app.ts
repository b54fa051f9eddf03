/**
 * The panel's root: a head that stays in view (the line of the latest event and the current phase's
 * action bar: Run, Apply, Stop all), the sandbox's line, the blocked message, the view of the
 * current phase, and history.
 * Phase views are created when first needed and kept, so going back to a phase finds its inputs
 * as they were; only the current one is in the document (and so only its controls are reachable).
 */
import type { PanelState, Phase } from '../protocol/panel';
import { h, setAttr, setText } from './dom';
import type { PanelContext } from './context';
import { BlockedView, NoticeLine, SandboxLine } from './banners';
import { BoardView } from './boardView';
import { ComposeView } from './composeView';
import { HistoryView } from './historyView';
import { PlanningView } from './planningView';
import { PlanView } from './planView';

/** What every phase view offers. */
interface PhaseView {
  readonly el: HTMLElement;
  /** The phase's main actions, kept in the panel's head (in view however far the panel scrolls). */
  readonly bar?: HTMLElement;
  /** Draws `state`; `lineOutcome` is the run whose outcome the panel's line tells now (null for none). */
  update(state: PanelState, lineOutcome: string | null): void;
}

/** The whole panel. */
export class App {
  readonly el = h('main', { class: 'panel', 'data-phase': 'loading' });
  private readonly live = h('div', { class: 'sr-only', 'aria-live': 'polite', 'aria-atomic': 'true' });
  private readonly line: NoticeLine;
  private readonly barHost = h('div', { class: 'bar-host' });
  private readonly head = h('div', { class: 'panel-head' });
  private readonly blocked = new BlockedView();
  private readonly sandbox = new SandboxLine();
  private readonly body = h('div', { class: 'phase-host' });
  private readonly history: HistoryView;
  private readonly loading = h('p', { class: 'muted loading', text: 'Connecting to Foreman…' });
  private compose: ComposeView | null = null;
  private planning: PlanningView | null = null;
  private plan: PlanView | null = null;
  private board: BoardView | null = null;
  /** The view in the document; undefined until the first state (the loading line shows). */
  private current: PhaseView | null | undefined = undefined;

  constructor(private readonly ctx: PanelContext) {
    this.line = new NoticeLine(ctx);
    this.history = new HistoryView(ctx);
    this.body.append(this.loading);
    this.head.append(this.line.el, this.barHost);
    this.el.append(this.live, this.head, this.sandbox.el, this.blocked.el, this.body, this.history.el);
  }

  /** Renders `state` (called for every state and after UI changes). */
  render(state: PanelState): void {
    setAttr(this.el, 'data-phase', state.phase);
    this.sandbox.update(state.sandbox);
    this.blocked.update(state.blocked);
    this.ctx.controls.setBlockedBanner(state.blocked !== null);
    this.line.update(state);
    const view = this.viewFor(state);
    if (view !== this.current) {
      this.body.replaceChildren(...(view ? [view.el] : []));
      this.barHost.replaceChildren(...(view?.bar ? [view.bar] : []));
      this.current = view;
    }
    setAttr(this.head, 'data-empty', this.line.el.hidden && !view?.bar ? 'true' : null);
    view?.update(state, this.line.outcomeShown());
    this.history.update(state);
  }

  /**
   * The view for the state's phase. A blocked panel shows no spec, planning or plan (nothing can
   * run), but still shows a run on the board, read-only where it matters.
   */
  private viewFor(state: PanelState): PhaseView | null {
    const phase: Phase = state.phase;
    if (phase === 'run' && state.run) return (this.board ??= new BoardView(this.ctx));
    if (state.blocked) return null;
    if (phase === 'planning') return (this.planning ??= new PlanningView(this.ctx));
    if (phase === 'plan' && state.plan) return (this.plan ??= new PlanView(this.ctx));
    return (this.compose ??= new ComposeView(this.ctx));
  }

  /** Moves times on between states; called every second. */
  tick(): void {
    if (this.current === this.planning) this.planning?.tick();
    if (this.current === this.board) this.board?.tick(this.ctx.hostNow());
  }

  /** Puts the caret in the spec box, when the spec is shown. */
  focusSpec(): void {
    if (this.current === this.compose) this.compose?.focus();
  }

  /** Tells assistive technology something happened (run status changes). */
  announce(text: string): void {
    // Re-setting the same sentence would not be read again; a trailing space makes it new.
    setText(this.live, this.live.textContent === text ? `${text} ` : text);
  }
}
