/**
 * A task's conversation and its checks, rendered for people to read in an editor tab.
 *
 * The transcript is Markdown: the task, each model turn's text, every tool call with its
 * arguments and its result, and the notes Foreman sent back (failed verification, changes
 * requested, resumes). Everything a model or a command produced is data: tool arguments and
 * results sit in fences longer than any backtick run they contain, and prose keeps its Markdown
 * but loses what could escape or reach out (raw HTML, images, unclosed fences). Long texts are cut
 * with a marker that says how much is not shown. What the conversation holds is read by
 * src/core/conversationView.ts, which `foreman transcript` shares. Pure: no I/O, no editor.
 */
import type { CheckResult, CompactionRecord, VerificationStatus } from '../core/journal';
import {
  clipText,
  compactionWords,
  DEFAULT_TRANSCRIPT_LIMITS,
  formatArguments,
  readConversation,
} from '../core/conversationView';
import type { CallView, ConversationEntry, ConversationView, TranscriptLimits } from '../core/conversationView';
import type { ChatMessage } from '../core/model';

/** What the transcript's heading names. */
export interface TranscriptHeader {
  runId: string;
  taskId: string;
  /** The task's title; null when the plan does not name it. */
  title: string | null;
  /** The task's status now, when known. */
  status?: string | null;
  /** The task's compactions (its `compacted` journal events), shown where they happened. */
  compactions?: readonly CompactionRecord[];
}

// ---------------------------------------------------------------------------------------------
// Text helpers
// ---------------------------------------------------------------------------------------------

/** The longest run of `char` in `text`. */
function longestRun(text: string, char: string): number {
  let longest = 0;
  let run = 0;
  for (const c of text) {
    run = c === char ? run + 1 : 0;
    if (run > longest) longest = run;
  }
  return longest;
}

/**
 * `text` in a backtick fence longer than any backtick run inside it, so no content can close it
 * early. `info` is the language (letters, digits and dashes only; anything else is dropped).
 */
export function fenced(text: string, info = ''): string {
  const fence = '`'.repeat(Math.max(3, longestRun(text, '`') + 1));
  const lang = /^[\w-]*$/.test(info) ? info : '';
  const body = text.endsWith('\n') ? text : `${text}\n`;
  return `${fence}${lang}\n${body}${fence}`;
}

/** `text` as an inline code span that no backtick inside it can end early. */
export function codeSpan(text: string): string {
  const flat = text.replace(/\s+/g, ' ');
  const ticks = '`'.repeat(longestRun(flat, '`') + 1);
  const pad = flat.startsWith('`') || flat.endsWith('`') ? ' ' : '';
  return `${ticks}${pad}${flat}${pad}${ticks}`;
}

/** One line of plain text that Markdown shows as it is (every punctuation mark escaped). */
export function escapeInline(text: string): string {
  return text
    .replace(/\s+/g, ' ')
    .trim()
    .replace(/[\\`*_{}[\]<>()#+\-.!|~&]/g, '\\$&');
}

/** Outside code spans: raw HTML becomes text, images become links, nothing loads. */
function neutralizeInline(line: string): string {
  let out = '';
  let i = 0;
  while (i < line.length) {
    if (line[i] === '`') {
      let n = 1;
      while (line[i + n] === '`') n++;
      const close = findRun(line, '`'.repeat(n), i + n);
      const end = close < 0 ? i + n : close + n;
      out += line.slice(i, end);
      i = end;
      continue;
    }
    const c = line[i];
    out += c === '<' ? '&lt;' : c === '!' && line[i + 1] === '[' ? '!\\' : c;
    i++;
  }
  return out;
}

/** The index of a backtick run of exactly `run` at or after `from`, or -1. */
function findRun(line: string, run: string, from: number): number {
  for (let at = line.indexOf(run, from); at >= 0; at = line.indexOf(run, at + 1)) {
    if (line[at - 1] !== '`' && line[at + run.length] !== '`') return at;
  }
  return -1;
}

