/**
 * The review step: after a task's checks pass, a model reads the task and its diff and approves
 * it or says what to change. A reviewer that cannot be reached does not block the task: the review
 * is recorded as skipped and the checks' verdict stands.
 */
import { z } from 'zod';
import { taskBranch } from './branches';
import { ModelError } from './model';
import type { TaskSpec } from './plan';
import { reviewerSystemPrompt, reviewRequest } from './prompts';
import type { PipelineHost } from './taskPipeline';

const Verdict = z.object({ approved: z.boolean(), comments: z.string() });
export type Verdict = z.infer<typeof Verdict>;

const VERDICT_SCHEMA = z.toJSONSchema(Verdict) as Record<string, unknown>;

/** Largest diff the reviewer is shown, in characters. */
const MAX_DIFF_CHARS = 40_000;

/** Ask the reviewer; null when there was no verdict (error or unreadable answer, recorded as a note). */
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
  try {
    const response = await reviewer.complete(
      {
        messages: [
          { role: 'system', content: reviewerSystemPrompt() },
          { role: 'user', content: reviewRequest(task, diff, summary) },
        ],
        responseFormat: { name: 'review_verdict', schema: VERDICT_SCHEMA },
      },
      { signal, affinity: task.id },
    );
    host.bookResponse('reviewer', task.id, response);
    const verdict = parseVerdict(response.content);
    if (!verdict) {
      host.emit({
        type: 'note',
        taskId: task.id,
        message: 'review skipped: the reviewer did not answer with a verdict',
      });
      return null;
    }
    host.emit({ type: 'review', taskId: task.id, approved: verdict.approved, comments: verdict.comments });
    return verdict;
  } catch (e) {
    if (!ModelError.is(e)) throw e;
    host.bookError('reviewer', task.id, e);
    host.emit({ type: 'note', taskId: task.id, message: `review skipped: ${e.message}` });
    return null;
  }
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
