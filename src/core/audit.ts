/**
 * A run's audit trail, read from its journal: what each agent did through its tools, what the
 * command policy decided and by which rule, who approved or refused what and when, how each
 * task's processes were confined, and every git operation Foreman performed. The CLI's `foreman
 * audit` and the panel's audit document both print it from here.
 */
import type { JournalEvent, PolicyRecord } from './journal';
import { visibleControls } from './text';

/** What an entry is about. */
export type AuditKind = 'run' | 'tool' | 'approval' | 'sandbox' | 'network' | 'git' | 'checks' | 'task' | 'mcp';

/** One line of the trail, with the event it came from. */
export interface AuditEntry {
  seq: number;
  t: number;
  /** The task, or null for the run's own entries. */
  task: string | null;
  kind: AuditKind;
  /** One line for people. */
  text: string;
  /** True where something was refused, failed or denied. */
  flagged: boolean;
  event: JournalEvent;
}

/** The trail of a journal, oldest first; `task` keeps only that task's entries. */
export function auditTrail(events: readonly JournalEvent[], task: string | null = null): AuditEntry[] {
  const entries: AuditEntry[] = [];
  for (const event of events) {
    const entry = auditEntry(event);
    if (entry && (task === null || entry.task === task)) entries.push(entry);
  }
  return entries;
}

type Described = Pick<AuditEntry, 'task' | 'kind' | 'text' | 'flagged'>;

function auditEntry(event: JournalEvent): AuditEntry | null {
  const described = describe(event);
  return described ? { seq: event.seq, t: event.t, event, ...described } : null;
}

function describe(e: JournalEvent): Described | null {
  switch (e.type) {
    case 'run_started':
      return run(
        `run started on ${e.baseBranch ?? 'a detached HEAD'} at ${e.base.slice(0, 10)}, model ${e.settings.model}`,
      );
    case 'run_resumed':
      return run('run resumed');
    case 'settings_changed':
      return run(`settings changed: ${e.changes.join('; ')}`);
    case 'run_finished':
      return run(`run ended ${e.status}: ${e.message}`, e.status === 'failed');
    case 'applied':
      return { task: null, kind: 'git', text: `applied onto your branch (${e.mode}) as ${e.commit}`, flagged: false };
    case 'tool_call':
      return {
        task: e.taskId,
        kind: 'tool',
        text: `step ${e.step} ${e.ok ? 'ok' : 'not ok'}: ${e.summary}${e.policy ? ` [${policyText(e.policy)}]` : ''}`,
        flagged: !e.ok || e.policy?.decision === 'deny',
      };
    case 'approval_asked':
      return {
        task: e.taskId,
        kind: 'approval',
        text: `asked to run ${e.line} (${e.policy.rule}: ${e.why})`,
        flagged: false,
      };
    case 'approval_answered':
      return { task: e.taskId, kind: 'approval', text: answerText(e), flagged: !e.approved };
    case 'sandbox':
      return {
        task: e.taskId,
        kind: 'sandbox',
        text: `processes confined by ${e.profile.confinement}; network ${e.profile.network}; may write ${e.profile.writable.join(', ')}; environment ${e.profile.env.join(', ')}`,
        flagged: e.profile.confinement === 'off',
      };
    case 'git':
      return { task: e.taskId, kind: 'git', text: `${e.op}: ${e.detail}`, flagged: !e.ok };
    case 'network':
      return {
        task: e.taskId,
        kind: 'network',
        text: `${e.allowed ? 'allowed' : 'refused'} ${e.host}:${e.port} (${e.via}): ${e.reason}`,
        flagged: !e.allowed,
      };
    case 'verification':
      return {
        task: e.taskId,
        kind: 'checks',
        text: `checks ${e.status} (round ${e.round}): ${e.checks.map((c) => `${c.command} ${c.status}`).join('; ') || 'none'}`,
        flagged: e.status === 'failed',
      };
    case 'mcp':
      return {
        task: e.taskId ?? null,
        kind: 'mcp',
        text: `MCP server ${e.server} ${e.status}${e.pin ? ` (pin ${e.pin.slice(0, 12)})` : ''}: ${e.detail}`,
        flagged: e.status !== 'pinned' && e.status !== 'approved',
      };
    case 'task_status':
      return e.status === 'failed' || e.status === 'stopped'
        ? { task: e.taskId, kind: 'task', text: `${e.status}${e.reason ? `: ${e.reason}` : ''}`, flagged: true }
        : null;
    default:
      return null;
  }
}

function run(text: string, flagged = false): Described {
  return { task: null, kind: 'run', text, flagged };
}

function policyText(p: PolicyRecord): string {
  return `policy ${p.decision} by ${p.source === 'builtin' ? '' : `${p.source} `}rule ${p.rule}`;
}

function answerText(e: Extract<JournalEvent, { type: 'approval_answered' }>): string {
  const who: Record<typeof e.by, string> = {
    user: 'by you',
    timeout: 'by time-out',
    stopped: 'because the task stopped',
    nobody: 'because no one could be asked',
    rule: 'by your earlier "allow for this run"',
    sandbox: 'without asking, as the sandbox holds it (--approve policy)',
  };
  if (e.approved) return `allowed ${e.scope === 'run' ? 'for this run' : 'once'} ${who[e.by]}`;
  return `refused ${who[e.by]}${e.reason ? `: ${e.reason}` : ''}`;
}

/** The trail as text: one line per entry, `time task kind text`, flagged lines marked with `!`. */
export function formatAudit(entries: readonly AuditEntry[], clockOf: (t: number) => string): string[] {
  const width = Math.max(4, ...entries.map((e) => (e.task ?? 'run').length));
  return entries.map(
    (e) =>
      `${clockOf(e.t)} ${e.flagged ? '!' : ' '} ${(e.task ?? 'run').padEnd(width)}  ${e.kind.padEnd(8)} ${oneLine(e.text)}`,
  );
}

function oneLine(text: string): string {
  return visibleControls(text.replace(/\s+/g, ' ').trim());
}
