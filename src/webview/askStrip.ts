/**
 * A task row's approval strip: the exact command the agent waits to run, the rule that asked and
 * why, the other tasks waiting on the same command (one answer settles them all), when it will be
 * refused unanswered, and Allow once / Allow for this run / Deny (with a reason the agent reads).
 * The board shows the run's own asks (an MCP server's pin) in the same strip, `of: 'run'`: its
 * line is the whole question (the server and its tools, one a line), and Approve keeps the pin.
 */
import type { AskView } from '../protocol/panel';
import { button, h, icon, setHidden, setText } from './dom';
import { requestButton } from './context';
import type { PanelContext } from './context';
import { formatDuration } from './format';

export class AskStrip {
  readonly el: HTMLElement;
  private readonly command = h('code', { class: 'ask-command' });
  private readonly line = h('p', { class: 'ask-line muted' });
  private readonly rule = h('p', { class: 'ask-rule' });
  private readonly others = h('p', { class: 'ask-others muted' });
  private readonly deadline = h('span', { class: 'ask-deadline muted' });
  private readonly buttons: HTMLElement;
  private readonly elsewhere = h('p', {
    class: 'muted',
    text: 'Answer it in the Foreman process that drives this run.',
  });
  private readonly reason = h('input', {
    type: 'text',
    class: 'ask-reason',
    'aria-label': 'Reason for the agent',
    placeholder: 'Why not? The agent reads this (optional)',
  });
  private readonly denyBox: HTMLElement;
  private ask: AskView | null = null;

  /** `of`: the task whose row holds the strip, or 'run' for an ask of the run itself (on the board). */
  constructor(
    private readonly ctx: PanelContext,
    private readonly of: { taskId: string } | 'run',
  ) {
    const key = of === 'run' ? 'run:approval' : `task:${of.taskId}:approval`;
    const answer = (choice: 'once' | 'run' | 'deny') => () =>
      this.ask ? { type: 'approval/answer' as const, key: this.ask.key, choice, reason: this.reason.value } : null;
    // A run's ask (a pin) has one way to say yes, kept for good: "Approve", as the notification says.
    const yes = of === 'run' ? 'Approve' : 'Allow once';
    const once = requestButton(ctx, button(yes, { icon: 'check', kind: 'primary' }), key, answer('once'));
    const run = requestButton(
      ctx,
      button('Allow for this run', {
        icon: 'check-all',
        title: 'Also for every later use of this command in this run',
      }),
      key,
      answer('run'),
    );
    const deny = button('Deny…', { icon: 'circle-slash', kind: 'danger' }, () => this.openDeny());
    const send = requestButton(ctx, button('Deny', { kind: 'danger', icon: 'send' }), key, answer('deny'));
    const cancel = button('Cancel', {}, () => this.closeDeny());
    this.reason.addEventListener('keydown', (ev) => {
      if (ev.key === 'Enter') send.click();
      else if (ev.key === 'Escape') this.closeDeny();
    });
    this.denyBox = h('div', { class: 'ask-deny', hidden: true }, this.reason, send, cancel);
    this.buttons = h('div', { class: 'ask-actions' }, once, of === 'run' ? null : run, deny, this.deadline);
    this.el = h(
      'div',
      { class: 'ask', role: 'group', 'aria-label': 'Waiting for your approval' },
      h(
        'p',
        { class: 'ask-head' },
        icon('shield'),
        h('strong', { text: of === 'run' ? 'This run waits for your approval' : 'Waiting for your approval to run' }),
      ),
      this.command,
      this.line,
      this.rule,
      this.others,
      this.buttons,
      this.denyBox,
      this.elsewhere,
      ctx.controls.errorSlot([key]),
    );
  }

  /** Show `ask`, or hide the strip when the task waits on nothing. */
  update(ask: AskView | null): void {
    const changed = ask?.key !== this.ask?.key;
    this.ask = ask;
    setHidden(this.el, ask === null);
    if (!ask) return;
    if (changed) this.closeDeny();
    setText(this.command, ask.command);
    setText(this.line, ask.line.trim() === ask.command ? '' : this.of === 'run' ? ask.line : `as part of: ${ask.line}`);
    this.line.classList.toggle('ask-listing', this.of === 'run');
    setHidden(this.line, ask.line.trim() === ask.command);
    setText(this.rule, `Rule ${ask.rule}: ${ask.why}`);
    setText(
      this.others,
      ask.others.length ? `Also waiting on it: ${ask.others.join(', ')}. One answer settles all.` : '',
    );
    setHidden(this.others, ask.others.length === 0);
    setHidden(this.buttons, !ask.answerable);
    setHidden(this.elsewhere, ask.answerable);
    this.tick();
  }

  /** Counts down to the refusal. */
  tick(): void {
    const ask = this.ask;
    if (!ask || ask.expiresAt === null) return setText(this.deadline, '');
    const left = Math.max(0, ask.expiresAt - this.ctx.hostNow());
    setText(this.deadline, `refused unanswered in ${formatDuration(left)}`);
  }

  private openDeny(): void {
    setHidden(this.denyBox, false);
    this.reason.focus();
  }

  private closeDeny(): void {
    setHidden(this.denyBox, true);
    this.reason.value = '';
  }
}
