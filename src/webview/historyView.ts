/**
 * Past runs of this repository, newest first, in a collapsible section at the bottom of the panel:
 * each with its status, spec, start, progress and spend, and Open (plus Resume where it can).
 */
import type { HistoryEntry, PanelState } from '../protocol/panel';
import { button, h, icon, reconcile, setHidden, setText } from './dom';
import { requestButton } from './context';
import type { PanelContext } from './context';
import { firstLine, formatMoment, formatTotalTokens, formatUsageCost } from './format';
import { RUN_STATUS_LOOK } from './status';

/** The history section. */
export class HistoryView {
  private readonly count = h('span', { class: 'badge count-badge' });
  private readonly list = h('ul', { class: 'history-list' });
  private readonly empty = h('p', { class: 'muted', text: 'No runs in this repository yet.' });
  private readonly items = new Map<string, HTMLLIElement>();
  private readonly signatures = new Map<string, string>();
  readonly el: HTMLDetailsElement;

  constructor(private readonly ctx: PanelContext) {
    this.el = h(
      'details',
      { class: 'history' },
      h('summary', { class: 'section-title' }, icon('history'), h('span', { text: 'History' }), this.count),
      this.list,
      this.empty,
    );
    this.el.open = ctx.ui().historyOpen;
    this.el.addEventListener('toggle', () => this.ctx.updateUi((ui) => ({ ...ui, historyOpen: this.el.open })));
  }

  update(state: PanelState): void {
    const entries = [...state.history].sort((a, b) => (b.startedAt ?? 0) - (a.startedAt ?? 0));
    setText(this.count, String(entries.length));
    setHidden(this.empty, entries.length > 0);
    const byId = new Map(entries.map((e) => [e.runId, e]));
    const ids = [...byId.keys()];
    for (const id of [...this.items.keys()]) {
      if (byId.has(id)) continue;
      this.ctx.controls.release(this.items.get(id) as HTMLElement);
      this.signatures.delete(id);
    }
    const lis = reconcile(this.list, ids, this.items, (id) =>
      h('li', { class: 'history-row', 'data-history-run': id }),
    );
    lis.forEach((li, i) => this.fill(li, byId.get(ids[i]) as HistoryEntry, state));
  }

  private fill(li: HTMLLIElement, e: HistoryEntry, state: PanelState): void {
    const onBoard = state.run?.runId === e.runId;
    const sig = JSON.stringify([e, onBoard, state.blocked !== null, new Date(state.now).toDateString()]);
    if (this.signatures.get(e.runId) === sig) return;
    this.signatures.set(e.runId, sig);
    this.ctx.controls.release(li);
    const look = RUN_STATUS_LOOK[e.status];
    const open = requestButton(this.ctx, button('Open', { icon: 'go-to-file' }), `history:${e.runId}:open`, () => ({
      type: 'run/open',
      runId: e.runId,
    }));
    this.ctx.controls.enable(open, !onBoard);
    if (onBoard) open.title = 'This run is on the board';
    const resume = e.resumable
      ? requestButton(this.ctx, button('Resume', { icon: 'debug-continue' }), `history:${e.runId}:resume`, () => ({
          type: 'run/resume',
          runId: e.runId,
        }))
      : null;
    if (resume) this.ctx.controls.enable(resume, state.blocked === null);
    const facts = [
      e.startedAt === null ? 'not started' : formatMoment(e.startedAt, state.now),
      `${e.merged}/${e.tasks} merged`,
      formatTotalTokens(e.usage),
      e.verification === 'skipped' ? 'not verified (no checks)' : '',
      formatUsageCost(e.usage),
      e.applied ? `applied as ${e.applied.commit.slice(0, 7)}` : '',
    ].filter(Boolean);
    li.replaceChildren(
      h(
        'div',
        { class: 'history-head' },
        h('span', { class: `badge status-badge tone-${look.tone}` }, h('span', { text: look.label })),
        h('span', { class: 'history-spec', title: e.spec, text: firstLine(e.spec) || '(no spec)' }),
      ),
      h(
        'div',
        { class: 'history-facts muted' },
        h('code', { text: e.runId }),
        h('span', { text: ` · ${facts.join(' · ')}` }),
      ),
      h('div', { class: 'actions' }, open, resume),
      this.ctx.controls.errorSlot([`history:${e.runId}:`]),
    );
  }
}
