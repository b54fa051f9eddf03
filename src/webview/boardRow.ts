/**
 * One row of the board, built once per task and updated in place: a state that changed nothing
 * in the row costs one string comparison, and a change touches only the texts and attributes that
 * differ. Details (checks, reason, files, review, merge) are built only while the row is open.
 */
import { INTEGRATION_ID } from '../protocol/panel';
import type { CheckView, Request, RunView, TaskRow, VerificationView } from '../protocol/panel';
import { button, h, icon, rebuildIfChanged, setAttr, setClass, setHidden, setIcon, setText, uid } from './dom';
import type { Child } from './dom';
import { requestButton } from './context';
import type { PanelContext } from './context';
import { elapsedNow, reasonOnRow, roundText, stepText, verificationSummary, waitingText } from './boardModel';
import { formatDuration, formatRate, formatUsage, formatUsageCost } from './format';
import { taskLook } from './status';
import { AskStrip } from './askStrip';

type ActionName = 'stop' | 'accept' | 'reject' | 'requestChanges' | 'diff' | 'transcript' | 'audit';

/** What a row needs to know about the rest of the board. */
export interface RowEnv {
  live: boolean;
  /** Whether Foreman cannot act here (an untrusted workspace): actions that change the run are off. */
  blocked: boolean;
  statusOf(id: string): string | undefined;
}

/** A task's row. */
export class BoardRow {
  readonly el: HTMLLIElement;
  private readonly toggle: HTMLButtonElement;
  private readonly statusIcon = icon('clock');
  private readonly statusLabel = h('span', { class: 'status-label' });
  private readonly title = h('span', { class: 'row-title' });
  private readonly elapsed = h('span', { class: 'elapsed', title: 'Time at work' });
  private readonly step = h('span', { class: 'step' });
  private readonly usage = h('span', { class: 'usage' });
  private readonly cost = h('span', { class: 'cost' });
  private readonly rate = h('span', { class: 'rate' });
  private readonly verify = h('span', { class: 'verify' });
  /** Why a task failed, was blocked or stopped: said on the row, once. */
  private readonly reason = h('p', { class: 'row-reason' });
  /** After a change request: what the agent changed in its new round. */
  private readonly round = h('p', { class: 'row-round' });
  private readonly output: HTMLButtonElement;
  private readonly actions: Record<ActionName, HTMLButtonElement>;
  private readonly askStrip: AskStrip;
  /** In the row only while open: a hundred hidden "Comments" boxes would all answer to that label. */
  private readonly changeBox: HTMLElement;
  private readonly errors: HTMLElement;
  private send!: HTMLButtonElement;
  private readonly comments = h('textarea', {
    'aria-label': 'Comments',
    rows: 3,
    placeholder: 'What should the agent change? It continues in the same worktree.',
  });
  private readonly details = h('div', { class: 'row-details', hidden: true });
  private row: TaskRow | null = null;
  private signature = '';
  private env: RowEnv = { live: false, blocked: false, statusOf: () => undefined };

  constructor(
    private readonly ctx: PanelContext,
    readonly id: string,
  ) {
    this.details.id = uid('details');
    this.toggle = h('button', {
      type: 'button',
      class: 'row-toggle',
      'aria-expanded': 'false',
      'aria-controls': this.details.id,
    });
    this.toggle.append(
      icon('chevron-right'),
      h('span', { class: 'status' }, this.statusIcon, this.statusLabel),
      this.title,
    );
    this.toggle.addEventListener('click', () => this.setOpen(!this.isOpen()));
    this.output = this.taskButton('Output', 'output', 'openChecks', () => ({ type: 'task/openChecks', taskId: id }));
    this.actions = this.buildActions();
    this.askStrip = new AskStrip(ctx, { taskId: id });
    this.changeBox = this.buildChangeBox();
    this.errors = ctx.controls.errorSlot([`task:${id}:`]);
    this.el = h(
      'li',
      { class: 'row', 'data-task-id': id },
      h('div', { class: 'row-head' }, this.toggle, this.elapsed),
      h('div', { class: 'row-meta' }, this.step, this.usage, this.cost, this.rate),
      h('div', { class: 'row-verify' }, this.verify, this.output),
      this.reason,
      this.round,
      this.askStrip.el,
      h('div', { class: 'row-actions' }, ...Object.values(this.actions)),
      this.errors,
      this.details,
    );
  }

