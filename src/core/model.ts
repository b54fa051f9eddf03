/**
 * The model port: what the core needs from an inference backend. One implementation talks to any
 * OpenAI-compatible server (src/infra/openaiClient.ts); tests may drive the core with scripted
 * fakes that implement the same interface.
 */

/** A tool call the model asked for, assembled from the stream. `arguments` is the raw JSON text. */
export interface ToolCall {
  id: string;
  name: string;
  arguments: string;
}

/** One message of a chat conversation, in the OpenAI chat-completions shape. */
export type ChatMessage =
  | { role: 'system'; content: string }
  | { role: 'user'; content: string }
  | { role: 'assistant'; content: string | null; toolCalls?: ToolCall[] }
  | { role: 'tool'; toolCallId: string; content: string };

/** A function tool offered to the model. `parameters` is a JSON Schema object. */
export interface ToolSchema {
  name: string;
  description: string;
  parameters: Record<string, unknown>;
}

/**
 * Token usage of one request. A field the server did not report is `null` ("not reported"),
 * never zero. When the server reported no usage at all, the counts are a tokenizer estimate and
 * `estimated` is true.
 */
export interface Usage {
  promptTokens: number;
  completionTokens: number;
  cachedTokens: number | null;
  reasoningTokens: number | null;
  estimated: boolean;
}

/** Timing of one request, measured by the client. */
export interface RequestTiming {
  /** Milliseconds from sending the request to the first streamed content or tool-call delta. */
  ttftMs: number | null;
  /** Milliseconds from sending the (last, successful) attempt to the end of the stream. */
  durationMs: number;
  /** Output tokens per second over the generation phase (after the first token). */
  outputTokensPerSec: number | null;
}

/** What a caller asks of the model. */
export interface ModelRequest {
  messages: ChatMessage[];
  tools?: ToolSchema[];
  /**
   * Ask for JSON that matches this schema. The client uses `response_format: json_schema` when the
   * backend supports it; otherwise it falls back (see `ModelClient.complete`).
   */
  responseFormat?: { name: string; schema: Record<string, unknown> };
  maxTokens?: number;
  temperature?: number;
}

/** The model's complete answer to one request, after any retries. */
export interface ModelResponse {
  content: string;
  toolCalls: ToolCall[];
  finishReason: string;
  usage: Usage;
  timing: RequestTiming;
  /** The model name the server reported (or the configured one). */
  model: string;
  /** How many attempts the request took (1 when it succeeded at once). */
  attempts: number;
}

/** Why a model request failed, for callers that act on the cause. */
export type ModelErrorReason =
  | 'rate_limited'
  | 'server_error'
  | 'connection'
  | 'timeout'
  | 'idle_timeout'
  | 'aborted'
  | 'auth'
  | 'bad_request'
  /** The request does not fit the model's context window (core/compaction.ts recognises the servers' words). */
  | 'context_length'
  | 'malformed';

/** A model request that failed for good (after retries where the cause is retryable). */
export class ModelError extends Error {
  override readonly name = 'ModelError';
  constructor(
    readonly reason: ModelErrorReason,
    message: string,
    readonly status?: number,
    override readonly cause?: unknown,
  ) {
    super(message);
  }

  static is(e: unknown): e is ModelError {
    return e instanceof ModelError;
  }
}

/** Options every model call takes. */
export interface CallOptions {
  signal?: AbortSignal;
  /** Called with each streamed text delta, for live display. Must not throw. */
  onDelta?: (text: string) => void;
}

/**
 * A chat-completions client bound to one endpoint and model.
 *
 * Contract: `complete` resolves only with a whole, well-formed response; a stream cut halfway is
 * retried (or fails) before anything is returned, so a caller that runs tool calls only after
 * `complete` resolves never runs a tool twice because of a retry. It rejects with `ModelError`.
 */
export interface ModelClient {
  /** The base URL of the endpoint, for the ledger. */
  readonly endpoint: string;
  /** The configured model name. */
  readonly model: string;
  complete(request: ModelRequest, options?: CallOptions): Promise<ModelResponse>;
}
