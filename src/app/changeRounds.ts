/**
 * What the agent changed after the developer's latest change request on each task, for the
 * board's rows: the request (from the engine's `note` event), the task's commit before it, and its
 * latest commit since (from `task_committed`). The lines added and removed between the two are
 * counted by git on first look, once per pair of commits, in the background; the board is told
 * when they are known.
 */
import type { JournalEvent } from '../core/journal';
import type { ChangeRound, DiffStat } from '../protocol/panel';

/** The prefix of the engine's note when the developer asks for changes (core/runEngine.ts requestChanges). */
const REQUEST_NOTE = 'changes requested: ';

/** Counts the lines changed between two commits of the repository. */
export type CountLines = (from: string, to: string) => Promise<DiffStat>;

interface Round {
  requests: number;
  comments: string;
  /** The task's commit when changes were requested (or the commit its worktree started from). */
  from: string | null;
  /** Its latest commit since; null while there is none. */
  to: string | null;
}

/** Change rounds of one run's tasks. */
export class ChangeRounds {
  private readonly rounds = new Map<string, Round>();
  private readonly lastCommit = new Map<string, string>();
  private readonly counted = new Map<string, DiffStat | 'counting' | 'failed'>();

  /**
   * @param count counts lines between two commits (git, in the run's repository)
   * @param changed called when a count is known, so the board is drawn again
   * @param log where a count that failed is reported (the row then shows no lines)
   */
  constructor(
    private readonly count: CountLines,
    private readonly changed: () => void,
    private readonly log: (message: string) => void,
  ) {}

  /** Take one journal event into account. */
  observe(event: JournalEvent): void {
    if (event.type === 'task_worktree') {
      if (!this.lastCommit.has(event.taskId)) this.lastCommit.set(event.taskId, event.from);
    } else if (event.type === 'task_committed') {
      this.lastCommit.set(event.taskId, event.commit);
      const round = this.rounds.get(event.taskId);
      if (round) round.to = event.commit;
    } else if (event.type === 'note' && event.taskId !== null && event.message.startsWith(REQUEST_NOTE)) {
      const before = this.rounds.get(event.taskId);
      this.rounds.set(event.taskId, {
        requests: (before?.requests ?? 0) + 1,
        comments: event.message.slice(REQUEST_NOTE.length),
        from: this.lastCommit.get(event.taskId) ?? null,
        to: null,
      });
    }
  }

  /** The task's latest change round as the row shows it; null when no changes were requested of it. */
  view(taskId: string): ChangeRound | null {
    const round = this.rounds.get(taskId);
    if (!round) return null;
    return {
      requests: round.requests,
      comments: round.comments,
      diff: round.from && round.to ? this.stat(round.from, round.to) : null,
      committed: round.to !== null,
    };
  }

  /** The count between two commits if known; starts counting it otherwise. */
  private stat(from: string, to: string): DiffStat | null {
    const key = `${from}..${to}`;
    const known = this.counted.get(key);
    if (known === undefined) {
      this.counted.set(key, 'counting');
      this.count(from, to).then(
        (stat) => {
          this.counted.set(key, stat);
          this.changed();
        },
        (e: unknown) => {
          this.counted.set(key, 'failed');
          this.log(`Could not count the changes from ${from.slice(0, 7)} to ${to.slice(0, 7)}: ${String(e)}`);
        },
      );
      return null;
    }
    return typeof known === 'object' ? known : null;
  }
}
