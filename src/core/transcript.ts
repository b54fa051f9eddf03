/**
 * Each task's conversation, kept beside the journal so that a resumed or sent-back task continues
 * the same conversation (and the same cached prefix) instead of starting over.
 */
import type { ChatMessage } from './model';

/**
 * Append-only storage of task conversations. Contract: `append` writes through before it returns,
 * so what a crash leaves is a prefix of the conversation (possibly with a torn last line, which
 * `load` drops).
 */
export interface TranscriptStore {
  append(taskId: string, message: ChatMessage): void;
  /** The conversation so far; empty when the task has none yet. */
  load(taskId: string): Promise<ChatMessage[]>;
}

/** What a tool call that was in flight when the process died is answered with. */
export const INTERRUPTED_TOOL_RESULT =
  'interrupted: Foreman stopped while this tool call was running; its effect may be partial. Check before relying on it.';

/**
 * Make a conversation cut off at any point valid to send again: every tool call of the last
 * assistant message gets an answer (marked interrupted when it had none). Returns the messages
 * added, which the caller also appends to the store.
 */
export function closeOpenToolCalls(messages: ChatMessage[]): ChatMessage[] {
  let lastAssistant = -1;
  for (let i = messages.length - 1; i >= 0; i--) {
    if (messages[i].role === 'assistant') {
      lastAssistant = i;
      break;
    }
  }
  if (lastAssistant < 0) return [];
  const assistant = messages[lastAssistant];
  if (assistant.role !== 'assistant' || !assistant.toolCalls?.length) return [];
  const answered = new Set<string>();
  for (const m of messages.slice(lastAssistant + 1)) if (m.role === 'tool') answered.add(m.toolCallId);
  const added: ChatMessage[] = assistant.toolCalls
    .filter((c) => !answered.has(c.id))
    .map((c) => ({ role: 'tool', toolCallId: c.id, content: INTERRUPTED_TOOL_RESULT }));
  messages.push(...added);
  return added;
}
