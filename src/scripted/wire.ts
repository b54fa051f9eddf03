/**
 * Wire-format helpers of the scripted backend: how a scripted reply becomes chat-completions chunks or
 * a JSON body, how usage is estimated, and the simulated prefix cache.
 */
import type { Reply, WireMessage } from './server';

/** The JSON body of a non-streamed reply (`stream: false`). */
export function completionBody(
  reply: Reply,
  model: string,
  index: number,
  usage: Record<string, unknown> | null,
): unknown {
  const toolCalls = (reply.toolCalls ?? []).map((c, i) => ({
    id: `call_${index}_${i}`,
    type: 'function',
    function: { name: c.name, arguments: argText(c.arguments) },
  }));
  const message: Record<string, unknown> = { role: 'assistant', content: reply.content ?? null };
  if (toolCalls.length > 0) message.tool_calls = toolCalls;
  const finish = reply.finishReason ?? (toolCalls.length > 0 ? 'tool_calls' : 'stop');
  const out: Record<string, unknown> = {
    id: `chatcmpl-${index}`,
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model,
    choices: [{ index: 0, message, finish_reason: finish }],
  };
  if (usage) out.usage = usage;
  return out;
}

/** A message's text: its string content, or its text parts joined. */
export function contentText(m: WireMessage): string {
  return typeof m.content === 'string' ? m.content : (m.content ?? []).map((p) => p.text ?? '').join('');
}

/** Flatten messages into the text that counts as the prompt (and the prefix that can be cached). */
export function renderMessages(messages: WireMessage[]): string {
  let out = '';
  for (const m of messages) {
    out += `<${m.role}>${contentText(m)}`;
    for (const c of m.tool_calls ?? []) out += `<call ${c.function.name}>${c.function.arguments}`;
  }
  return out;
}

/**
 * The prompt a model server sees: the messages with the offered tools rendered where chat templates
 * put them (Qwen's and Hermes' templates: inside the system turn, after its text), so a change in
 * the tools changes every prompt from there on, as it does on a real server's prefix cache.
 */
export function renderPrompt(messages: WireMessage[], tools: readonly unknown[] | undefined): string {
  const text = renderMessages(messages);
  if (!tools?.length) return text;
  const rendered = `<tools>${JSON.stringify(tools)}</tools>`;
  if (messages[0]?.role !== 'system') return rendered + text;
  const first = renderMessages(messages.slice(0, 1));
  return first + rendered + text.slice(first.length);
}

const BLOCK = 64;

/**
 * Simulates a server's prefix cache: the prompt is hashed in 64-character blocks chained like a
 * paged KV cache; a new prompt reuses the longest run of blocks some earlier prompt had, then the
 * match is extended character by character against that earlier prompt.
 */
export class PrefixCache {
  private readonly blocks = new Map<number, string>();

  /** Characters of `prompt` shared with the longest matching earlier prompt; then remember it. */
  lookupAndAdd(prompt: string): number {
    if (this.blocks.size > 2_000_000) this.blocks.clear(); // a long-lived server evicts everything at once
    let hash = 0;
    let matched = 0;
    let earlier: string | undefined;
    let matching = true;
    for (let i = 0; i + BLOCK <= prompt.length; i += BLOCK) {
      const block = prompt.slice(i, i + BLOCK);
      hash = chainHash(hash, block);
      if (matching) {
        const found = this.blocks.get(hash);
        if (found !== undefined && found.slice(i, i + BLOCK) === block) {
          earlier = found;
          matched = i + BLOCK;
        } else {
          matching = false;
        }
      }
      this.blocks.set(hash, prompt);
    }
    if (earlier === undefined) return 0;
    while (matched < prompt.length && matched < earlier.length && prompt[matched] === earlier[matched]) matched++;
    return matched;
  }
}

/** A 53-bit string hash chained on the previous block's hash. */
function chainHash(prev: number, text: string): number {
  let h1 = 0xdeadbeef ^ prev;
  let h2 = 0x41c6ce57 ^ Math.floor(prev / 0x100000000);
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}

/**
 * The `usage` object a reply reports, or null for 'none'. 'auto' counts ~4 characters a token and
 * reports the cached prefix unless `reportCached` is false (then `prompt_tokens_details` is omitted).
 */
export function usageBody(
  reply: Reply,
  promptChars: number,
  cachedChars: number,
  reportCached: boolean,
): Record<string, unknown> | null {
  const spec = reply.usage ?? 'auto';
  if (spec === 'none') return null;
  let prompt: number;
  let completion: number;
  let cached: number | undefined;
  let reasoning: number | undefined;
  if (spec === 'auto') {
    const outChars =
      (reply.content ?? '').length +
      (reply.toolCalls ?? []).reduce((n, c) => n + c.name.length + argText(c.arguments).length, 0);
    prompt = Math.ceil(promptChars / 4);
    completion = Math.ceil(outChars / 4);
    cached = Math.min(prompt, Math.floor(cachedChars / 4));
  } else {
    ({ prompt, completion, cached, reasoning } = spec);
  }
  const usage: Record<string, unknown> = {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: prompt + completion,
  };
  if (reportCached && cached !== undefined) usage.prompt_tokens_details = { cached_tokens: cached };
  if (reasoning !== undefined) usage.completion_tokens_details = { reasoning_tokens: reasoning };
  return usage;
}

function argText(args: unknown): string {
  return typeof args === 'string' ? args : JSON.stringify(args);
}

/** Split text into a few pieces (at most ~8), the way a model streams it. */
function pieces(text: string): string[] {
  const size = Math.max(4, Math.ceil(text.length / 8));
  const out: string[] = [];
  for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size));
  return out;
}

/** The SSE data payloads (JSON text) of a streamed reply, without the final [DONE]. */
export function sseChunks(reply: Reply, model: string, index: number, usage: Record<string, unknown> | null): string[] {
  const base = {
    id: `chatcmpl-${index}`,
    object: 'chat.completion.chunk',
    created: Math.floor(Date.now() / 1000),
    model,
  };
  const chunk = (delta: unknown, finish: string | null = null): string =>
    JSON.stringify({ ...base, choices: [{ index: 0, delta, finish_reason: finish }] });
  const out = [chunk({ role: 'assistant', content: '' })];
  for (const p of pieces(reply.content ?? '')) out.push(chunk({ content: p }));
  (reply.toolCalls ?? []).forEach((call, i) => {
    const head = { index: i, id: `call_${index}_${i}`, type: 'function', function: { name: call.name, arguments: '' } };
    out.push(chunk({ tool_calls: [head] }));
    for (const p of pieces(argText(call.arguments)))
      out.push(chunk({ tool_calls: [{ index: i, function: { arguments: p } }] }));
  });
  const calls = reply.toolCalls?.length ?? 0;
  out.push(chunk({}, reply.finishReason ?? (calls > 0 ? 'tool_calls' : 'stop')));
  if (usage) out.push(JSON.stringify({ ...base, choices: [], usage }));
  return out;
}
