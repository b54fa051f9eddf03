/**
 * Mapping between the core's model types and the chat-completions wire format, including the
 * three ways of asking for structured (JSON) output.
 */
import type {
  ChatCompletionCreateParamsStreaming,
  ChatCompletionFunctionTool,
  ChatCompletionMessageParam,
} from 'openai/resources/chat/completions';
import type { ChatMessage, ModelRequest, ToolCall, ToolSchema } from '../core/model';

/**
 * How JSON output is requested: the server's `response_format: json_schema`, a single forced
 * tool whose parameters are the schema, or the schema spelled out in the system prompt.
 */
export type StructuredMode = 'json_schema' | 'tool' | 'json_instructions';

/** Map core messages (camelCase) to wire messages; an empty tool-call list is left out. */
export function toWireMessages(messages: ChatMessage[]): ChatCompletionMessageParam[] {
  return messages.map((m): ChatCompletionMessageParam => {
    switch (m.role) {
      case 'system':
      case 'user':
        return { role: m.role, content: m.content };
      case 'tool':
        return { role: 'tool', tool_call_id: m.toolCallId, content: m.content };
      case 'assistant': {
        if (!m.toolCalls || m.toolCalls.length === 0) return { role: 'assistant', content: m.content };
        const toolCalls = m.toolCalls.map((c) => ({
          id: c.id,
          type: 'function' as const,
          function: { name: c.name, arguments: c.arguments },
        }));
        return { role: 'assistant', content: m.content, tool_calls: toolCalls };
      }
    }
  });
}

/** Map tool schemas to wire function tools, keeping their order. */
export function toWireTools(tools: ToolSchema[]): ChatCompletionFunctionTool[] {
  return tools.map((t) => ({
    type: 'function',
    function: { name: t.name, description: t.description, parameters: t.parameters },
  }));
}

/** A name the OpenAI API accepts for a schema or a function (letters, digits, _ and -, ≤ 64). */
export function wireName(name: string): string {
  const cleaned = name.replace(/[^a-zA-Z0-9_-]/g, '_').slice(0, 64);
  return cleaned.length > 0 ? cleaned : 'response';
}

/** The system-prompt text used in `json_instructions` mode. */
export function jsonInstructions(schema: Record<string, unknown>): string {
  return [
    'Answer with a single JSON value that conforms to the following JSON Schema.',
    'Output only the JSON itself: no explanation, no Markdown, no code fences.',
    JSON.stringify(schema),
  ].join('\n');
}

function withInstructions(
  messages: ChatCompletionMessageParam[],
  schema: Record<string, unknown>,
): ChatCompletionMessageParam[] {
  const note = jsonInstructions(schema);
  const first = messages[0];
  if (first && first.role === 'system' && typeof first.content === 'string') {
    // Appended to the existing system prompt: some chat templates accept only one system message.
    return [{ role: 'system', content: `${first.content}\n\n${note}` }, ...messages.slice(1)];
  }
  return [{ role: 'system', content: note }, ...messages];
}

/**
 * The streamed request body for `request` on `model`. With a response format, `mode` says how it
 * is asked for; in `tool` mode the request's own tools are replaced by the single forced tool.
 * `options.streamUsage: false` leaves `stream_options.include_usage` out.
 */
export function buildParams(
  request: ModelRequest,
  model: string,
  mode: StructuredMode | null,
  options: { streamUsage?: boolean } = {},
): ChatCompletionCreateParamsStreaming {
  const params: ChatCompletionCreateParamsStreaming = {
    model,
    messages: toWireMessages(request.messages),
    stream: true,
  };
  // A server known to refuse or ignore `stream_options` is not sent it (usage is then estimated).
  if (options.streamUsage !== false) params.stream_options = { include_usage: true };
  if (request.maxTokens !== undefined) params.max_tokens = request.maxTokens;
  if (request.temperature !== undefined) params.temperature = request.temperature;
  let tools = request.tools ?? [];
  const format = request.responseFormat;
  if (format && mode === 'json_schema') {
    params.response_format = {
      type: 'json_schema',
      json_schema: { name: wireName(format.name), schema: format.schema, strict: true },
    };
  } else if (format && mode === 'tool') {
    const name = wireName(format.name);
    tools = [
      { name, description: `Return the ${format.name} as the arguments of this call.`, parameters: format.schema },
    ];
    params.tool_choice = { type: 'function', function: { name } };
  } else if (format && mode === 'json_instructions') {
    params.messages = withInstructions(params.messages, format.schema);
  }
  if (tools.length > 0) params.tools = toWireTools(tools);
  return params;
}

/** Remove code fences (and a leading `<think>` block) that a model may wrap around JSON. */
export function stripJsonWrapping(text: string): string {
  let t = text.trim().replace(/^<think>[\s\S]*?<\/think>\s*/, '');
  const fenced = /^```[a-zA-Z0-9_-]*\s*\n([\s\S]*?)\n?```$/.exec(t);
  if (fenced) t = fenced[1].trim();
  return t;
}

/**
 * Move the structured answer into `content`: in `tool` mode it is the forced call's arguments
 * (the call itself is removed); in `json_instructions` mode the text is unwrapped.
 */
export function structuredContent(
  mode: StructuredMode,
  formatName: string,
  content: string,
  toolCalls: ToolCall[],
): { content: string; toolCalls: ToolCall[]; fromTool: boolean } {
  if (mode === 'tool') {
    const call = toolCalls.find((c) => c.name === wireName(formatName)) ?? toolCalls[0];
    if (call) return { content: call.arguments, toolCalls: toolCalls.filter((c) => c !== call), fromTool: true };
  }
  if (mode === 'json_instructions') return { content: stripJsonWrapping(content), toolCalls, fromTool: false };
  return { content, toolCalls, fromTool: false };
}
