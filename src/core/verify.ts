/**
 * Verification: run the repository's own checks (type-check, lint, tests) in a worktree and turn
 * their output into something short enough for a model to repair from. Pure core: commands run
 * through the `ProcessRunner` port.
 */
import type { CheckResult, VerificationStatus } from './journal';
import type { ProcessResult, ProcessRunner } from './ports';

/** One check to run: a display name and a shell command, with an optional time-out of its own. */
export interface CheckSpec {
  name: string;
  command: string;
  /** Overrides the context's time-out for this check. */
  timeoutMs?: number;
}

/** What `runChecks` needs besides the checks. */
export interface RunChecksContext {
  runner: ProcessRunner;
  /** Directory the checks run in (a worktree). */
  cwd: string;
  /** Time-out for each check that does not set its own. */
  timeoutMs: number;
  signal?: AbortSignal;
  /** Bound on the output kept per check (characters); 4000 when absent. */
  maxTailChars?: number;
}

/** Outcome of a whole verification round. */
export interface VerificationResult {
  status: VerificationStatus;
  checks: CheckResult[];
  /** Why the round was skipped or failed, in words. */
  reason?: string;
}

/** Reason given when there is nothing to run. */
export const NO_CHECKS_REASON = 'no checks configured or detected';
/** Reason given to checks not run because an earlier one failed. */
export const EARLIER_FAILED_REASON = 'an earlier check failed';
/**
 * Reason given to checks not run (or cut short) because the caller aborted: the developer stopped
 * the task or the run. Journals written before checks had a `stopped` status recorded such a check
 * as `failed` with this reason; the run state reads those as `stopped` (src/core/runState.ts).
 */
export const ABORTED_REASON = 'verification was aborted';
/** Reason of a check cut short, or not run, because the task or the run was stopped. */
export const STOPPED_REASON = 'stopped before it finished: the task or the run was stopped';

const DEFAULT_TAIL_CHARS = 4000;

/**
 * Run `checks` one after another in `ctx.cwd`. Contract: no checks → status 'skipped' with
 * reason "no checks configured or detected"; all pass → 'passed'; the first failure (non-zero
 * exit, signal or time-out) makes the round 'failed' and every later check is recorded as
 * 'skipped' with reason "an earlier check failed" without being run. An abort of `ctx.signal`
 * (the developer stopped the task or the run) stops at once: the running check is recorded as
 * 'stopped', the rest as skipped, and the round is 'stopped', never 'failed': a check that was cut
 * short said nothing about the work (a check that failed before the stop still fails the round).
 * Never throws for an expected outcome; a runner that throws propagates.
 */
export async function runChecks(checks: CheckSpec[], ctx: RunChecksContext): Promise<VerificationResult> {
  if (checks.length === 0) return { status: 'skipped', checks: [], reason: NO_CHECKS_REASON };
  const results: CheckResult[] = [];
  let failed: CheckResult | null = null;
  let stopped = false;
  for (const check of checks) {
    if (failed) {
      results.push(skippedResult(check, EARLIER_FAILED_REASON));
    } else if (ctx.signal?.aborted) {
      results.push(skippedResult(check, STOPPED_REASON));
      stopped = true;
    } else {
      const result = await runOne(check, ctx);
      results.push(result);
      if (result.status === 'failed') failed = result;
      if (result.status === 'stopped') stopped = true;
    }
  }
  // A check that failed before the stop did fail; only a round the stop cut short is stopped.
  if (stopped && failed === null) return { status: 'stopped', checks: results, reason: STOPPED_REASON };
  return failed === null
    ? { status: 'passed', checks: results }
    : {
        status: 'failed',
        checks: results,
        reason: `check "${failed.name}" failed: ${failed.reason ?? 'unknown cause'}`,
      };
}

function skippedResult(check: CheckSpec, reason: string): CheckResult {
  return {
    name: check.name,
    command: check.command,
    status: 'skipped',
    exitCode: null,
    timedOut: false,
    durationMs: 0,
    output: '',
    reason,
  };
}

async function runOne(check: CheckSpec, ctx: RunChecksContext): Promise<CheckResult> {
  const timeoutMs = check.timeoutMs ?? ctx.timeoutMs;
  const maxChars = ctx.maxTailChars ?? DEFAULT_TAIL_CHARS;
  const res = await ctx.runner.run(check.command, {
    cwd: ctx.cwd,
    timeoutMs,
    signal: ctx.signal,
    // Keep a generous multiple of the tail so that an early failure block survives the runner's cap.
    maxOutputBytes: Math.max(maxChars * 16, 64 * 1024),
  });
  const failure = describeFailure(res, timeoutMs);
  const stopped = res.aborted && !res.timedOut;
  return {
    name: check.name,
    command: check.command,
    status: stopped ? 'stopped' : failure === null ? 'passed' : 'failed',
    exitCode: res.exitCode,
    timedOut: res.timedOut,
    durationMs: res.durationMs,
    output: relevantTail(res.output, maxChars),
    ...(failure === null ? {} : { reason: failure }),
  };
}

