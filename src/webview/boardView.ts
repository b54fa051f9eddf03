/**
 * The board: the run's header (status, model, base), totals, budget bars, the tokens/s chart,
 * Stop all, the run's actions, counts per status, one row per task and the integration branch.
 * Everything is built once per run and updated in place; rows are keyed by task id.
 */
import type { PanelState, RunView } from '../protocol/panel';
import { button, h, icon, rebuildIfChanged, reconcile, setAttr, setClass, setHidden, setIcon, setText } from './dom';
import { requestButton } from './context';
import type { PanelContext } from './context';
import { budgetBars, runElapsed, runMeta, statusCounts } from './boardModel';
import type { BudgetBar } from './boardModel';
import { AskStrip } from './askStrip';
import { BoardRow, IntegrationRow } from './boardRow';
import type { RowEnv } from './boardRow';
import { formatCount, formatRate, formatUsageCost } from './format';
import { RaiseBudgetView } from './raiseBudgetView';
import { RateChart } from './rateChart';
import { BackendsView } from './backendsView';
import { RUN_STATUS_LOOK } from './status';

/** The run phase. */
export class BoardView {
  private readonly badgeIcon = icon('loading');
  private readonly badgeText = h('span', {});
  private readonly badge = h('span', { class: 'badge' }, this.badgeIcon, this.badgeText);
  private readonly runId = h('code', { class: 'run-id' });
  private readonly stopAll: HTMLButtonElement;
  private readonly meta = h('p', { class: 'run-meta muted' });
  private readonly message = h('p', { class: 'run-message' });
  private readonly asks = h('p', { class: 'asks-waiting', role: 'status' });
  /** The run's own asks (an MCP server's pin), by key. */
  private readonly runAsks = h('div', { class: 'run-asks' });
  private readonly runAskStrips = new Map<string, AskStrip>();
  private readonly totals = h('dl', { class: 'totals' });
  private readonly budgets = h('div', { class: 'budgets' });
  private readonly chart = new RateChart();
  private readonly backends = new BackendsView();
  private readonly apply: { squash: HTMLButtonElement; merge: HTMLButtonElement };
  private readonly resume: HTMLButtonElement;
  private readonly raiseBudget: RaiseBudgetView;
  private readonly close: HTMLButtonElement;
  private readonly counts = h('ul', { class: 'counts', 'aria-label': 'Tasks by status' });
  private readonly rowList = h('ul', { class: 'rows', 'aria-label': 'Tasks' });
  private readonly rowEls = new Map<string, HTMLLIElement>();
  private readonly rows = new Map<string, BoardRow>();
  private readonly integration: IntegrationRow;
  private readonly runActions: HTMLElement;
  private run: RunView | null = null;
  readonly el: HTMLElement;
  /**
   * Status, Stop all, Apply, Resume (with the field that raises the budget that stopped the run) and
   * New spec: the panel keeps it in view (see App).
   */
  readonly bar: HTMLElement;

  constructor(private readonly ctx: PanelContext) {
    this.stopAll = requestButton(
      ctx,
      button('Stop all', { kind: 'danger', icon: 'debug-stop', title: 'Stop every agent; work done so far is kept' }),
      'run/stopAll',
      () => ({ type: 'run/stopAll' }),
    );
    this.apply = {
      squash: requestButton(
        ctx,
        button('Apply as one commit', { kind: 'primary', icon: 'git-commit' }),
        'run/apply',
        () => ({ type: 'run/apply', mode: 'squash' }),
      ),
      merge: requestButton(ctx, button('Apply as merge', { icon: 'git-merge' }), 'run/apply', () => ({
        type: 'run/apply',
        mode: 'merge',
      })),
    };
    this.resume = requestButton(ctx, button('Resume', { icon: 'debug-continue' }), 'run/resume', () =>
      this.run ? { type: 'run/resume', runId: this.run.runId } : null,
    );
    this.close = requestButton(ctx, button('New spec', { icon: 'edit' }), 'run/close', () => ({ type: 'run/close' }));
    this.raiseBudget = new RaiseBudgetView(ctx);
    this.integration = new IntegrationRow(ctx);
    this.runActions = h(
      'div',
      { class: 'actions run-actions' },
      this.apply.squash,
      this.apply.merge,
      this.resume,
      this.close,
    );
    // The run's requests have no error slot here: their errors are run errors, said in the panel's line.
    this.bar = h(
      'div',
      { class: 'board-bar', role: 'group', 'aria-label': 'Run' },
      this.badge,
      this.runId,
      this.runActions,
      h('span', { class: 'spacer' }),
      this.stopAll,
      this.raiseBudget.el,
    );
    this.el = h(
      'section',
      { class: 'phase board' },
      this.meta,
      this.message,
      this.asks,
      this.runAsks,
      this.totals,
      this.budgets,
      this.chart.el,
      this.counts,
      this.rowList,
      this.integration.el,
      this.backends.el,
    );
  }

