/**
 * Task conversations on disk: one JSON line per message in `<runDir>/transcripts/<taskId>.jsonl`,
 * written synchronously so a crash leaves a prefix of the conversation.
 */
import { appendFileSync, mkdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ChatMessage } from '../core/model';
import type { TranscriptStore } from '../core/transcript';
import { errorMessage } from '../core/errors';

/** Transcripts of one run, kept in `dir`. */
export function createTranscriptStore(dir: string): TranscriptStore {
  let made = false;
  const file = (taskId: string) => join(dir, `${taskId}.jsonl`);
  return {
    append(taskId, message) {
      if (!made) {
        mkdirSync(dir, { recursive: true });
        made = true;
      }
      appendFileSync(file(taskId), `${JSON.stringify(message)}\n`);
    },
    async load(taskId) {
      return readTranscript(file(taskId));
    },
  };
}

/** Read a transcript file; a missing file is an empty conversation, a torn last line is dropped. */
export async function readTranscript(path: string): Promise<ChatMessage[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  const lines = text.split('\n');
  const messages: ChatMessage[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (lines[i] === '') continue;
    try {
      messages.push(JSON.parse(lines[i]) as ChatMessage);
    } catch (e) {
      // Only the last line can be torn by a crash; anything earlier is real damage.
      if (i === lines.length - 1) break;
      throw new Error(`${path}:${i + 1}: not a JSON message (${errorMessage(e)})`, { cause: e });
    }
  }
  return messages;
}
