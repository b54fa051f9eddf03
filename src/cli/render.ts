/**
 * What the command line prints: plans, progress lines, and the summary table. Pure functions from
 * state to text, so tests can read them.
 */
import type { ApprovalBy, BudgetHit, JournalEvent } from '../core/journal';
import { visibleControls } from '../core/text';
import type { Ledger, LedgerRecord, TokenTotals } from '../core/ledger';
import type { Plan } from '../core/plan';
import { runPhase } from '../core/runState';
import type { RunState, VerificationState } from '../core/runState';

/** A plain-text table with left-aligned columns (right-aligned where `right` says so). */
export function table(head: string[], rows: string[][], right: Set<number> = new Set()): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]?.length ?? 0)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (right.has(i) ? c.padStart(widths[i]) : c.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

/** A token count, short: 950, 12.3k, 4.56M. */
export function fmtTokens(n: number): string {
  if (n < 1000) return String(n);
  if (n < 1_000_000) return `${(n / 1000).toFixed(n < 10_000 ? 2 : 1)}k`;
  return `${(n / 1_000_000).toFixed(2)}M`;
}

export function fmtCost(cost: number | null): string {
  return cost === null ? '-' : `$${cost < 1 ? cost.toFixed(4) : cost.toFixed(2)}`;
}

/**
 * The cost of `totals`, saying when part of it had no price: `$0.0012`, `$0.0012 + unpriced`
 * (some requests had no price), `unpriced` (none had one), `-` (no tokens used).
 */
export function fmtUsageCost(totals: Readonly<TokenTotals>): string {
  if (totals.unpriced === 0) return fmtCost(totals.cost);
  return totals.cost === null ? 'unpriced' : `${fmtCost(totals.cost)} + unpriced`;
}

/** Output tokens per second of generation time (core/throughput.ts), or `-` when none was timed. */
export function fmtRate(rate: number | null): string {
  return rate === null ? '-' : rate.toFixed(1);
}

export function fmtDuration(ms: number | null): string {
  if (ms === null) return '-';
  const s = Math.round(ms / 1000);
  return s < 60 ? `${s}s` : `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
}

/** The plan as a readable list: each task, its dependencies, criteria and files; then warnings. */
export function renderPlan(plan: Plan): string {
  const out: string[] = [`Plan: ${plan.tasks.length} task(s)`];
  for (const t of plan.tasks) {
    out.push('', `${t.id}: ${t.title}${t.dependsOn.length ? `   (after ${t.dependsOn.join(', ')})` : ''}`);
    out.push(...wrap(t.instructions, '    '));
    for (const a of t.acceptance) out.push(`    ✓ ${a}`);
    if (t.files.length) out.push(`    files: ${t.files.join(', ')}`);
  }
  if (plan.warnings.length) {
    out.push('', 'Warnings:');
    for (const w of plan.warnings) out.push(`  ! ${w.message}`);
  }
  return out.join('\n');
}

function wrap(text: string, indent: string, width = 96): string[] {
  const lines: string[] = [];
  for (const para of text.split('\n')) {
    let line = '';
    for (const word of para.split(/\s+/).filter(Boolean)) {
      if (line && line.length + word.length + 1 > width) {
        lines.push(indent + line);
        line = word;
      } else line = line ? `${line} ${word}` : word;
    }
    if (line) lines.push(indent + line);
  }
  return lines;
}

function tokenCells(u: TokenTotals, rate: number | null): string[] {
  return [fmtTokens(u.input), fmtTokens(u.cached), fmtTokens(u.output), fmtRate(rate), fmtUsageCost(u)];
}

/** The tokens/s of the ledger's requests that `which` selects. */
function rateOf(ledger: Ledger, which?: (r: LedgerRecord) => boolean): number | null {
  return ledger.tokensPerSecond(which);
}

/** A verification in a few words: `passed`, `failed (test)`, `stopped`, `no checks`; `-` before any. */
export function verificationWords(v: VerificationState): string {
  const last = v.last;
  if (!last) return '-';
  if (last.status === 'skipped') return 'no checks';
  const failed = last.checks.find((c) => c.status === 'failed');
  return last.status === 'failed' && failed ? `failed (${failed.name})` : last.status;
}

/**
 * The summary table: status, verification, tokens, tokens/s, cost and time per task, then the
 * run's totals. `ledger` holds the run's requests (for tokens/s).
 */
export function renderSummary(state: RunState, ledger: Ledger, now: number): string {
  const rows = [...state.tasks.values()].map((t) => [
    t.id,
    t.status,
    verificationWords(t.verification),
    String(t.step),
    ...tokenCells(
      t.usage,
      rateOf(ledger, (r) => r.taskId === t.id),
    ),
    fmtDuration(t.startedAt === null ? null : (t.endedAt ?? now) - t.startedAt),
  ]);
  const runTime = state.startedAt === null ? null : (state.finishedAt ?? now) - state.startedAt;
  rows.push([
    'TOTAL (run)',
    runPhase(state),
    integrationCell(state),
    '',
    ...tokenCells(state.usage, rateOf(ledger)),
    fmtDuration(runTime),
  ]);
  const head = ['task', 'status', 'verification', 'steps', 'in', 'cached', 'out', 'tok/s', 'cost', 'time'];
  const lines = [table(head, rows, new Set([3, 4, 5, 6, 7, 8, 9]))];
  const notes = [...state.tasks.values()]
    .filter((t) => t.reason && t.status !== 'merged')
    .map((t) => `  ${t.id}: ${t.reason}`);
  if (notes.length) lines.push('', 'Why:', ...notes);
  if (state.usage.estimated)
    lines.push('', 'Some token counts are estimates: the backend did not report usage for every request.');
  const unpriced = unpricedNote(state.usage);
  if (unpriced) lines.push('', unpriced);
  if (state.settingsChanges.length)
    lines.push(
      '',
      'Settings changed after the start:',
      ...state.settingsChanges.map((c) => `  ${c.changes.join('; ')}`),
    );
  if (state.message) lines.push('', state.message);
  const hint = nextStep(state);
  if (hint) lines.push(hint);
  return lines.join('\n');
}

/** The flag that raises the budget `hit` reached, with a placeholder for the new limit. */
export function budgetFlag(hit: BudgetHit): string {
  const flag = `--${hit.scope === 'task' ? 'task-' : ''}budget-${hit.kind}`;
  return `${flag} ${hit.kind === 'tokens' ? 'N' : 'X'}`;
}

/** Why a cost is missing or partial, in words; null when every request was priced. */
export function unpricedNote(totals: Readonly<TokenTotals>): string | null {
  if (totals.unpriced === 0) return null;
  const n = `${totals.unpriced} request${totals.unpriced === 1 ? '' : 's'}`;
  const what =
    totals.cost === null
      ? `No cost is known: ${n} had no price`
      : `The cost covers only priced requests: ${n} had no price`;
  return `${what} (give one with --price IN,CACHED,OUT or "prices" in foreman.json).`;
}

/** The command that takes a finished run further, for the command line's summary. */
function nextStep(state: RunState): string | null {
  switch (state.status) {
    case 'completed':
      return state.applied ? null : `Bring it onto your branch with: foreman apply ${state.runId}`;
    case 'budget': {
      const flag = state.budgetHit ? ` ${budgetFlag(state.budgetHit)}` : '';
      return `Raise the budget and resume it with: foreman run --resume ${state.runId}${flag}`;
    }
    case 'stopped':
    case 'interrupted':
      return `Resume it with: foreman run --resume ${state.runId}`;
    case 'review':
      return `Decide with: foreman accept|reject ${state.runId} <task>..., or foreman revise ${state.runId} <task> "what to change"`;
    case 'failed':
      return `See: foreman status ${state.runId}`;
    default:
      return null;
  }
}

/** The integration branch's checks: `integration passed`, `not verified (no checks)`, …; `-` before any. */
export function integrationCell(state: Pick<RunState, 'integration'>): string {
  const last = state.integration.last;
  if (!last) return '-';
  return last.status === 'skipped' ? 'not verified (no checks)' : `integration ${verificationWords(state.integration)}`;
}

/** Totals by role and by backend endpoint, from the ledger. */
export function renderBreakdown(ledger: Ledger): string {
  const rows: string[][] = [];
  for (const [role, totals] of ledger.byRole())
    rows.push([
      `role: ${role}`,
      String(totals.requests),
      ...tokenCells(
        totals,
        rateOf(ledger, (r) => r.role === role),
      ),
    ]);
  for (const [endpoint, totals] of ledger.byEndpoint())
    rows.push([
      `backend: ${endpoint}`,
      String(totals.requests),
      ...tokenCells(
        totals,
        rateOf(ledger, (r) => r.endpoint === endpoint),
      ),
    ]);
  return table(['', 'requests', 'in', 'cached', 'out', 'tok/s', 'cost'], rows, new Set([1, 2, 3, 4, 5, 6]));
}

const APPROVED_BY: Record<ApprovalBy, string> = {
  user: 'by you',
  timeout: 'no answer in time',
  stopped: 'the task stopped',
  nobody: 'no one can be asked: see --approve',
  rule: 'you allowed it for this run',
  sandbox: '--approve policy: the sandbox holds it',
};

/** A line's whitespace folded to single spaces, at most 160 characters. */
function oneLine(text: string): string {
  const folded = text.replace(/\s+/g, ' ').trim();
  return folded.length > 160 ? `${folded.slice(0, 159)}…` : folded;
}

/**
 * One progress line for an event worth showing, or null. `verbose` adds every tool call. A task's
 * line carries its tokens, tokens/s (from `ledger`, the run's requests) and cost.
 */
export function progressLine(event: JournalEvent, state: RunState, verbose: boolean, ledger?: Ledger): string | null {
  const stamp = state.startedAt === null ? '' : `[${fmtDuration(event.t - state.startedAt).padStart(6)}] `;
  switch (event.type) {
    case 'task_status': {
      const t = state.tasks.get(event.taskId);
      const rate = ledger ? rateOf(ledger, (r) => r.taskId === event.taskId) : null;
      const tokens =
        t && t.usage.requests
          ? `  ${fmtTokens(t.usage.input + t.usage.output)} tok${rate === null ? '' : ` ${fmtRate(rate)} tok/s`} ${fmtUsageCost(t.usage)}`
          : '';
      return `${stamp}${event.taskId.padEnd(24)} ${event.status}${event.reason ? `: ${event.reason}` : ''}${tokens}`;
    }
    case 'settings_changed':
      return `${stamp}settings changed: ${event.changes.join('; ')}`;
    case 'tool_call':
      return verbose ? `${stamp}${event.taskId.padEnd(24)}   ${event.ok ? '·' : '✗'} ${event.summary}` : null;
    case 'approval_asked':
      return `${stamp}${event.taskId.padEnd(24)} asks to run: ${visibleControls(oneLine(event.line))} (rule ${event.policy.rule})`;
    case 'approval_answered':
      return event.by === 'user'
        ? null
        : `${stamp}${event.taskId.padEnd(24)} ${event.approved ? 'allowed' : 'not allowed'} (${APPROVED_BY[event.by]})`;
    case 'verification': {
      const failed = event.status === 'failed' ? event.checks.find((c) => c.status === 'failed') : undefined;
      const why = failed ? `: ${failed.name} ${failed.reason ?? 'failed'}` : '';
      const what = event.status === 'skipped' ? 'not verified (no checks)' : `checks ${event.status}`;
      return `${stamp}${event.taskId.padEnd(24)} ${what} (round ${event.round})${why}`;
    }
    case 'merge':
      return event.ok
        ? null
        : `${stamp}${event.taskId.padEnd(24)} merge conflict: ${(event.conflicts ?? []).join(', ')}`;
    case 'compacted': {
      const window = event.contextWindow === null ? '' : `; the context window is ${event.contextWindow} tokens`;
      return `${stamp}${event.taskId.padEnd(24)} conversation compacted: ~${fmtTokens(event.tokensBefore)} → ~${fmtTokens(event.tokensAfter)} tokens, estimated (${event.elided} older messages shortened${window})`;
    }
    case 'budget_stop':
      return `${stamp}budget reached: ${event.hit.scope}${event.hit.taskId ? ` ${event.hit.taskId}` : ''} ${event.hit.kind} ${event.hit.used} of ${event.hit.limit}`;
    case 'review':
      return `${stamp}${event.taskId.padEnd(24)} review: ${event.approved ? 'approved' : `changes requested: ${event.comments.slice(0, 120)}`}`;
    case 'telemetry_unavailable':
      return `${stamp}${event.endpoint}: ${event.what === 'energy' ? 'energy: not measured' : 'metrics: not read'} — ${event.reason}`;
    default:
      return null;
  }
}
