/**
 * One attempt of a streamed chat-completions request: send it, read the stream under a request
 * time-out and an idle (stall) time-out, assemble content and tool calls, and turn every failure
 * into a value saying whether it may be retried.
 */
import OpenAI, { type APIError } from 'openai';
import type { ChatCompletionChunk, ChatCompletionCreateParamsStreaming } from 'openai/resources/chat/completions';
import type { ModelErrorReason, ModelRequest, ToolCall, Usage } from '../core/model';
import { parseRetryAfter } from './openaiRetry';
import { estimateTokens } from './tokenEstimate';
import { errorMessage } from '../core/errors';
import { isContextLengthError } from '../core/compaction';

/** A whole answer, before structured-output handling and attempt counting. */
export interface AttemptAnswer {
  content: string;
  toolCalls: ToolCall[];
  finishReason: string;
  usage: Usage;
  ttftMs: number | null;
  durationMs: number;
  model: string | null;
}

/** A failed attempt. `retryAfterMs` is what the server asked for, if anything. */
export interface AttemptFailure {
  reason: ModelErrorReason;
  retryable: boolean;
  message: string;
  status?: number;
  retryAfterMs: number | null;
  cause?: unknown;
}

/** The outcome of one attempt: expected failures are values, not exceptions. */
export type AttemptOutcome = ({ ok: true } & AttemptAnswer) | ({ ok: false } & AttemptFailure);

/** What one attempt needs. */
export interface AttemptInput {
  sdk: OpenAI;
  params: ChatCompletionCreateParamsStreaming;
  /** The original request, for a token estimate when the server reports no usage. */
  request: ModelRequest;
  signal?: AbortSignal;
  requestTimeoutMs: number;
  idleTimeoutMs: number;
  onDelta?: (text: string) => void;
  now: () => number;
}

type AbortCause = 'user' | 'timeout' | 'idle';

/** Run one attempt; never throws for network, HTTP or stream failures. */
export async function runAttempt(input: AttemptInput): Promise<AttemptOutcome> {
  const controller = new AbortController();
  let cause: AbortCause | null = null;
  const stop = (why: AbortCause) => (): void => {
    cause ??= why;
    controller.abort();
  };
  const onUserAbort = stop('user');
  if (input.signal?.aborted) onUserAbort();
  input.signal?.addEventListener('abort', onUserAbort, { once: true });
  const overall = setTimeout(stop('timeout'), input.requestTimeoutMs);
  let idle: ReturnType<typeof setTimeout> | undefined;
  const onIdle = stop('idle');
  const touch = (): void => {
    // One timer per attempt, pushed back on every chunk (no new timer per chunk).
    if (idle === undefined) idle = setTimeout(onIdle, input.idleTimeoutMs);
    else idle.refresh();
  };
  const started = input.now();
  const assembly = new Assembly(input.onDelta);
  try {
    // The idle clock runs from the moment the request goes out: a server that never sends its
    // headers is as stalled as one that stops mid-stream, and is retried the same way.
    touch();
    const stream = await input.sdk.chat.completions.create(input.params, { signal: controller.signal });
    touch();
    for await (const chunk of stream) {
      touch();
      assembly.add(chunk, input.now() - started);
    }
    // The SDK ends the loop quietly when its request is aborted, so the cause is checked here.
    if (cause !== null) return abortFailure(cause, input);
    if (assembly.finishReason === null) {
      return failure('connection', true, 'the stream ended before the model finished (no finish_reason)');
    }
    return { ok: true, ...assembly.answer(input.request, input.now() - started) };
  } catch (e) {
    return cause !== null ? abortFailure(cause, input) : classifyError(e);
  } finally {
    clearTimeout(overall);
    clearTimeout(idle);
    input.signal?.removeEventListener('abort', onUserAbort);
  }
}

function failure(
  reason: ModelErrorReason,
  retryable: boolean,
  message: string,
  extra: Partial<AttemptFailure> = {},
): AttemptOutcome {
  return { ok: false, reason, retryable, message, retryAfterMs: null, ...extra };
}

function abortFailure(cause: AbortCause, input: AttemptInput): AttemptOutcome {
  if (cause === 'user') return failure('aborted', false, 'the model request was aborted');
  if (cause === 'idle') return failure('idle_timeout', true, `no data from the server for ${input.idleTimeoutMs} ms`);
  return failure('timeout', false, `the request took longer than ${input.requestTimeoutMs} ms`);
}

const RETRYABLE_STATUS = new Set([429, 500, 502, 503, 504]);

