/**
 * A task's conversation as plain text for a terminal (`foreman transcript`): the same reading of
 * the conversation as the Lead panel's Markdown (src/core/conversationView.ts), laid out in lines.
 * Each step shows the model's text, then every tool call as `→ name  key: value` with long or
 * multi-line values and the result in indented blocks. Everything is model or command output, so
 * every control character (an escape sequence in a file the agent wrote, say) is shown as its
 * control picture and cannot drive the terminal. Long texts are cut as in the panel unless the
 * limits say otherwise; the shared system prompt is shown only when asked for.
 */
import { clipText, compactionWords, readConversation } from '../core/conversationView';
import type { CompactionRecord } from '../core/journal';
import type { CallView, ConversationEntry, TranscriptLimits } from '../core/conversationView';
import type { ChatMessage } from '../core/model';
import { visibleControls } from '../core/text';

/** What the first line names. */
export interface TranscriptTextHeader {
  runId: string;
  taskId: string;
  title: string | null;
  status: string;
  /** The task's compactions (its `compacted` journal events), shown where they happened. */
  compactions?: readonly CompactionRecord[];
}

/** How the transcript is shown. */
export interface TranscriptTextOptions {
  limits: TranscriptLimits;
  /** Show the run's shared system prompt (long, and the same for every task). */
  systemPrompt: boolean;
}

/** `text` as lines indented under a bar, so a block of output reads apart from Foreman's words. */
function block(text: string, indent = '    '): string {
  const body = text.replace(/\s+$/, '');
  if (body === '') return `${indent}│ (empty)`;
  return body
    .split('\n')
    .map((line) => `${indent}│ ${line}`)
    .join('\n');
}

/** A short one-line value of an argument, or null when it needs a block of its own. */
function inline(value: unknown): string | null {
  if (typeof value === 'string') return value.includes('\n') || value.length > 80 ? null : JSON.stringify(value);
  const json = JSON.stringify(value);
  return json.length > 80 ? null : json;
}

/** One tool call: its arguments, short ones on the call's line, long ones as blocks; then its result. */
function callLines({ call, result }: CallView, limits: TranscriptLimits): string {
  let args: unknown;
  try {
    args = JSON.parse(call.arguments);
  } catch {
    // Arguments that are not JSON are shown as sent.
    args = undefined;
  }
  const short: string[] = [];
  const long: string[] = [];
  if (args !== null && typeof args === 'object' && !Array.isArray(args)) {
    for (const [key, value] of Object.entries(args)) {
      const one = inline(value);
      if (one !== null) short.push(`${key}: ${one}`);
      else {
        const text = typeof value === 'string' ? value : JSON.stringify(value, null, 2);
        long.push(`    ${key}:\n${block(clipText(text, limits.argumentString), '      ')}`);
      }
    }
  } else
    long.push(
      `    arguments (not a JSON object):\n${block(clipText(call.arguments, limits.argumentString), '      ')}`,
    );
  const lines = [`  → ${call.name}${short.length ? `  ${short.join('  ')}` : ''}`, ...long];
  lines.push(
    result === null ? '    (no result yet)' : `    result:\n${block(clipText(result, limits.toolResult), '      ')}`,
  );
  return lines.join('\n');
}

type EntryLines = {
  [K in ConversationEntry['kind']]: (
    entry: Extract<ConversationEntry, { kind: K }>,
    opts: TranscriptTextOptions,
  ) => string | null;
};

const heading = (title: string): string => `── ${title} ──`;

/** Each kind of entry as lines; null to leave it out. */
const LINES: EntryLines = {
  system: (e, opts) =>
    opts.systemPrompt
      ? `${heading("System prompt (shared by the run's agents)")}\n${block(clipText(e.text, opts.limits.systemPrompt), '')}`
      : null,
  task: (e) => `${heading('The task')}\n${e.text}`,
  repair: (e, opts) =>
    `${heading(`Verification failed (repair round ${e.round} of ${e.of})`)}\nForeman sent the failing check back to the agent:\n${block(clipText(e.failure, opts.limits.note), '')}`,
  changes: (e, opts) =>
    `${heading(`Changes requested by the ${e.by}`)}\n${block(clipText(e.comments, opts.limits.note), '')}`,
  resumed: () => `${heading('Resumed')}\nForeman was interrupted and resumed this task in its worktree.`,
  nudge: () => '(Foreman asked the agent to continue with tool calls.)',
  note: (e, opts) => `${heading('Message from Foreman')}\n${block(clipText(e.text, opts.limits.note), '')}`,
  step: (e, opts) => {
    const parts = [heading(`Step ${e.step}`)];
    if (e.text) parts.push(e.text);
    for (const call of e.calls) parts.push(callLines(call, opts.limits));
    if (parts.length === 1) parts.push('(The model answered with nothing.)');
    return parts.join('\n');
  },
  compacted: (e) => `${heading('Conversation compacted')}\n${compactionWords(e.record)}`,
  strayResult: (e, opts) =>
    `Result of an unknown call ${e.toolCallId}:\n${block(clipText(e.text, opts.limits.toolResult), '')}`,
};

function entryLines(entry: ConversationEntry, opts: TranscriptTextOptions): string | null {
  return (LINES[entry.kind] as (e: ConversationEntry, o: TranscriptTextOptions) => string | null)(entry, opts);
}

/** The transcript of one task as terminal text, ending in a newline. */
export function transcriptText(
  messages: readonly ChatMessage[],
  header: TranscriptTextHeader,
  opts: TranscriptTextOptions,
): string {
  const view = readConversation(messages, header.compactions);
  const name = header.title ? `${header.taskId} (${header.title})` : header.taskId;
  const count = (n: number, what: string) => `${n} ${what}${n === 1 ? '' : 's'}`;
  const sections = [
    `Transcript of task ${name}, run ${header.runId}: ${header.status}, ${count(view.turns, 'model turn')}, ${count(view.calls, 'tool call')}.`,
  ];
  for (const entry of view.entries) {
    const lines = entryLines(entry, opts);
    if (lines !== null) sections.push(lines);
  }
  if (messages.length === 0) sections.push('The task has no conversation yet: its agent has not started.');
  return `${visibleControls(sections.join('\n\n'))}\n`;
}