  private taskButton(
    text: string,
    iconName: string,
    verb: string,
    request: () => Request,
    kind: 'secondary' | 'danger' | 'primary' = 'secondary',
  ): HTMLButtonElement {
    return requestButton(this.ctx, button(text, { icon: iconName, kind }), `task:${this.id}:${verb}`, request);
  }

  private buildActions(): Record<ActionName, HTMLButtonElement> {
    const taskId = this.id;
    return {
      stop: this.taskButton('Stop', 'debug-stop', 'stop', () => ({ type: 'task/stop', taskId }), 'danger'),
      accept: this.taskButton('Accept', 'check', 'accept', () => ({ type: 'task/accept', taskId }), 'primary'),
      reject: this.taskButton('Reject', 'close', 'reject', () => ({ type: 'task/reject', taskId })),
      requestChanges: button('Request changes', { icon: 'comment' }, () => this.openChangeBox()),
      diff: this.taskButton('Diff', 'diff', 'openChanges', () => ({ type: 'task/openChanges', taskId })),
      transcript: this.taskButton('Transcript', 'comment-discussion', 'openTranscript', () => ({
        type: 'task/openTranscript',
        taskId,
      })),
      audit: this.taskButton('Audit', 'shield', 'openAudit', () => ({ type: 'task/openAudit', taskId })),
    };
  }

  private buildChangeBox(): HTMLElement {
    const key = `task:${this.id}:requestChanges`;
    const send = (this.send = requestButton(
      this.ctx,
      button('Send', { kind: 'primary', icon: 'send' }),
      key,
      () => {
        const comments = this.comments.value.trim();
        return comments ? { type: 'task/requestChanges', taskId: this.id, comments } : null;
      },
      (ok) => ok && this.closeChangeBox(),
    ));
    const cancel = button('Cancel', {}, () => this.closeChangeBox());
    this.comments.addEventListener('input', () => {
      this.ctx.updateUi((ui) => ({ ...ui, changeRequests: { ...ui.changeRequests, [this.id]: this.comments.value } }));
      this.ctx.controls.enable(send, this.comments.value.trim() !== '');
    });
    this.comments.addEventListener('keydown', (ev) => {
      if (ev.key === 'Enter' && (ev.ctrlKey || ev.metaKey)) {
        ev.preventDefault();
        send.click();
      } else if (ev.key === 'Escape') {
        ev.preventDefault();
        this.closeChangeBox();
      }
    });
    this.ctx.controls.enable(send, false);
    return h(
      'div',
      { class: 'change-box' },
      h('label', { class: 'field' }, h('span', { class: 'field-label', text: 'Request changes' }), this.comments),
      h('div', { class: 'actions' }, send, cancel),
    );
  }

  private openChangeBox(): void {
    this.ctx.updateUi((ui) => ({
      ...ui,
      changeRequests: { ...ui.changeRequests, [this.id]: ui.changeRequests[this.id] ?? '' },
    }));
    this.syncChangeBox();
    this.comments.focus();
  }

  private closeChangeBox(): void {
    const hadFocus = this.changeBox.contains(document.activeElement);
    this.ctx.updateUi((ui) => ({
      ...ui,
      changeRequests: Object.fromEntries(Object.entries(ui.changeRequests).filter(([id]) => id !== this.id)),
    }));
    this.syncChangeBox();
    if (hadFocus) this.actions.requestChanges.focus();
  }

  private syncChangeBox(): void {
    const draft = this.ctx.ui().changeRequests[this.id];
    if (draft === undefined) this.changeBox.remove();
    else if (this.changeBox.parentNode !== this.el) this.el.insertBefore(this.changeBox, this.errors);
    if (draft !== undefined && document.activeElement !== this.comments && this.comments.value !== draft)
      this.comments.value = draft;
    this.ctx.controls.enable(this.send, this.comments.value.trim() !== '');
  }

  private isOpen(): boolean {
    return this.ctx.ui().expanded.includes(this.id);
  }

