/**
 * Compaction of an agent's conversation when the backend says it no longer fits the model's
 * context window. Pure and deterministic: the same conversation and the same number of turns kept
 * give the same bytes.
 *
 * What is kept byte for byte: everything before the model's first turn (the run's shared system
 * prompt, whose bytes every agent's prefix cache shares, and the task with its acceptance
 * criteria), every note from Foreman (failed checks, requested changes), and the last `keepTurns`
 * model turns with their tool results. No message is removed, so every tool result still answers
 * the call it answered and the turn count the model sees is unchanged. What shrinks, in the older
 * turns only: each long tool result becomes one line saying what it was
 * (`[read_file src/x.ts: 240 lines, 9,812 characters, elided to fit the context window]`), long
 * strings in tool-call arguments (file contents written) and long model text are cut the same way.
 *
 * Also here: recognising a context-length refusal in a server's error text, the window and the
 * prompt size it names, and the arithmetic of single requests that answer a refusal by cutting
 * one part of their prompt (the reviewer's diff, the planner's repository view): how much of the
 * part to send next (`nextPartSize`) and the cut with its marker (`cutToFit`).
 */
import type { ChatMessage, ToolCall } from './model';

/** Tool results up to this many characters are left as they are (e.g. "wrote src/x.ts"). */
const SHORT_RESULT = 240;
/** Argument strings and model text longer than this are cut in older turns. */
const LONG_STRING = 200;
/** How much of a long model text an older turn keeps. */
const KEPT_TEXT = 160;

/** The most recent model turns left whole, from the first compaction down to the last. */
export const KEEP_TURNS_START = 8;
export const KEEP_TURNS_MIN = 1;

/** What one compaction did. */
export interface Compaction {
  messages: ChatMessage[];
  /** Messages whose content was shortened (0: nothing left to shorten at this setting). */
  elided: number;
}

/** The conversation with older turns shortened, keeping the last `keepTurns` model turns whole. */
export function compactConversation(messages: readonly ChatMessage[], keepTurns: number): Compaction {
  const firstTurn = messages.findIndex((m) => m.role === 'assistant');
  if (firstTurn < 0) return { messages: [...messages], elided: 0 };
  const turns = messages.flatMap((m, i) => (m.role === 'assistant' ? [i] : []));
  const recentFrom = turns.length > keepTurns ? turns[turns.length - keepTurns] : firstTurn;
  const calls = new Map<string, ToolCall>();
  let elided = 0;
  const out = messages.map((m, i) => {
    if (m.role === 'assistant') for (const c of m.toolCalls ?? []) calls.set(c.id, c);
    if (i < firstTurn || i >= recentFrom) return m;
    const shorter = shorten(m, calls);
    if (shorter !== m) elided += 1;
    return shorter;
  });
  return { messages: out, elided };
}

function shorten(m: ChatMessage, calls: ReadonlyMap<string, ToolCall>): ChatMessage {
  if (m.role === 'tool') {
    if (m.content.length <= SHORT_RESULT || isElided(m.content)) return m;
    return { ...m, content: resultSummary(m.content, calls.get(m.toolCallId)) };
  }
  if (m.role !== 'assistant') return m;
  const long = m.content !== null && m.content.length > LONG_STRING && !m.content.endsWith(`${ELIDED_MARK}]`);
  const content = long && m.content !== null ? cutText(m.content) : m.content;
  let changed = content !== m.content;
  const toolCalls = m.toolCalls?.map((c) => {
    const args = shortArguments(c.arguments);
    if (args === c.arguments) return c;
    changed = true;
    return { ...c, arguments: args };
  });
  if (!changed) return m;
  return toolCalls ? { role: 'assistant', content, toolCalls } : { role: 'assistant', content };
}

const ELIDED_MARK = 'elided to fit the context window';

function isElided(text: string): boolean {
  return text.startsWith('[') && text.endsWith(`${ELIDED_MARK}]`);
}

