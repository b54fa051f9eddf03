/**
 * A task's conversation read for people: the messages a transcript holds, turned into what a
 * reader follows (the task, each model step with its tool calls and their results, the notes
 * Foreman sent back: failed verification, changes requested, resumes). The Lead panel renders it
 * as Markdown (src/app/transcriptMarkdown.ts) and `foreman transcript` as terminal text
 * (src/cli/transcriptText.ts); both cut long texts with the helpers below. Pure: no I/O.
 */
import type { CompactionRecord } from './journal';
import type { ChatMessage, ToolCall } from './model';
import { findTask, taskMarker } from './promptMarkers';
import { changesRequestedPrompt, NUDGE_USE_TOOLS, repairPrompt, RESUMED_NOTE } from './prompts';

/** How much of each long text a transcript shows. */
export interface TranscriptLimits {
  /** Characters of one tool result. */
  toolResult: number;
  /** Characters of one string value in a tool call's arguments (file contents, replacement text). */
  argumentString: number;
  /** Characters of the shared system prompt. */
  systemPrompt: number;
  /** Characters of one note from Foreman (a failure tail, a comment). */
  note: number;
}

/** The limits used when none are given. */
export const DEFAULT_TRANSCRIPT_LIMITS: TranscriptLimits = {
  toolResult: 4000,
  argumentString: 1500,
  systemPrompt: 6000,
  note: 6000,
};

/** No cuts at all. */
export const UNLIMITED_TRANSCRIPT: TranscriptLimits = {
  toolResult: Infinity,
  argumentString: Infinity,
  systemPrompt: Infinity,
  note: Infinity,
};

/** One tool call of a step and its result (null while it has none). */
export interface CallView {
  call: ToolCall;
  result: string | null;
}

/** One part of a conversation, in order. Texts are whole: renderers cut them. */
export type ConversationEntry =
  /** The run's shared system prompt. */
  | { kind: 'system'; text: string }
  /** The task as the agent got it (its marker taken out). */
  | { kind: 'task'; text: string }
  /** Verification failed and Foreman sent the failure back. */
  | { kind: 'repair'; round: number; of: number; failure: string }
  /** The developer or the reviewer asked for changes. */
  | { kind: 'changes'; by: 'developer' | 'reviewer'; comments: string }
  /** Foreman was interrupted and resumed the task. */
  | { kind: 'resumed' }
  /** Foreman asked the agent to go on with tool calls. */
  | { kind: 'nudge' }
  /** Any other message from Foreman. */
  | { kind: 'note'; text: string }
  /** A model turn: its text (trimmed, maybe empty) and its tool calls. */
  | { kind: 'step'; step: number; text: string; calls: CallView[] }
  /** The backend found the conversation too long and the agent compacted it here (core/compaction.ts). */
  | { kind: 'compacted'; record: CompactionRecord }
  /** A tool result whose call is not in the conversation (a damaged transcript). */
  | { kind: 'strayResult'; toolCallId: string; text: string };

/** A conversation read for people. */
export interface ConversationView {
  entries: ConversationEntry[];
  /** Model turns and tool calls in all. */
  turns: number;
  calls: number;
}

/** Stands in for the variable part when a prompt is turned into a pattern. */
const SENTINEL = '\u0001BODY\u0001';

/** A compaction in words, for both renderers. */
export function compactionWords(r: CompactionRecord): string {
  const window =
    r.contextWindow === null ? "the model's context window" : `the model's context window of ${r.contextWindow} tokens`;
  return (
    `The backend refused the next request as too long for ${window}, so Foreman shortened ${r.elided} ` +
    `older message${r.elided === 1 ? '' : 's'} (tool outputs and long arguments, keeping the last ${r.keptTurns} ` +
    `turn${r.keptTurns === 1 ? '' : 's'} whole): about ${r.tokensBefore} → ${r.tokensAfter} tokens (estimated). ` +
    'The messages above are shown as they were first sent.'
  );
}

/** A pattern for a prompt made by `filled` (with SENTINEL and the given numbers), capturing both. */
function promptPattern(filled: string, numbers: number[]): RegExp {
  let source = filled.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(SENTINEL, '([\\s\\S]*)');
  for (const n of numbers) source = source.replace(String(n), '(\\d+)');
  return new RegExp(`^${source}$`);
}

