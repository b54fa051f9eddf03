/**
 * The review step: after a task's checks pass, a model reads the task and its diff and approves
 * it or says what to change. A reviewer that cannot be reached does not block the task: the review
 * is recorded as skipped and the checks' verdict stands.
 */
import { z } from 'zod';
import { taskBranch } from './branches';
import { contextWindowIn, cutToFit, nextPartSize } from './compaction';
import type { ChatMessage, ModelClient, ModelResponse } from './model';
import { ModelError } from './model';
import type { TaskSpec } from './plan';
import { reviewerSystemPrompt, reviewRequest } from './prompts';
import type { PipelineHost } from './taskPipeline';

const Verdict = z.object({ approved: z.boolean(), comments: z.string() });
export type Verdict = z.infer<typeof Verdict>;

const VERDICT_SCHEMA = z.toJSONSchema(Verdict) as Record<string, unknown>;

/** Largest diff the reviewer is shown, in characters. */
const MAX_DIFF_CHARS = 40_000;

/** Refusals for length the reviewer answers with a shorter diff, before the review is skipped. */
const MAX_CUTS = 4;
/** The smallest diff worth a review, in characters: below it the review is skipped. */
const MIN_DIFF_CHARS = 1_000;

/**
 * Ask the reviewer; null when there was no verdict (error or unreadable answer, recorded as a note).
 * A refusal as too long for the reviewer model's context window is answered by asking again with
 * less of the diff (core/compaction.ts sizes it); the system prompt, the task, its acceptance
 * criteria and the agent's summary are always sent whole. Each cut is a note in the journal.
 */
export async function reviewChange(
  host: PipelineHost,
  task: TaskSpec,
  summary: string,
  signal: AbortSignal,
  head: string | null = null,
): Promise<Verdict | null> {
  const reviewer = host.deps.reviewer;
  if (!reviewer) return null;
  const branch = taskBranch(host.config.runId, task.id);
  const hit = host.budgetCheck(task.id);
  if (hit) return null;
  // The commit just made is the branch's head; the repository read its diff with it.
  const diff = await host.deps.repo.diff(host.base, head ?? branch, MAX_DIFF_CHARS);
  const response = await askReviewer(host, reviewer, task, summary, diff, signal);
  if (!response) return null;
  host.bookResponse('reviewer', task.id, response);
  const verdict = parseVerdict(response.content);
  if (!verdict) {
    host.emit({ type: 'note', taskId: task.id, message: 'review skipped: the reviewer did not answer with a verdict' });
    return null;
  }
  host.emit({ type: 'review', taskId: task.id, approved: verdict.approved, comments: verdict.comments });
  return verdict;
}

/** The reviewer's answer, cutting the diff after each refusal for length; null when skipped (said in a note). */
async function askReviewer(
  host: PipelineHost,
  reviewer: ModelClient,
  task: TaskSpec,
  summary: string,
  firstDiff: string,
  signal: AbortSignal,
): Promise<ModelResponse | null> {
  const whole = wholeDiff(firstDiff);
  let diff = firstDiff;
  let shown = whole.text.length;
  for (let cuts = 0; ; cuts++) {
    const messages: ChatMessage[] = [
      { role: 'system', content: reviewerSystemPrompt() },
      { role: 'user', content: reviewRequest(task, diff, summary) },
    ];
    try {
      const request = { messages, responseFormat: { name: 'review_verdict', schema: VERDICT_SCHEMA } };
      return await reviewer.complete(request, { signal, affinity: task.id });
    } catch (e) {
      if (!ModelError.is(e)) throw e;
      host.bookError('reviewer', task.id, e);
      const next = shorterDiff(e, messages, diff, cuts, signal);
      if (typeof next === 'string') {
        host.emit({
          type: 'note',
          taskId: task.id,
          message: `review skipped: ${next === '' ? tooSmall(e, shown, whole.total) : next}`,
        });
        return null;
      }
      if (host.budgetCheck(task.id)) return null;
      const cut = cutToFit(whole.text, next, 'the diff', whole.total);
      diff = cut.text;
      shown = cut.shown;
      host.emit({ type: 'note', taskId: task.id, message: cutNote(e, shown, whole.total) });
    }
  }
}

/**
 * How many characters of the diff to send after a failed request; a string when the review is
 * skipped instead: the error's words when it is not a refusal for length, '' when no shorter
 * diff would fit (or the cuts are used up).
 */
function shorterDiff(
  e: ModelError,
  messages: ChatMessage[],
  diff: string,
  cuts: number,
  signal: AbortSignal,
): number | string {
  if (e.reason !== 'context_length' || signal.aborted) return e.message;
  const promptChars = messages.reduce((n, m) => n + (m.content?.length ?? 0), 0);
  const next = nextPartSize({ promptChars, partChars: diff.length }, e.message, MIN_DIFF_CHARS);
  return next === null || cuts === MAX_CUTS ? '' : next;
}

/** The diff as the repository gave it, with the repository's own cut marker taken off and its full size read. */
function wholeDiff(diff: string): { text: string; total: number } {
  const m = /\n\[diff cut: \d+ of (\d+) characters not shown\]\n$/.exec(diff);
  return m ? { text: diff.slice(0, m.index + 1), total: Number(m[1]) } : { text: diff, total: diff.length };
}

function windowWords(e: ModelError): string {
  const window = contextWindowIn(e.message);
  return window === null
    ? "the reviewer model's context window"
    : `the reviewer model's context window of ${window.toLocaleString('en-US')} tokens`;
}

function cutNote(e: ModelError, shown: number, total: number): string {
  return `review: the diff was too long for ${windowWords(e)}; asking again with ${shown.toLocaleString('en-US')} of its ${total.toLocaleString('en-US')} characters`;
}

function tooSmall(e: ModelError, shown: number, total: number): string {
  return `${windowWords(e)} is too small for the review: the task, its acceptance criteria and the agent's summary with ${shown.toLocaleString('en-US')} of the diff's ${total.toLocaleString('en-US')} characters did not fit (the backend said: ${e.message})`;
}

function parseVerdict(text: string): Verdict | null {
  const body = text
    .trim()
    .replace(/^```(?:json)?\s*/, '')
    .replace(/\s*```$/, '');
  try {
    const parsed = Verdict.safeParse(JSON.parse(body));
    return parsed.success ? parsed.data : null;
  } catch {
    // Not JSON at all: no verdict.
    return null;
  }
}
