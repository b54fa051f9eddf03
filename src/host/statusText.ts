/**
 * The status bar's words, kept free of 'vscode' so they are tested with plain values:
 * "$(sync~spin) Foreman: 3 agents · 1.2k tok/s · $0.04" while a run is live, its outcome after.
 */
import { ACTIVE_TASK_STATUSES } from '../core/statusSets';
import type { RunView } from '../protocol/panel';

/** "1.2k", "950", "3.4M". */
export function compactNumber(n: number): string {
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)}M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)}k`;
  return n >= 10 ? n.toFixed(0) : n.toFixed(1).replace(/\.0$/, '');
}

/** "$0.04"; under a cent, two significant digits ("$0.00035"), so a cheap run does not read as free. */
export function money(cost: number): string {
  if (cost === 0 || cost >= 0.01) return `$${cost.toFixed(2)}`;
  if (cost < 0.0001) return '<$0.0001';
  return `$${Number(cost.toPrecision(2))}`;
}

/**
 * A usage's cost for the status bar and the runs list: "$0.04"; "$0.04 + unpriced" when some
 * requests had no price; "unpriced" when none had one (never "$0.00"); null when nothing was spent.
 */
export function costText(usage: Pick<RunView['usage'], 'cost' | 'unpriced'>): string | null {
  if (usage.cost === null) return usage.unpriced ? 'unpriced' : null;
  return usage.unpriced ? `${money(usage.cost)} + unpriced` : money(usage.cost);
}

/**
 * The live item's text: "$(sync~spin) Foreman: 3 agents · 1.2k tok/s · $0.04"; the cost says
 * "+ unpriced" when some requests had no price, and "unpriced" when none had one.
 */
export function liveText(run: RunView): string {
  const agents = run.tasks.filter((t) => ACTIVE_TASK_STATUSES.has(t.status)).length;
  const rate = run.tokensPerSecond === null ? '–' : compactNumber(run.tokensPerSecond);
  const parts = [`${agents} agent${agents === 1 ? '' : 's'}`, `${rate} tok/s`];
  const cost = costText(run.usage);
  if (cost !== null) parts.push(cost);
  if (run.asks.tasks > 0) return `$(shield) Foreman: ${run.asks.tasks} waiting for approval · ${parts.join(' · ')}`;
  return `$(sync~spin) Foreman: ${parts.join(' · ')}`;
}

/** The finished run's item: "$(check) Foreman: run completed". */
export function outcomeText(run: RunView): string {
  const icon =
    run.status === 'completed' || run.status === 'applied'
      ? '$(check)'
      : run.status === 'review'
        ? '$(eye)'
        : '$(warning)';
  return `${icon} Foreman: run ${run.status}`;
}

/** The item between runs when agent commands would not be confined; null when they would be. */
export function sandboxWarning(kind: 'on' | 'off' | 'unavailable'): string | null {
  if (kind === 'off') return '$(warning) Foreman: sandbox off';
  if (kind === 'unavailable') return '$(error) Foreman: no sandbox, agent commands refused';
  return null;
}
