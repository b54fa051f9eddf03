/**
 * `foreman transcript <run> <task> [--full] [--json]`: a task's conversation as readable text: the
 * task, each model step with its tool calls and their results, and the notes Foreman sent back
 * (failed checks, changes requested, resumes). Long texts are cut as in the Lead panel, saying how
 * much is left out; `--full` shows everything, the run's shared system prompt included. `--json`
 * prints the messages as they are kept.
 */
import { DEFAULT_TRANSCRIPT_LIMITS, UNLIMITED_TRANSCRIPT } from '../../core/conversationView';
import { lookBack, taskConversation, taskOf } from '../../app/runReview';
import { openWorkspace } from '../../app/workspace';
import { EXIT } from '../context';
import type { CommandHandler } from '../context';
import { UsageError } from '../options';
import { transcriptText } from '../transcriptText';

const USAGE = 'transcript needs a run and one of its tasks: foreman transcript <run> <task> [--full]';

export const transcriptCommand: CommandHandler = async (ctx) => {
  const [runId, taskId, ...extra] = ctx.cl.args;
  if (!runId || !taskId || extra.length > 0) throw new UsageError(USAGE);
  const ws = await openWorkspace(ctx.cl.cwd, ctx.settings);
  const { state, torn } = await lookBack(ws, runId);
  if (torn) ctx.err(`Note: ${torn}.`);
  const task = taskOf(state, taskId);
  const messages = await taskConversation(ws, state, taskId);
  if (ctx.cl.json) {
    ctx.out(JSON.stringify({ runId, taskId, title: task.spec?.title ?? null, status: task.status, messages }, null, 2));
    return EXIT.ok;
  }
  const header = { runId, taskId, title: task.spec?.title ?? null, status: task.status, compactions: task.compactions };
  const full = ctx.cl.full;
  process.stdout.write(
    transcriptText(messages, header, {
      limits: full ? UNLIMITED_TRANSCRIPT : DEFAULT_TRANSCRIPT_LIMITS,
      systemPrompt: full,
    }),
  );
  if (!full && messages.length > 0) ctx.err('(Long texts are cut; --full shows everything, the system prompt too.)');
  return EXIT.ok;
};
