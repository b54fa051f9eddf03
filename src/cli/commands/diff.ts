/**
 * `foreman diff <run> [<task>] [--stat]`: what the run's integration branch changed since the run's
 * base, or what one task changed (from the commit its worktree started from to its latest commit),
 * as git's patch on stdout, read from git's objects without checking anything out. Coloured when
 * stdout is a terminal (and NO_COLOR is not set), plain otherwise, so it pipes into `git apply` or a
 * file as it is. On a terminal, escape sequences other than git's colours are shown as text.
 */
import { diffRange, diffText, lookBack } from '../../app/runReview';
import { INTEGRATION_ID } from '../../core/branches';
import { openWorkspace } from '../../app/workspace';
import { visibleControlsKeepingColors } from '../../core/text';
import { EXIT } from '../context';
import type { CommandHandler } from '../context';
import { UsageError } from '../options';

const USAGE = 'diff needs a run, and optionally one of its tasks: foreman diff <run> [<task>] [--stat]';

export const diffCommand: CommandHandler = async (ctx) => {
  const [runId, taskId = null, ...extra] = ctx.cl.args;
  if (!runId || extra.length > 0) throw new UsageError(USAGE);
  const ws = await openWorkspace(ctx.cl.cwd, ctx.settings);
  const { state, torn } = await lookBack(ws, runId);
  if (torn) ctx.err(`Note: ${torn}.`);
  // The integration branch's id names the whole run, as in the Lead panel's Changes view.
  const range = await diffRange(ws, state, taskId === INTEGRATION_ID ? null : taskId);
  if ('none' in range) {
    ctx.err(range.none);
    return EXIT.ok;
  }
  const terminal = Boolean(process.stdout.isTTY);
  const color = terminal && !process.env.NO_COLOR;
  const text = await diffText(ws, range, { stat: ctx.cl.stat, color });
  ctx.err(`Changes of ${range.what}: ${range.from.slice(0, 10)}..${range.to.slice(0, 10)}`);
  if (text === '') {
    ctx.err('No changes.');
    return EXIT.ok;
  }
  process.stdout.write(terminal ? visibleControlsKeepingColors(text) : text);
  return EXIT.ok;
};