/** Map an error thrown by the SDK or the stream to a failure value. */
function classifyError(e: unknown): AttemptOutcome {
  const message = errorMessage(e);
  if (e instanceof OpenAI.APIConnectionTimeoutError) return failure('timeout', false, message, { cause: e });
  if (e instanceof OpenAI.APIConnectionError || e instanceof OpenAI.APIUserAbortError) {
    return failure('connection', true, message, { cause: e });
  }
  if (e instanceof OpenAI.APIError) {
    // instanceof narrows to APIError<any, any>; these are the class's declared defaults.
    const apiError = e as APIError;
    const status = apiError.status;
    if (status === undefined) return failure('server_error', true, message, { cause: e }); // error event mid-stream
    const extra = { status, cause: e, retryAfterMs: parseRetryAfter(apiError.headers, Date.now()) }; // HTTP dates are wall-clock
    if (status === 429) return failure('rate_limited', true, message, extra);
    if (RETRYABLE_STATUS.has(status)) return failure('server_error', true, message, extra);
    if (status === 408) return failure('timeout', true, message, extra);
    if (status === 401 || status === 403) return failure('auth', false, message, extra);
    if (status >= 500) return failure('server_error', false, message, extra);
    if (isContextLengthError(message, apiError.code ?? apiError.type))
      return failure('context_length', false, message, extra);
    return failure('bad_request', false, message, extra);
  }
  if (e instanceof SyntaxError)
    return failure('malformed', true, `the server sent a malformed chunk: ${message}`, { cause: e });
  return failure('connection', true, `the connection failed or was cut mid-stream: ${message}`, { cause: e });
}

interface Slot {
  id: string;
  name: string;
  arguments: string;
}

/** Accumulates streamed chunks into one answer. */
class Assembly {
  content = '';
  finishReason: string | null = null;
  private readonly slots: Slot[] = [];
  private readonly byIndex = new Map<number, Slot>();
  private usage: ChatCompletionChunk['usage'] = null;
  private model: string | null = null;
  private ttftMs: number | null = null;

  constructor(private readonly onDelta?: (text: string) => void) {}

  add(chunk: ChatCompletionChunk, elapsedMs: number): void {
    if (typeof chunk.model === 'string' && chunk.model.length > 0) this.model = chunk.model;
    if (chunk.usage) this.usage = chunk.usage;
    for (const choice of chunk.choices ?? []) {
      if (typeof choice.index === 'number' && choice.index !== 0) continue;
      const delta = choice.delta ?? {};
      if (typeof delta.content === 'string' && delta.content.length > 0) {
        this.ttftMs ??= elapsedMs;
        this.content += delta.content;
        this.emit(delta.content);
      }
      (delta.tool_calls ?? []).forEach((call, position) => {
        this.ttftMs ??= elapsedMs;
        this.mergeCall(call, position);
      });
      if (choice.finish_reason) this.finishReason = choice.finish_reason;
    }
  }

  private emit(text: string): void {
    try {
      this.onDelta?.(text);
    } catch {
      // A display callback must not fail the request; its error is deliberately dropped.
    }
  }

  /** Merge a tool-call delta by index; a new id at a used index (seen on some servers) opens a new call. */
  private mergeCall(call: ChatCompletionChunk.Choice.Delta.ToolCall, position: number): void {
    const index = typeof call.index === 'number' ? call.index : position;
    let slot = this.byIndex.get(index);
    if (!slot || (call.id && slot.id && call.id !== slot.id)) {
      slot = { id: '', name: '', arguments: '' };
      this.slots.push(slot);
      this.byIndex.set(index, slot);
    }
    if (call.id) slot.id = call.id;
    if (call.function?.name) slot.name += call.function.name;
    if (call.function?.arguments) slot.arguments += call.function.arguments;
  }

  answer(request: ModelRequest, durationMs: number): AttemptAnswer {
    const toolCalls = this.slots.map((s, i) => ({ id: s.id || `call_${i}`, name: s.name, arguments: s.arguments }));
    return {
      content: this.content,
      toolCalls,
      finishReason: this.finishReason ?? 'stop',
      usage: this.usageOrEstimate(request, toolCalls),
      ttftMs: this.ttftMs,
      durationMs,
      model: this.model,
    };
  }

  private usageOrEstimate(request: ModelRequest, toolCalls: ToolCall[]): Usage {
    const u = this.usage;
    if (u) {
      const cached = u.prompt_tokens_details?.cached_tokens;
      const reasoning = u.completion_tokens_details?.reasoning_tokens;
      return {
        promptTokens: u.prompt_tokens ?? 0,
        completionTokens: u.completion_tokens ?? 0,
        cachedTokens: typeof cached === 'number' ? cached : null,
        reasoningTokens: typeof reasoning === 'number' ? reasoning : null,
        estimated: false,
      };
    }
    const output = this.content + toolCalls.map((c) => c.name + c.arguments).join('');
    return {
      promptTokens: estimatePrompt(request),
      completionTokens: estimateTokens(output),
      cachedTokens: null,
      reasoningTokens: null,
      estimated: true,
    };
  }
}

/** Estimate of the prompt: every message's text and tool calls, plus the tool schemas. */
function estimatePrompt(request: ModelRequest): number {
  let text = '';
  for (const m of request.messages) {
    text += `${m.role}\n${m.content ?? ''}\n`;
    if (m.role === 'assistant') for (const c of m.toolCalls ?? []) text += `${c.name} ${c.arguments}\n`;
  }
  if (request.tools && request.tools.length > 0) text += JSON.stringify(request.tools);
  return estimateTokens(text);
}
