/**
 * What agent steps cost in this repository, learned from its finished runs for the plan's
 * estimate (core/estimate.ts). The newest runs' journals are read once each and remembered by
 * size and modification time, so estimating again after every plan edit stays cheap. Shared by
 * the Lead panel and the CLI.
 */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { learnProfile, priorProfile, taskSamples } from '../core/estimate';
import type { StepProfile, TaskSample } from '../core/estimate';
import { listRunIds, readJournal, runJournalPath } from '../infra/journalFile';
import { createRepoReader } from '../infra/repoReader';

/** Runs read, newest first. */
const MAX_RUNS = 20;
/** Finished tasks used, newest runs first. */
const MAX_SAMPLES = 200;
/** Files whose size is read for the median, spread over the repository's list. */
const MAX_SIZED_FILES = 400;

/** The cost profile of one repository, with a cache of the journals already read. */
export class CostHistory {
  private readonly cache = new Map<string, { stamp: string; samples: TaskSample[] }>();
  private readonly fileTokens = new Map<string, number | null>();

  /**
   * The profile learned from the repository's newest finished runs, leaving out `exclude` (the
   * run being estimated, when it is resumed); the prior, sized by the repository's files, when none
   * has a finished task. A journal
   * that cannot be read is skipped: the estimate is a guide, and history is only its input.
   */
  async profile(repo: { root: string; stateDir: string }, exclude?: string): Promise<StepProfile> {
    const stateDir = repo.stateDir;
    const samples: TaskSample[] = [];
    let runs = 0;
    for (const runId of (await listRunIds(stateDir)).slice(0, MAX_RUNS)) {
      if (runId === exclude || samples.length >= MAX_SAMPLES) continue;
      const own = await this.samplesOf(stateDir, runId);
      if (own.length === 0) continue;
      runs++;
      samples.push(...own.slice(0, MAX_SAMPLES - samples.length));
    }
    if (samples.length > 0) return learnProfile(samples, runs);
    return priorProfile(await this.medianFileTokens(repo.root));
  }

  /**
   * The median size of the repository's files (tracked and untracked, not ignored), in tokens at
   * ~4 bytes a token, from at most 400 of them spread over the list; null when none can be read.
   * Remembered per repository: it is an assumption's input, not a live figure.
   */
  private async medianFileTokens(root: string): Promise<number | null> {
    const known = this.fileTokens.get(root);
    if (known !== undefined) return known;
    let median: number | null = null;
    try {
      const files = await createRepoReader(root).listFiles();
      const step = Math.max(1, Math.ceil(files.length / MAX_SIZED_FILES));
      const sizes: number[] = [];
      for (let i = 0; i < files.length; i += step) {
        const info = await stat(join(root, files[i])).catch(() => null);
        if (info?.isFile()) sizes.push(info.size);
      }
      sizes.sort((a, b) => a - b);
      if (sizes.length > 0) median = Math.round(sizes[Math.floor(sizes.length / 2)] / 4);
    } catch {
      median = null;
    }
    this.fileTokens.set(root, median);
    return median;
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
