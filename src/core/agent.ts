/**
 * One agent's tool-calling loop. It knows nothing of git, journals or budgets: the caller gives it
 * a model, a tool executor and hooks, and gets back how the loop ended. Tool calls run only after
 * the model's whole response has arrived, one at a time, in the order the model gave them.
 */
import { approxTokens, compactConversation, contextWindowIn, KEEP_TURNS_MIN, KEEP_TURNS_START } from './compaction';
import type { BudgetHit, CompactionRecord } from './journal';
import { ModelError } from './model';
import type { ChatMessage, ModelClient, ModelResponse, ToolCall, ToolSchema } from './model';
import type { Clock } from './ports';
import { NUDGE_USE_TOOLS } from './prompts';
import type { ToolOutcome } from './tools';

/** Executes the agent's tool calls (bound to one worktree). */
export interface ToolExecutor {
  readonly schemas: readonly ToolSchema[];
  execute(call: ToolCall, signal: AbortSignal): Promise<ToolOutcome>;
}

/** Callbacks through which the loop reports what happens. They must not throw. */
export interface AgentHooks {
  /** Asked before every model request; a hit stops the loop without sending the request. */
  beforeRequest(): BudgetHit | null;
  onResponse(response: ModelResponse): void;
  onRequestError(error: ModelError): void;
  /** Every message appended to the conversation, in order (for the transcript). */
  onMessage(message: ChatMessage): void;
  onStep(step: number, tool: string | null): void;
  /** The backend found the conversation too long and the loop compacted it (core/compaction.ts). */
  onCompacted(record: CompactionRecord): void;
  /** A tool call ran for `durationMs` (clock ms) and came back with `outcome`. */
  onTool(step: number, call: ToolCall, outcome: ToolOutcome, durationMs: number): void;
}

export interface AgentLimits {
  /** Most model requests in this task, over all rounds. */
  maxSteps: number;
  /** Most tokens (input + output) in this task, over all rounds; null for no limit. */
  maxTokens: number | null;
  /** Wall-clock time (clock ms) after which no new step starts; null for none. */
  deadline: number | null;
}

export interface AgentInput {
  /** The conversation so far; the loop appends to this array. */
  messages: ChatMessage[];
  model: ModelClient;
  tools: ToolExecutor;
  limits: AgentLimits;
  clock: Clock;
  signal: AbortSignal;
  /** Steps and tokens already spent by this task in earlier rounds. */
  spent: { steps: number; tokens: number };
  hooks: AgentHooks;
}

export type AgentOutcome = { steps: number; tokens: number } & (
  | { status: 'finished'; summary: string }
  | { status: 'limit'; limit: 'steps' | 'tokens' | 'time'; message: string }
  | { status: 'budget'; hit: BudgetHit }
  | { status: 'stopped' }
  | { status: 'error'; message: string }
);

/** How many answers in a row without a tool call before the loop gives up. */
const MAX_IDLE_ANSWERS = 3;

/** Run the loop until the agent calls `finish`, a limit or budget is reached, or it is stopped. */
export async function runAgent(input: AgentInput): Promise<AgentOutcome> {
  const { messages, hooks, limits, signal } = input;
  let { steps, tokens } = input.spent;
  let idle = 0;
  let keepTurns = KEEP_TURNS_START;
  const append = (m: ChatMessage) => {
    messages.push(m);
    hooks.onMessage(m);
  };
  const end = <T extends object>(o: T) => ({ steps, tokens, ...o });

  while (true) {
    if (signal.aborted) return end({ status: 'stopped' as const });
    const limit = checkLimits(limits, steps, tokens, input.clock.now());
    if (limit) return end(limit);
    const hit = hooks.beforeRequest();
    if (hit) return end({ status: 'budget' as const, hit });

    steps += 1;
    hooks.onStep(steps, null);
    let response: ModelResponse;
    try {
      response = await input.model.complete({ messages, tools: [...input.tools.schemas] }, { signal });
    } catch (e) {
      if (!ModelError.is(e)) throw e;
      hooks.onRequestError(e);
      if (e.reason === 'aborted' || signal.aborted) return end({ status: 'stopped' as const });
      if (e.reason === 'context_length') {
        const kept = compact(messages, keepTurns, steps, e, hooks);
        if (kept === null) return end({ status: 'error' as const, message: doesNotFit(e) });
        keepTurns = kept;
        continue;
      }
      return end({ status: 'error' as const, message: `the backend failed (${e.reason}): ${e.message}` });
    }
    hooks.onResponse(response);
    tokens += response.usage.promptTokens + response.usage.completionTokens;
    append({
      role: 'assistant',
      content: response.content || null,
      toolCalls: response.toolCalls.length ? response.toolCalls : undefined,
    });

    if (response.toolCalls.length === 0) {
      idle += 1;
      if (idle >= MAX_IDLE_ANSWERS) {
        return end({ status: 'error' as const, message: `the model answered ${idle} times without calling a tool` });
      }
      append({ role: 'user', content: NUDGE_USE_TOOLS });
      continue;
    }
    idle = 0;
    const finished = await runToolCalls(input, steps, response.toolCalls, append);
    if (finished !== null) return end({ status: 'finished' as const, summary: finished });
  }
}