  update(state: PanelState, lineOutcome: string | null = null): void {
    const run = state.run;
    if (!run) return;
    if (this.run && this.run.runId !== run.runId) this.dropRows();
    this.run = run;
    this.updateHeader(run, state, lineOutcome === run.runId);
    this.updateTotals(run);
    this.updateBudgets(run);
    this.chart.update(run.rate, run.tokensPerSecond, run.usage.output);
    this.updateActions(run, state.blocked !== null);
    rebuildIfChanged(this.counts, JSON.stringify(run.counts), () =>
      statusCounts(run.counts).map((c) =>
        h('li', {
          class: `count status-${c.status}`,
          'data-count-status': c.status,
          text: `${c.count} ${c.label.toLowerCase()}`,
        }),
      ),
    );
    this.updateRunAsks(run);
    this.updateRows(run, state.blocked !== null);
    this.integration.update(run);
    this.backends.update(run.telemetry);
  }

  /** `inLine`: the panel's line tells how this run ended, so the board does not say it again. */
  private updateHeader(run: RunView, state: PanelState, inLine: boolean): void {
    const look = RUN_STATUS_LOOK[run.status];
    setAttr(this.el, 'data-run-status', run.status);
    setClass(this.badge, `badge status-badge tone-${look.tone}`);
    setIcon(this.badgeIcon, look.icon, look.spin && run.live);
    const label =
      run.status === 'applied' && run.applied ? `${look.label} as ${run.applied.commit.slice(0, 7)}` : look.label;
    setText(this.badgeText, run.live || run.status !== 'running' ? label : 'Not running');
    setText(this.runId, run.runId);
    setHidden(this.stopAll, !run.actions.stopAll);
    this.ctx.controls.enable(this.stopAll, run.actions.stopAll);
    this.updateMeta(run, state.now + this.ctx.sinceState());
    setText(this.message, run.message ?? '');
    setHidden(this.message, !run.message || inLine);
    const asking = run.tasks.filter((t) => t.ask !== null).map((t) => t.id);
    setText(this.asks, asksText(asking, run.asks.commands));
    setHidden(this.asks, asking.length === 0);
  }

  private updateMeta(run: RunView, hostNow: number): void {
    const elapsed = runElapsed(run, hostNow);
    setText(
      this.meta,
      [runMeta(run), elapsed ? `${run.live ? 'running for' : 'took'} ${elapsed}` : ''].filter(Boolean).join(' · '),
    );
  }

  private updateTotals(run: RunView): void {
    const u = run.usage;
    const items: [string, string][] = [
      ['In', formatCount(u.input)],
      ['Cached', formatCount(u.cached)],
      ['Out', formatCount(u.output)],
      ['Cost', formatUsageCost(u)],
      ['Speed', formatRate(run.tokensPerSecond)],
    ];
    rebuildIfChanged(this.totals, JSON.stringify([items, u.estimated]), () => [
      ...items.map(([k, v]) => h('div', { class: 'total' }, h('dt', { text: k }), h('dd', { text: v }))),
      u.estimated
        ? h('div', { class: 'total muted' }, h('dt', { text: 'Note' }), h('dd', { text: 'some counts estimated' }))
        : null,
    ]);
  }

  private updateBudgets(run: RunView): void {
    const bars = budgetBars(run.budget);
    setHidden(this.budgets, bars.length === 0);
    rebuildIfChanged(this.budgets, JSON.stringify(bars), () => bars.map(budgetBar));
  }

