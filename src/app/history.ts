/**
 * The runs of a repository, rebuilt from their journals, newest first, as the panel's history.
 * A journal that has not changed since it was last read (same size and modification time) is not
 * read again, so refreshing a long history stays cheap. Reading journals runs nothing, so history
 * is offered even in an untrusted workspace.
 */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { JournalEvent } from '../core/journal';
import { reduceJournal, runPhase } from '../core/runState';
import type { RunState, RunStatus } from '../core/runState';
import { RESUMABLE_RUN_STATUSES } from '../core/statusSets';
import { listRunIds, readJournal, runJournalPath } from '../infra/journalFile';
import { lockHolder } from '../infra/runLock';
import type { HistoryEntry } from '../protocol/panel';
import { appliedOf, usageOf } from './panelView';
import { errorMessage } from '../core/errors';

/** A run read back from its journal. */
export interface StoredRun {
  events: JournalEvent[];
  state: RunState;
  /** Set when the journal's last line was torn (a crash mid-write) and ignored. */
  torn: string | null;
}

/** Read one run's journal; rejects with the fs error (ENOENT) when the run does not exist. */
export async function readStoredRun(stateDir: string, runId: string): Promise<StoredRun> {
  const read = await readJournal(runJournalPath(stateDir, runId));
  const torn = read.tornTail
    ? `line ${read.tornTail.line} of run ${runId}'s journal was torn (a crash mid-write) and was ignored`
    : null;
  return { events: read.events, state: reduceJournal(read.events), torn };
}

/** The pid of another process driving the run, or null. */
export function drivenElsewhere(stateDir: string, runId: string): number | null {
  const holder = lockHolder(join(stateDir, 'runs', runId, 'lock'));
  return holder !== null && holder !== process.pid ? holder : null;
}

/** The history of one repository, with a cache of the journals already read. */
export class RunHistory {
  private readonly cache = new Map<string, { stamp: string; state: RunState }>();

  constructor(private readonly warn: (message: string) => void) {}

  /**
   * Every run of the repository, newest first. `live` holds the states of runs this window is
   * driving (their journals are mid-run). A journal that cannot be read is left out with a warning.
   */
  async list(stateDir: string, live: ReadonlyMap<string, RunState>): Promise<HistoryEntry[]> {
    const entries: HistoryEntry[] = [];
    for (const runId of await listRunIds(stateDir)) {
      const liveState = live.get(runId);
      const state = liveState ?? (await this.stateOf(stateDir, runId));
      if (!state) continue;
      const busy = liveState !== undefined || drivenElsewhere(stateDir, runId) !== null;
      entries.push(entryOf(runId, state, busy));
    }
    return entries;
  }

  private async stateOf(stateDir: string, runId: string): Promise<RunState | null> {
    const path = runJournalPath(stateDir, runId);
    try {
      const info = await stat(path);
      const stamp = `${info.size}:${info.mtimeMs}`;
      const known = this.cache.get(runId);
      if (known?.stamp === stamp) return known.state;
      const state = reduceJournal((await readJournal(path)).events);
      this.cache.set(runId, { stamp, state });
      return state;
    } catch (e) {
      // A run folder without a journal is not a run yet; anything else is worth a line in the log.
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT')
        this.warn(`Run ${runId} is left out of the history: ${errorMessage(e)}`);
      return null;
    }
  }
}

function entryOf(runId: string, state: RunState, busy: boolean): HistoryEntry {
  const tasks = [...state.tasks.values()];
  const status: RunStatus = busy ? 'running' : state.status;
  return {
    runId,
    status: busy ? 'running' : runPhase(state),
    spec: state.plan?.spec ?? '',
    startedAt: state.startedAt,
    finishedAt: busy ? null : state.finishedAt,
    tasks: tasks.length,
    merged: tasks.filter((t) => t.status === 'merged').length,
    usage: usageOf(state.usage),
    applied: appliedOf(state),
    verification: state.integration.last?.status ?? null,
    resumable: !busy && RESUMABLE_RUN_STATUSES.has(status),
  };
}