function count(n: number, what: string): string {
  return `${n.toLocaleString('en-US')} ${what}${n === 1 ? '' : 's'}`;
}

/** One line saying what a tool result was: the tool, what it acted on, its size. */
function resultSummary(content: string, call: ToolCall | undefined): string {
  const target = call ? targetOf(call.arguments) : null;
  const what = call ? `${call.name}${target ? ` ${target}` : ''}` : 'tool result';
  const lines = content.split('\n').length;
  return `[${what}: ${count(lines, 'line')}, ${count(content.length, 'character')}, ${ELIDED_MARK}]`;
}

/** What a call acted on: its path, command or pattern (the first short string argument otherwise). */
function targetOf(args: string): string | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(args);
  } catch {
    // Arguments that are not JSON name nothing we can show.
    return null;
  }
  if (parsed === null || typeof parsed !== 'object') return null;
  const record = parsed as Record<string, unknown>;
  const named = ['path', 'command', 'pattern', 'query'].map((k) => record[k]).find((v) => typeof v === 'string');
  const value = named ?? Object.values(record).find((v) => typeof v === 'string');
  if (typeof value !== 'string') return null;
  const line = value.replace(/\s+/g, ' ').trim();
  return line.length > 80 ? `${line.slice(0, 79)}…` : line;
}

function cutText(text: string): string {
  return `${text.slice(0, KEPT_TEXT)}… [${count(text.length - KEPT_TEXT, 'more character')}, ${ELIDED_MARK}]`;
}

/** Arguments with long strings replaced by their size; unchanged (same string) when nothing is long. */
function shortArguments(args: string): string {
  if (args.length <= LONG_STRING) return args;
  let parsed: unknown;
  try {
    parsed = JSON.parse(args);
  } catch {
    // Not JSON: the model sent it so; leave it as it was sent.
    return args;
  }
  let changed = false;
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string' && v.length > LONG_STRING) {
      changed = true;
      return `[${count(v.length, 'character')}, ${ELIDED_MARK}]`;
    }
    if (Array.isArray(v)) return v.map(walk);
    if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
    return v;
  };
  const out = walk(parsed);
  return changed ? JSON.stringify(out) : args;
}

/**
 * A rough token count of a conversation (about four characters a token), for the journal's
 * before/after figures: an estimate, and said to be one wherever it is shown.
 */
export function approxTokens(messages: readonly ChatMessage[]): number {
  let chars = 0;
  for (const m of messages) {
    chars += m.content?.length ?? 0;
    if (m.role === 'assistant') for (const c of m.toolCalls ?? []) chars += c.name.length + c.arguments.length;
  }
  return Math.ceil(chars / 4);
}

/**
 * True when a server's error says the request does not fit the model's context window:
 * OpenAI's `context_length_exceeded` code; vLLM's and OpenAI's "maximum context length is N tokens";
 * vLLM's renderer "exceeds model's maximum context length"; llama.cpp's "exceeds the available
 * context size" (type `exceed_context_size_error`); SGLang's "is longer than the model's context
 * length"; TGI's "`inputs` tokens + `max_new_tokens` must be <= N".
 */
export function isContextLengthError(message: string, code?: unknown): boolean {
  if (code === 'context_length_exceeded' || code === 'exceed_context_size_error') return true;
  return CONTEXT_LENGTH.some((re) => re.test(message));
}