  private setOpen(open: boolean): void {
    this.ctx.updateUi((ui) => ({
      ...ui,
      expanded: open
        ? [...ui.expanded.filter((x) => x !== this.id), this.id]
        : ui.expanded.filter((x) => x !== this.id),
    }));
    this.syncDetails();
  }

  /** Brings the row up to date with `row`; does nothing when the row is as it was. */
  update(row: TaskRow, env: RowEnv, since: number): void {
    const sig = JSON.stringify(row) + (env.live ? 'L' : '') + (env.blocked ? 'B' : '');
    this.env = env;
    if (sig !== this.signature) {
      this.signature = sig;
      this.row = row;
      this.fill(row, env);
    }
    this.syncChangeBox();
    this.syncDetails();
    this.tick(since);
  }

  private fill(row: TaskRow, env: RowEnv): void {
    const look = taskLook(row.status);
    setAttr(this.el, 'data-status', row.status);
    setClass(this.toggle.querySelector('.status') as Element, `status tone-${look.tone}`);
    setIcon(this.statusIcon, look.icon, look.spin);
    setText(this.statusLabel, look.label);
    setText(this.title, row.title);
    setAttr(this.title, 'title', `${row.id}: ${row.title}`);
    setText(this.step, stepText(row) || waitingText(row, (id) => env.statusOf(id)));
    const used = row.usage.input + row.usage.output > 0;
    setText(this.usage, used ? formatUsage(row.usage) : '');
    setText(this.cost, used ? formatUsageCost(row.usage) : '');
    setText(this.rate, row.tokensPerSecond !== null && row.tokensPerSecond > 0 ? formatRate(row.tokensPerSecond) : '');
    const reason = reasonOnRow(row);
    setText(this.reason, reason ?? '');
    setClass(this.reason, `row-reason tone-${look.tone === 'error' ? 'error' : 'muted'}`);
    setHidden(this.reason, reason === null);
    const round = roundText(row);
    setText(this.round, round ?? '');
    setHidden(this.round, round === null);
    const v = verificationSummary(row.verification);
    setText(this.verify, v?.text ?? '');
    setClass(this.verify, `verify tone-${v?.tone ?? 'muted'}`);
    setHidden(this.verify.parentElement as HTMLElement, v === null);
    const a = row.actions;
    const allowed: Record<ActionName, boolean> = {
      ...a,
      accept: a.accept && !env.blocked,
      reject: a.reject && !env.blocked,
      requestChanges: a.requestChanges && !env.blocked,
    };
    for (const name of Object.keys(this.actions) as ActionName[]) setHidden(this.actions[name], !allowed[name]);
    this.askStrip.update(env.blocked ? null : row.ask);
  }

  /** Moves the elapsed time on between updates. */
  tick(since: number): void {
    const row = this.row;
    if (!row) return;
    const ms = elapsedNow(row, this.env.live, since);
    setText(this.elapsed, ms === null ? '' : formatDuration(ms));
    this.askStrip.tick();
  }

  private syncDetails(): void {
    const open = this.isOpen();
    setAttr(this.toggle, 'aria-expanded', String(open));
    this.toggle.classList.toggle('open', open);
    setHidden(this.details, !open);
    const row = this.row;
    if (open && row) rebuildIfChanged(this.details, this.signature, () => rowDetails(row));
  }
}

function rowDetails(row: TaskRow): Child[] {
  return [
    row.reason && reasonOnRow(row) === null ? detail('Why', h('p', { class: 'prose', text: row.reason })) : null,
    row.changes ? detail('Changes you asked for', h('p', { class: 'prose', text: row.changes.comments })) : null,
    detail(
      'Task',
      h(
        'p',
        {},
        h('code', { text: row.id }),
        row.dependsOn.length ? ` · depends on ${row.dependsOn.join(', ')}` : ' · no dependencies',
      ),
    ),
    row.verification
      ? detail(
          `Checks${row.verification.round > 1 ? ` (round ${row.verification.round})` : ''}`,
          checksList(row.verification),
        )
      : null,
    row.review
      ? detail(
          row.review.approved ? 'Review: approved' : 'Review: changes asked',
          h('p', { class: 'prose', text: row.review.comments || '(no comments)' }),
        )
      : null,
    row.merge ? detail('Merge', mergeText(row.merge)) : null,
    detail(
      `Changed files (${row.files.length})`,
      row.files.length ? fileList(row.files) : h('p', { class: 'muted', text: 'None yet.' }),
    ),
  ];
}

