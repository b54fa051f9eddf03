/**
 * What agent steps cost in this repository, learned from its finished runs for the plan's
 * estimate (core/estimate.ts). The newest runs' journals are read once each and remembered by
 * size and modification time, so estimating again after every plan edit stays cheap. Shared by
 * the Lead panel and the CLI.
 */
import { stat } from 'node:fs/promises';
import { learnProfile, taskSamples } from '../core/estimate';
import type { StepProfile, TaskSample } from '../core/estimate';
import { listRunIds, readJournal, runJournalPath } from '../infra/journalFile';

/** Runs read, newest first. */
const MAX_RUNS = 20;
/** Finished tasks used, newest runs first. */
const MAX_SAMPLES = 200;

/** The cost profile of one repository, with a cache of the journals already read. */
export class CostHistory {
  private readonly cache = new Map<string, { stamp: string; samples: TaskSample[] }>();

  /**
   * The profile learned from the repository's newest finished runs, leaving out `exclude` (the
   * run being estimated, when it is resumed); the prior when none has a finished task. A journal
   * that cannot be read is skipped: the estimate is a guide, and history is only its input.
   */
  async profile(stateDir: string, exclude?: string): Promise<StepProfile> {
    const samples: TaskSample[] = [];
    let runs = 0;
    for (const runId of (await listRunIds(stateDir)).slice(0, MAX_RUNS)) {
      if (runId === exclude || samples.length >= MAX_SAMPLES) continue;
      const own = await this.samplesOf(stateDir, runId);
      if (own.length === 0) continue;
      runs++;
      samples.push(...own.slice(0, MAX_SAMPLES - samples.length));
    }
    return learnProfile(samples, runs);
  }

  private async samplesOf(stateDir: string, runId: string): Promise<TaskSample[]> {
    const path = runJournalPath(stateDir, runId);
    try {
      const info = await stat(path);
      const stamp = `${info.size}:${info.mtimeMs}`;
      const known = this.cache.get(runId);
      if (known?.stamp === stamp) return known.samples;
      const samples = taskSamples((await readJournal(path)).events);
      this.cache.set(runId, { stamp, samples });
      return samples;
    } catch {
      return [];
    }
  }
}