/** Why a process result counts as a failure, in words, or null when it passed. */
function describeFailure(res: ProcessResult, timeoutMs: number): string | null {
  if (res.timedOut) return `timed out after ${formatSeconds(timeoutMs)}`;
  if (res.aborted) return STOPPED_REASON;
  if (res.exitCode === 0) return null;
  if (res.exitCode === null && res.signal === null) return 'could not be started';
  if (res.exitCode === null) return `killed by signal ${res.signal}`;
  return `exited with code ${res.exitCode}`;
}

function formatSeconds(ms: number): string {
  const s = ms / 1000;
  return `${Number.isInteger(s) ? s : s.toFixed(1)} s`;
}

/**
 * Words and symbols that mark a line as part of a failure report. Matched case-insensitively;
 * `error` and `fail` also match inside words (TypeError, failed, failing).
 */
const FAILURE_LINE = /error|fail|assert|traceback|panic|✗|✖|^\s*not ok\b/i;
/** Summary lines that mention failure words while reporting that there were none. */
const ALL_CLEAR_LINE =
  /\b(0|no)\s+(errors?|failures?|failed|failing)\b|\b(errors?|failures?|failed|fail)\s*[:=]?\s+0\b/i;

/** True when a line looks like the start or part of a failure report. */
export function isFailureLine(line: string): boolean {
  return FAILURE_LINE.test(line) && !ALL_CLEAR_LINE.test(line);
}

/** Separator placed between the first failure block and the tail when they are not adjacent. */
export const ELISION_LINE = '…';

/**
 * The part of a command's output a model needs to repair the failure, at most about `maxChars`
 * characters. Contract: output that fits is returned whole (trailing white space trimmed);
 * otherwise the last lines are kept, and when the output has a line that looks like a failure
 * (error, fail, ✗, ✖, assert, Traceback, panic, `not ok`) earlier than that tail, the first such
 * block (that line up to the next blank line, bounded to half of `maxChars`) is kept too, joined
 * to the tail with a `…` line. The result never exceeds `maxChars` characters.
 */
export function relevantTail(output: string, maxChars: number): string {
  const text = output.replace(/\s+$/, '');
  if (text.length <= maxChars) return text;
  const lines = text.split('\n');
  const fullTailStart = tailStart(lines, maxChars);
  const failIdx = lines.findIndex((l) => isFailureLine(l));
  if (failIdx < 0 || failIdx >= fullTailStart) return joinTail(lines, fullTailStart, maxChars);
  const block = failureBlock(lines, failIdx, Math.floor(maxChars / 2));
  const sepLen = ELISION_LINE.length + 2;
  const rest = maxChars - block.text.length - sepLen;
  const start = Math.max(tailStart(lines, rest), block.end);
  const tail = joinTail(lines, start, rest);
  if (start === block.end) return `${block.text}\n${tail}`.slice(0, maxChars);
  return `${block.text}\n${ELISION_LINE}\n${tail}`;
}

/** Index of the first line of the longest suffix of `lines` that fits in `budget` characters. */
function tailStart(lines: string[], budget: number): number {
  let used = 0;
  let i = lines.length;
  while (i > 0) {
    const cost = lines[i - 1].length + (i === lines.length ? 0 : 1);
    if (used + cost > budget) break;
    used += cost;
    i--;
  }
  return i;
}

/** Lines from `start` joined; when not even the last line fits, the end of the last line. */
function joinTail(lines: string[], start: number, budget: number): string {
  if (budget <= 0) return '';
  if (start >= lines.length) return lines[lines.length - 1].slice(-budget);
  return lines.slice(start).join('\n');
}

/** The block starting at `from`: up to the next blank line, within `budget` characters. */
function failureBlock(lines: string[], from: number, budget: number): { text: string; end: number } {
  let end = from;
  let used = 0;
  while (end < lines.length && lines[end].trim() !== '') {
    const cost = lines[end].length + (end === from ? 0 : 1);
    if (used + cost > budget) break;
    used += cost;
    end++;
  }
  if (end === from) return { text: lines[from].slice(0, budget), end: from + 1 };
  return { text: lines.slice(from, end).join('\n'), end };
}

/**
 * A concise message for an agent's repair round about one check that did not pass: which check,
 * its command, how it failed (exit code, signal or time-out) and the relevant output. For a
 * passed or skipped check it says so in one line.
 */
export function formatFailureForAgent(result: CheckResult): string {
  if (result.status === 'passed') return `Check "${result.name}" (\`${result.command}\`) passed.`;
  if (result.status === 'skipped') {
    return `Check "${result.name}" (\`${result.command}\`) was not run: ${result.reason ?? 'skipped'}.`;
  }
  if (result.status === 'stopped')
    return `Check "${result.name}" (\`${result.command}\`) was stopped before it finished.`;
  const how = result.timedOut
    ? (result.reason ?? 'timed out')
    : result.exitCode !== null
      ? `exited with code ${result.exitCode}`
      : (result.reason ?? 'was killed');
  const head = `Check "${result.name}" failed: \`${result.command}\` ${how}${result.timedOut ? ' (the command was killed; make it finish faster or fix a hang)' : ''}.`;
  const output = result.output.trim();
  if (output === '') return `${head}\nIt printed no output.`;
  return `${head}\nRelevant output:\n\`\`\`\n${output}\n\`\`\``;
}