/**
 * Compact `messages` in place, keeping fewer recent turns whole until something shrinks. Returns
 * the turns kept, or null when nothing is left to shorten even at the minimum.
 */
function compact(messages: ChatMessage[], from: number, step: number, e: ModelError, hooks: AgentHooks): number | null {
  for (const keep of keepSettings(from)) {
    const c = compactConversation(messages, keep);
    if (c.elided === 0) continue;
    const tokensBefore = approxTokens(messages);
    messages.splice(0, messages.length, ...c.messages);
    hooks.onCompacted({
      step,
      atMessage: messages.length,
      tokensBefore,
      tokensAfter: approxTokens(messages),
      elided: c.elided,
      keptTurns: keep,
      contextWindow: contextWindowIn(e.message),
    });
    return keep;
  }
  return null;
}

/** The turns to keep whole, from `from` halving down to KEEP_TURNS_MIN (8, 4, 2, 1). */
function keepSettings(from: number): number[] {
  const out = [from];
  while (out[out.length - 1] > KEEP_TURNS_MIN) out.push(Math.max(KEEP_TURNS_MIN, out[out.length - 1] >> 1));
  return out;
}

/** Why a task ends when its conversation cannot be made to fit. */
function doesNotFit(e: ModelError): string {
  const window = contextWindowIn(e.message);
  const size = window === null ? "the model's context window" : `the model's context window of ${window} tokens`;
  return `the conversation no longer fits ${size}, even with every older tool output elided (the backend said: ${e.message})`;
}

/** Run one response's tool calls in order; returns the finish summary when the agent finished. */
async function runToolCalls(
  input: AgentInput,
  step: number,
  calls: ToolCall[],
  append: (m: ChatMessage) => void,
): Promise<string | null> {
  let finished: string | null = null;
  for (const call of calls) {
    if (finished !== null || input.signal.aborted) {
      // Every tool call must get an answer, or the next request is malformed for most servers.
      const why = finished !== null ? 'not run: finish was called first' : 'not run: the task was stopped';
      append({ role: 'tool', toolCallId: call.id, content: why });
      continue;
    }
    input.hooks.onStep(step, call.name);
    const started = input.clock.now();
    const outcome = await input.tools.execute(call, input.signal);
    input.hooks.onTool(step, call, outcome, input.clock.now() - started);
    append({ role: 'tool', toolCallId: call.id, content: outcome.content });
    if (outcome.finished) finished = outcome.finished.summary;
  }
  return finished;
}

function checkLimits(limits: AgentLimits, steps: number, tokens: number, now: number) {
  if (steps >= limits.maxSteps) {
    return {
      status: 'limit' as const,
      limit: 'steps' as const,
      message: `reached the limit of ${limits.maxSteps} steps`,
    };
  }
  if (limits.maxTokens !== null && tokens >= limits.maxTokens) {
    return {
      status: 'limit' as const,
      limit: 'tokens' as const,
      message: `reached the limit of ${limits.maxTokens} tokens`,
    };
  }
  if (limits.deadline !== null && now >= limits.deadline) {
    return { status: 'limit' as const, limit: 'time' as const, message: 'reached the time limit for the task' };
  }
  return null;
}