function detail(title: string, body: HTMLElement): HTMLElement {
  return h('div', { class: 'detail' }, h('h4', { text: title }), body);
}

/** Checks as a list: status word, name, exit code, duration, the command and why it failed or was skipped. */
export function checksList(v: VerificationView): HTMLElement {
  if (v.checks.length === 0) return h('p', { class: 'muted', text: 'No checks ran.' });
  return h('ul', { class: 'checks' }, ...v.checks.map(checkItem));
}

const CHECK_LOOK: Record<CheckView['status'], [string, string]> = {
  passed: ['pass', 'ok'],
  failed: ['error', 'error'],
  skipped: ['circle-slash', 'muted'],
  stopped: ['debug-stop', 'muted'],
};

function checkItem(c: CheckView): HTMLElement {
  const [iconName, tone] = CHECK_LOOK[c.status];
  const exit = c.exitCode === null ? '' : `, exit ${c.exitCode}`;
  return h(
    'li',
    { class: 'check-item' },
    h(
      'div',
      { class: 'check-head' },
      h('span', { class: `status tone-${tone}` }, icon(iconName), h('span', { text: c.status })),
      h('strong', { text: c.name }),
      h('span', { class: 'muted', text: `${formatDuration(c.durationMs)}${exit}` }),
    ),
    h('code', { class: 'check-command', text: c.command }),
    c.reason ? h('p', { class: 'pre muted', text: c.reason }) : null,
  );
}

function mergeText(m: NonNullable<TaskRow['merge']>): HTMLElement {
  if (m.ok) return h('p', { text: m.message ?? 'Merged into the integration branch.' });
  return h(
    'div',
    {},
    h('p', { class: 'tone-error', text: m.message ?? 'The merge stopped on conflicts.' }),
    m.conflicts.length ? fileList(m.conflicts) : null,
  );
}

function fileList(files: readonly string[]): HTMLElement {
  return h('ul', { class: 'files' }, ...files.map((f) => h('li', {}, h('code', { text: f }))));
}

/** The integration branch's row: its verification, its changed files, Output and Diff. */
export class IntegrationRow {
  private readonly verify = h('span', { class: 'verify' });
  private readonly branch = h('code', { class: 'row-title' });
  private readonly files = h('span', { class: 'muted' });
  private readonly checks = h('div', { class: 'row-details' });
  readonly el: HTMLElement;

  constructor(ctx: PanelContext) {
    const taskId = INTEGRATION_ID;
    const output = requestButton(ctx, button('Output', { icon: 'output' }), `task:${taskId}:openChecks`, () => ({
      type: 'task/openChecks',
      taskId,
    }));
    const diff = requestButton(ctx, button('Diff', { icon: 'diff' }), `task:${taskId}:openChanges`, () => ({
      type: 'task/openChanges',
      taskId,
    }));
    this.el = h(
      'div',
      { class: 'row integration', 'data-task-id': taskId, role: 'group', 'aria-label': 'Integration branch' },
      h(
        'div',
        { class: 'row-head' },
        h('span', { class: 'status' }, icon('git-merge'), h('span', { class: 'status-label', text: 'Integration' })),
        this.branch,
      ),
      h('div', { class: 'row-verify' }, this.verify, this.files),
      h('div', { class: 'row-actions' }, output, diff),
      ctx.controls.errorSlot([`task:${taskId}:`]),
      this.checks,
    );
  }

  update(run: RunView): void {
    const i = run.integration;
    const v = verificationSummary(i.verification);
    setText(this.branch, i.branch);
    setText(this.verify, v?.text ?? 'Not verified yet: checks run when no task can move.');
    setClass(this.verify, `verify tone-${v?.tone ?? 'muted'}`);
    setText(
      this.files,
      i.files.length ? ` · ${i.files.length === 1 ? '1 file' : `${i.files.length} files`} changed` : '',
    );
    const failed = i.verification?.status === 'failed';
    setHidden(this.checks, !failed);
    if (failed && i.verification)
      rebuildIfChanged(this.checks, JSON.stringify(i.verification), () => [
        checksList(i.verification as VerificationView),
      ]);
  }
}