const FENCE_OPEN = /^ {0,3}(`{3,}|~{3,})/;

/**
 * Prose written by a model (or a planner's task text) kept as Markdown, made safe to embed: raw
 * HTML and images are neutralised outside code, headings go one level down and no higher than
 * `minHeading` (below the transcript's own), and a fence left open is closed so it cannot swallow
 * what follows.
 */
export function neutralizeProse(text: string, minHeading = 4): string {
  const demote = (_m: string, indent: string, hashes: string): string =>
    indent + '#'.repeat(Math.min(6, Math.max(minHeading, hashes.length + 1)));
  const out: string[] = [];
  let open: { char: string; length: number } | null = null;
  for (const line of text.replace(/\r\n?/g, '\n').split('\n')) {
    if (open) {
      const close = new RegExp(`^ {0,3}\\${open.char}{${open.length},}\\s*$`);
      if (close.test(line)) open = null;
      out.push(line);
      continue;
    }
    const fence = FENCE_OPEN.exec(line);
    if (fence && !(fence[1][0] === '`' && line.slice(fence[0].length).includes('`'))) {
      open = { char: fence[1][0], length: fence[1].length };
      out.push(line);
      continue;
    }
    out.push(neutralizeInline(line).replace(/^( {0,3})(#{1,6})(?=\s|$)/, demote));
  }
  if (open) out.push(open.char.repeat(open.length));
  return out.join('\n');
}

// ---------------------------------------------------------------------------------------------
// The transcript
// ---------------------------------------------------------------------------------------------

/** Markdown as a block quote (every line prefixed). */
function quote(markdown: string): string {
  return markdown
    .split('\n')
    .map((line) => (line === '' ? '>' : `> ${line}`))
    .join('\n');
}

/** One tool call and its result (null while it has none). */
function toolCallSection({ call, result }: CallView, limits: TranscriptLimits): string {
  const args = formatArguments(call.arguments, limits.argumentString);
  const parts = [`**Tool call** ${codeSpan(call.name)}`, fenced(args.text, args.json ? 'json' : 'text')];
  parts.push(
    result === null ? '_No result yet._' : `**Result**\n\n${fenced(clipText(result, limits.toolResult), 'text')}`,
  );
  return parts.join('\n\n');
}

type EntryRenderers = {
  [K in ConversationEntry['kind']]: (
    entry: Extract<ConversationEntry, { kind: K }>,
    limits: TranscriptLimits,
  ) => string;
};

/** Each kind of entry as a section of the Markdown. */
const SECTIONS: EntryRenderers = {
  // <details> keeps the long shared prompt folded in a preview; the fence keeps its text inert.
  system: (e, limits) =>
    `<details>\n<summary>System prompt (shared by the run's agents)</summary>\n\n${fenced(clipText(e.text, limits.systemPrompt), 'text')}\n\n</details>`,
  task: (e) => `## The task\n\n${neutralizeProse(e.text, 3)}`,
  repair: (e, limits) =>
    `## Verification failed (repair round ${e.round} of ${e.of})\n\nForeman sent the failing check back to the agent:\n\n${quote(neutralizeProse(clipText(e.failure, limits.note)))}`,
  changes: (e, limits) =>
    `## Changes requested by the ${e.by}\n\n${quote(neutralizeProse(clipText(e.comments, limits.note)))}`,
  resumed: () => `## Resumed\n\n_Foreman was interrupted and resumed this task in its worktree._`,
  nudge: () => '_Foreman asked the agent to continue with tool calls._',
  note: (e, limits) => `## Message from Foreman\n\n${fenced(clipText(e.text, limits.note), 'text')}`,
  step: (e, limits) => {
    const parts = [`## Step ${e.step}`];
    if (e.text) parts.push(neutralizeProse(e.text));
    for (const call of e.calls) parts.push(toolCallSection(call, limits));
    if (parts.length === 1) parts.push('_The model answered with nothing._');
    return parts.join('\n\n');
  },
  compacted: (e) => `## Conversation compacted\n\n_${escapeInline(compactionWords(e.record))}_`,
  strayResult: (e, limits) =>
    `**Result of an unknown call** ${codeSpan(e.toolCallId)}\n\n${fenced(clipText(e.text, limits.toolResult), 'text')}`,
};

function section(entry: ConversationEntry, limits: TranscriptLimits): string {
  return (SECTIONS[entry.kind] as (e: ConversationEntry, l: TranscriptLimits) => string)(entry, limits);
}

/** The transcript of one task as Markdown (see the module comment for what it shows). */
export function transcriptMarkdown(
  messages: readonly ChatMessage[],
  header: TranscriptHeader,
  limits: TranscriptLimits = DEFAULT_TRANSCRIPT_LIMITS,
): string {
  const view = readConversation(messages, header.compactions);
  const sections = [headerSection(view, header), ...view.entries.map((e) => section(e, limits))];
  if (messages.length === 0) sections.push('_The task has no conversation yet._');
  return `${sections.join('\n\n')}\n`;
}

function headerSection(view: ConversationView, header: TranscriptHeader): string {
  const title = header.title ? escapeInline(header.title) : escapeInline(header.taskId);
  const facts = [`Run ${codeSpan(header.runId)}`, `task ${codeSpan(header.taskId)}`];
  if (header.status) facts.push(escapeInline(header.status));
  const { turns, calls } = view;
  facts.push(`${turns} model turn${turns === 1 ? '' : 's'}`, `${calls} tool call${calls === 1 ? '' : 's'}`);
  return `# Transcript: ${title}\n\n${facts.join(' · ')}`;
}

// ---------------------------------------------------------------------------------------------
// Checks
// ---------------------------------------------------------------------------------------------

/** What a checks document is about. */
export interface ChecksHeader {
  runId: string;
  /** What was verified, in words: a task's title, or "the integration branch". */
  target: string;
  /** The verification round (1 for the first), its outcome and when it ran (ms since the epoch). */
  round: number;
  status: VerificationStatus;
  at: number | null;
}

/** Seconds with one decimal, for durations. */
function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

/** One check: a rule with its name and outcome, the command, the reason, then its output tail. */
function checkBlock(check: CheckResult): string {
  const how = [
    check.status,
    check.timedOut ? 'timed out' : check.exitCode === null ? null : `exit ${check.exitCode}`,
    seconds(check.durationMs),
  ];
  const lines = [`━━ ${check.name}: ${how.filter((s) => s !== null).join(', ')} ━━`, `$ ${check.command}`];
  if (check.reason) lines.push(`(${check.reason})`);
  const output = check.output.replace(/\s+$/, '');
  lines.push('', output === '' ? '(no output)' : output);
  return lines.join('\n');
}

/**
 * A verification round as plain text, for a read-only editor tab: a heading line, then each
 * check with its command, outcome and the bounded tail of its output, in the order they ran.
 */
export function checksText(header: ChecksHeader, checks: readonly CheckResult[]): string {
  const when = header.at === null ? '' : ` at ${new Date(header.at).toISOString().replace('T', ' ').slice(0, 19)} UTC`;
  const passed = checks.filter((c) => c.status === 'passed').length;
  const head = [
    `Verification of ${header.target.replace(/\s+/g, ' ')}: ${header.status}`,
    `Run ${header.runId}, round ${header.round}${when}; ${passed} of ${checks.length} check${checks.length === 1 ? '' : 's'} passed.`,
    'The output of each check is its last part, as Foreman kept it.',
  ];
  const body =
    checks.length === 0 ? ['No checks are configured or detected for this repository.'] : checks.map(checkBlock);
  return `${[head.join('\n'), ...body].join('\n\n')}\n`;
}

/** Checks for a target that has not been verified yet. */
export function noChecksText(runId: string, target: string): string {
  return `No verification of ${target.replace(/\s+/g, ' ')} has run yet in run ${runId}.\n`;
}