const REPAIR = promptPattern(repairPrompt(101, 202, SENTINEL), [101, 202]);
const DEVELOPER_CHANGES = promptPattern(changesRequestedPrompt('developer', SENTINEL), []);
const REVIEWER_CHANGES = promptPattern(changesRequestedPrompt('reviewer', SENTINEL), []);

/** What a user message of the conversation is: the task, or one of Foreman's notes. */
function userEntry(content: string): ConversationEntry {
  const task = findTask(content);
  if (task !== null) return { kind: 'task', text: content.replace(taskMarker(task), '').trim() };
  const repair = REPAIR.exec(content);
  if (repair) return { kind: 'repair', round: Number(repair[1]), of: Number(repair[2]), failure: repair[3] };
  for (const [pattern, by] of [
    [DEVELOPER_CHANGES, 'developer'],
    [REVIEWER_CHANGES, 'reviewer'],
  ] as const) {
    const m = pattern.exec(content);
    if (m) return { kind: 'changes', by, comments: m[1] };
  }
  if (content === RESUMED_NOTE) return { kind: 'resumed' };
  if (content === NUDGE_USE_TOOLS) return { kind: 'nudge' };
  return { kind: 'note', text: content };
}

/**
 * The conversation of one task as entries, each tool call paired with its result; `compactions`
 * (the task's `compacted` journal events) are placed where they happened.
 */
export function readConversation(
  messages: readonly ChatMessage[],
  compactions: readonly CompactionRecord[] = [],
): ConversationView {
  const results = new Map<string, string>();
  for (const m of messages) if (m.role === 'tool') results.set(m.toolCallId, m.content);
  const called = new Set<string>();
  const entries: ConversationEntry[] = [];
  let turns = 0;
  let calls = 0;
  const pending = [...compactions].sort((a, b) => a.atMessage - b.atMessage);
  let placed = 0;
  for (const [i, m] of messages.entries()) {
    for (; placed < pending.length && pending[placed].atMessage <= i; placed++)
      entries.push({ kind: 'compacted', record: pending[placed] });
    if (m.role === 'system') entries.push({ kind: 'system', text: m.content });
    else if (m.role === 'user') entries.push(userEntry(m.content));
    else if (m.role === 'assistant') {
      const toolCalls = m.toolCalls ?? [];
      for (const call of toolCalls) called.add(call.id);
      calls += toolCalls.length;
      entries.push({
        kind: 'step',
        step: ++turns,
        text: m.content?.trim() ?? '',
        calls: toolCalls.map((call) => ({ call, result: results.get(call.id) ?? null })),
      });
    } else if (!called.has(m.toolCallId)) {
      entries.push({ kind: 'strayResult', toolCallId: m.toolCallId, text: m.content });
    }
  }
  for (const record of pending.slice(placed)) entries.push({ kind: 'compacted', record });
  return { entries, turns, calls };
}

/** `text` cut to `max` characters, with a line saying how many were left out. */
export function clipText(text: string, max: number): string {
  if (text.length <= max) return text;
  const rest = text.length - max;
  return `${text.slice(0, max)}\n… [cut: ${rest} more character${rest === 1 ? '' : 's'} not shown]`;
}

/** Every string in a parsed JSON value cut to `max` characters. */
function clipStrings(value: unknown, max: number): unknown {
  if (typeof value === 'string')
    return value.length <= max
      ? value
      : `${value.slice(0, max)}… [cut: ${value.length - max} more characters not shown]`;
  if (Array.isArray(value)) return value.map((v) => clipStrings(v, max));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, clipStrings(v, max)]));
  }
  return value;
}

/** A tool call's arguments as pretty JSON with long strings cut; the raw text when it is not JSON. */
export function formatArguments(raw: string, maxString: number): { text: string; json: boolean } {
  try {
    return { text: JSON.stringify(clipStrings(JSON.parse(raw), maxString), null, 2), json: true };
  } catch {
    // Models sometimes send arguments that are not JSON; show what was sent.
    return { text: clipText(raw, maxString), json: false };
  }
}