const CONTEXT_LENGTH = [
  /maximum context length/i,
  /context_length_exceeded/i,
  /exceeds? the available context size|exceed_context_size_error/i,
  /longer than the model'?s context length/i,
  /inputs`? tokens \+ `?max_new_tokens`? must be <=/i,
];

/** The context window (tokens) a context-length error names, or null when it names none. */
export function contextWindowIn(message: string): number | null {
  for (const re of WINDOW) {
    const m = re.exec(message);
    if (m) return Number(m[1]);
  }
  return null;
}

const WINDOW = [
  /maximum context length is (\d+)/i,
  /maximum context length \((\d+)\)/i,
  /available context size \((\d+) tokens?\)/i,
  /"n_ctx"\s*:\s*(\d+)/,
  /context length \((\d+) tokens?\)/i,
  /must be <= (\d+)/i,
];

/**
 * The prompt's size in tokens a context-length error names, or null when it names none: vLLM's
 * "your request has N input tokens" (older: "you requested N tokens in the messages"), OpenAI's
 * "your messages resulted in N tokens" or "(N in the messages, …)", llama.cpp's "request (N
 * tokens)", SGLang's "The input (N tokens)", vLLM's renderer "Input length (N)", TGI's "Given: N"
 * (which counts the output tokens asked for too).
 */
export function promptTokensIn(message: string): number | null {
  for (const re of PROMPT_TOKENS) {
    const m = re.exec(message);
    if (m) return Number(m[1]);
  }
  return null;
}

const PROMPT_TOKENS = [
  /\((\d+) in the messages/i,
  /your request has (\d+) input tokens/i,
  /resulted in (\d+) tokens/i,
  /you requested (\d+) tokens/i,
  /request \((\d+) tokens?\)/i,
  /the input \((\d+) tokens?\)/i,
  /input length \((\d+)\)/i,
  /given: (\d+)/i,
];

/** Share of the window a shortened prompt aims at, leaving room for the backend's own count to differ. */
const FIT_SHARE = 0.9;

/**
 * After a context-length refusal of a prompt of `promptChars` characters, of which `partChars` were
 * a part that may be cut (a diff, a repository view), how many characters of that part to send
 * next. When the refusal names both the window and the prompt's tokens, the backend's own
 * characters-per-token ratio sizes the part so the prompt comes to 90% of the window; otherwise
 * (or when that would not be smaller) the part is halved. Never below `floor`: a size under it
 * becomes `floor`. Null when no cut can make the prompt fit: the rest of the prompt alone is over
 * the window, or the part is already no longer than `floor`.
 */
export function nextPartSize(
  sent: { promptChars: number; partChars: number },
  refusal: string,
  floor = 0,
): number | null {
  if (sent.partChars <= floor) return null;
  const window = contextWindowIn(refusal);
  const tokens = promptTokensIn(refusal);
  const rest = sent.promptChars - sent.partChars;
  let next = Math.floor(sent.partChars / 2);
  if (window !== null && tokens !== null && tokens > 0) {
    const fits = (window * sent.promptChars) / tokens;
    if (rest >= fits) return null;
    const aim = Math.floor(fits * FIT_SHARE) - rest;
    if (aim < sent.partChars) next = Math.max(0, aim);
  }
  return Math.max(next, floor);
}

/** A part of a prompt as `cutToFit` left it: the text to send and how many of its characters are shown. */
export interface Cut {
  text: string;
  shown: number;
}

/**
 * `text` cut to at most `maxChars` characters (at a line's end when one is in its second half),
 * followed by one line saying what was cut and how much: `[the diff cut to fit the model's context
 * window: 9,812 characters of 52,000 not shown]`. `total` is the full size when `text` is itself
 * already a cut (default: its length). A text that loses nothing comes back as it was.
 */
export function cutToFit(text: string, maxChars: number, what: string, total = text.length): Cut {
  let kept = text.slice(0, Math.max(0, maxChars));
  const lineEnd = kept.lastIndexOf('\n');
  if (kept.length < text.length && lineEnd > maxChars / 2) kept = kept.slice(0, lineEnd + 1);
  const hidden = total - kept.length;
  if (hidden <= 0) return { text, shown: text.length };
  const gap = kept === '' || kept.endsWith('\n') ? '' : '\n';
  const marker = `[${what} cut to fit the model's context window: ${count(hidden, 'character')} of ${total.toLocaleString('en-US')} not shown]\n`;
  return { text: `${kept}${gap}${marker}`, shown: kept.length };
}