  private updateActions(run: RunView, blocked: boolean): void {
    const a = run.actions;
    setHidden(this.apply.squash, !a.apply);
    setHidden(this.apply.merge, !a.apply);
    this.ctx.controls.enable(this.apply.squash, !blocked);
    this.ctx.controls.enable(this.apply.merge, !blocked);
    setHidden(this.resume, !a.resume);
    this.ctx.controls.enable(this.resume, !blocked);
    this.raiseBudget.update(run, blocked);
    setHidden(this.close, run.live);
    setHidden(this.runActions, !a.apply && !a.resume && run.live);
  }

  private updateRows(run: RunView, blocked: boolean): void {
    const statuses = new Map(run.tasks.map((t) => [t.id, t.status]));
    const env: RowEnv = { live: run.live, blocked, statusOf: (id) => statuses.get(id) };
    const ids = run.tasks.map((t) => t.id);
    const wanted = new Set(ids);
    for (const [id, row] of this.rows) {
      if (wanted.has(id)) continue;
      this.ctx.controls.release(row.el);
      this.rows.delete(id);
    }
    reconcile(this.rowList, ids, this.rowEls, (id) => {
      const row = new BoardRow(this.ctx, id);
      this.rows.set(id, row);
      return row.el;
    });
    const since = this.ctx.sinceState();
    for (const t of run.tasks) this.rows.get(t.id)?.update(t, env, since);
  }

  /** A strip per ask of the run itself; strips of settled asks go. */
  private updateRunAsks(run: RunView): void {
    const asks = run.runAsks ?? [];
    const wanted = new Set(asks.map((a) => a.key));
    for (const [key, strip] of this.runAskStrips) {
      if (wanted.has(key)) continue;
      this.ctx.controls.release(strip.el);
      strip.el.remove();
      this.runAskStrips.delete(key);
    }
    for (const ask of asks) {
      let strip = this.runAskStrips.get(ask.key);
      if (!strip) {
        strip = new AskStrip(this.ctx, 'run');
        this.runAskStrips.set(ask.key, strip);
        this.runAsks.append(strip.el);
      }
      strip.update(ask);
    }
    setHidden(this.runAsks, asks.length === 0);
  }

  private dropRows(): void {
    for (const row of this.rows.values()) this.ctx.controls.release(row.el);
    this.rows.clear();
    this.rowEls.clear();
    this.rowList.replaceChildren();
  }

  /** Moves elapsed times on between updates; called every second. */
  tick(hostNow: number): void {
    const run = this.run;
    if (!run?.live) return;
    this.updateMeta(run, hostNow);
    const since = this.ctx.sinceState();
    for (const row of this.rows.values()) row.tick(since);
    for (const strip of this.runAskStrips.values()) strip.tick();
  }
}

/** "Tasks a, b wait for your approval of 2 commands: see their rows." Names at most five tasks. */
export function asksText(taskIds: readonly string[], commands: number): string {
  if (taskIds.length === 0) return '';
  const shown = taskIds.slice(0, 5).join(', ') + (taskIds.length > 5 ? ` and ${taskIds.length - 5} more` : '');
  const who = taskIds.length === 1 ? `Task ${shown} waits` : `${taskIds.length} tasks wait (${shown})`;
  const what = `${commands} command${commands === 1 ? '' : 's'}`;
  return `${who} for your approval of ${what}: see ${taskIds.length === 1 ? 'its row' : 'their rows'}.`;
}

function budgetBar(b: BudgetBar): HTMLElement {
  const fill = h('div', { class: `bar-fill level-${b.level}` });
  // A dynamic size goes through the CSSOM: the CSP refuses style attributes.
  fill.style.width = `${(b.fraction * 100).toFixed(1)}%`;
  const pct = Math.round(b.fraction * 100);
  const title = b.kind === 'tokens' ? 'Tokens used' : 'Cost so far';
  const state = b.level === 'hit' ? ' · reached' : b.level === 'warning' ? ' · nearly used' : '';
  return h(
    'div',
    { class: `budget level-${b.level}` },
    h(
      'div',
      { class: 'budget-head' },
      h('span', { text: title }),
      h('span', { class: 'budget-label', text: `${b.label}${state}` }),
    ),
    h(
      'div',
      {
        class: 'bar',
        role: 'meter',
        'aria-label': title,
        'aria-valuemin': 0,
        'aria-valuemax': 100,
        'aria-valuenow': pct,
        'aria-valuetext': b.description,
      },
      fill,
    ),
  );
}
