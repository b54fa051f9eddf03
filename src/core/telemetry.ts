/**
 * A run's backend telemetry, folded from its journal: per backend the latest reading of its
 * `/metrics` with a short series for charts, the energy intervals measured, and why either could
 * not be read. `energyReport` joins the intervals with the ledger (core/energyAttribution.ts):
 * joules and tokens per joule per task, per backend and for the run, idle draw apart. Every front
 * end (status, export, the panel) reads it the same way, live or from a journal.
 */
import { z } from 'zod';
import type { BackendReading } from './backendMetrics';
import { attributeEnergy, emptyAccount, tokensPerJoule } from './energyAttribution';
import type { EnergyAccount, EnergyInterval } from './energyAttribution';
import type { JournalEvent, NewEvent } from './journal';
import type { Ledger } from './ledger';

/** Readings kept per backend for a chart: at one poll every two seconds, four minutes. */
export const SERIES_LENGTH = 120;

/** What the journal says of one backend. */
export interface BackendTelemetry {
  endpoint: string;
  last: BackendReading | null;
  /** The latest readings, oldest first, at most SERIES_LENGTH. */
  series: BackendReading[];
  intervals: EnergyInterval[];
  /** Where the energy was read (`nvidia-smi`, `dcgm-exporter <url>`); null before any interval. */
  energySource: string | null;
  /** How the joules were reached: every GPU's counter, power integrated, or both over the run. */
  energyMethods: Set<'counter' | 'integrated'>;
  gpus: Set<string>;
  /** Why the metrics could not be read; null once a reading came. */
  metricsUnavailable: string | null;
  /** Why the energy could not be measured; null once an interval was. */
  energyUnavailable: string | null;
}

/** Every backend's telemetry in a run, in order of first mention. */
export class TelemetryBook {
  private readonly backends = new Map<string, BackendTelemetry>();

  static fromEvents(events: Iterable<JournalEvent>): TelemetryBook {
    const book = new TelemetryBook();
    for (const e of events) book.observe(e);
    return book;
  }

  /** Take one event into account; others than the telemetry events are ignored. */
  observe(event: JournalEvent): void {
    if (event.type === 'backend_metrics') {
      const b = this.of(event.endpoint);
      b.last = event.reading;
      b.series.push(event.reading);
      if (b.series.length > SERIES_LENGTH) b.series.splice(0, b.series.length - SERIES_LENGTH);
      b.metricsUnavailable = null;
    } else if (event.type === 'energy') {
      const b = this.of(event.endpoint);
      b.intervals.push({
        fromMs: event.fromMs,
        toMs: event.toMs,
        joules: event.gpus.reduce((s, g) => s + g.joules, 0),
      });
      for (const g of event.gpus) {
        b.gpus.add(g.gpu);
        b.energyMethods.add(g.method);
      }
      b.energySource = event.source;
      b.energyUnavailable = null;
    } else if (event.type === 'telemetry_unavailable') {
      const b = this.of(event.endpoint);
      if (event.what === 'metrics' && b.last === null) b.metricsUnavailable = event.reason;
      if (event.what === 'energy' && b.intervals.length === 0) b.energyUnavailable = event.reason;
    }
  }

  /** Every backend mentioned, in order of first mention. */
  all(): BackendTelemetry[] {
    return [...this.backends.values()];
  }

  private of(endpoint: string): BackendTelemetry {
    let b = this.backends.get(endpoint);
    if (!b) {
      b = {
        endpoint,
        last: null,
        series: [],
        intervals: [],
        energySource: null,
        energyMethods: new Set(),
        gpus: new Set(),
        metricsUnavailable: null,
        energyUnavailable: null,
      };
      this.backends.set(endpoint, b);
    }
    return b;
  }
}

/** Energy of one backend, or why there is none. */
export type BackendEnergy =
  | { endpoint: string; measured: true; account: EnergyAccount; source: string; method: string; gpus: number }
  | { endpoint: string; measured: false; reason: string };

/** Joules and tokens per joule of a run: per backend, per task and in all. */
export interface EnergyReport {
  backends: BackendEnergy[];
  /** The measured backends together; null when none was measured. */
  run: EnergyAccount | null;
}

/** Why a backend's energy is not known, in words, when the journal gives no reason. */
const NO_SOURCE = 'no reading of GPU power was recorded for this backend';

/** The energy of a run: the book's intervals attributed to the ledger's requests per backend. */
export function energyReport(book: TelemetryBook, ledger: Ledger): EnergyReport {
  const backends: BackendEnergy[] = [];
  let run: EnergyAccount | null = null;
  for (const b of book.all()) {
    if (b.intervals.length === 0) {
      backends.push({ endpoint: b.endpoint, measured: false, reason: b.energyUnavailable ?? NO_SOURCE });
      continue;
    }
    const records = ledger.records.filter((r) => r.endpoint === b.endpoint);
    const account = attributeEnergy(b.intervals, records);
    run = attributeEnergy(b.intervals, records, run ?? emptyAccount());
    const method = b.energyMethods.size > 1 ? 'counter and integrated power' : ([...b.energyMethods][0] ?? 'counter');
    backends.push({
      endpoint: b.endpoint,
      measured: true,
      account,
      source: b.energySource ?? 'unknown',
      method: method === 'integrated' ? 'integrated power' : method === 'counter' ? 'energy counter' : method,
      gpus: b.gpus.size,
    });
  }
  return { backends, run };
}

/** Tokens per joule of an account's busy draw and of all of it (idle included). */
export function efficiency(account: EnergyAccount): { busy: number | null; overall: number | null } {
  return {
    busy: tokensPerJoule(account.tokens, account.joules - account.idleJoules),
    overall: tokensPerJoule(account.tokens, account.joules),
  };
}

/** An account's figures as the panel, `status --json` and the exports give them. */
export function energyFigures(account: EnergyAccount): {
  joules: number;
  idleJoules: number;
  tokens: number;
  tokensPerJoule: number | null;
  tokensPerJouleWithIdle: number | null;
} {
  const e = efficiency(account);
  return {
    joules: account.joules,
    idleJoules: account.idleJoules,
    tokens: account.tokens,
    tokensPerJoule: e.busy,
    tokensPerJouleWithIdle: e.overall,
  };
}

/** The events a backend watch records. */
export type TelemetryEvent = Extract<NewEvent, { type: 'backend_metrics' | 'energy' | 'telemetry_unavailable' }>;

/**
 * Watches a run's backends while the engine drives it (src/infra/backendTelemetry.ts). Contract:
 * `start` begins polling at once and hands every event to `record`; `stop` ends the polling after
 * one last poll (so the end of the run is measured) and resolves when its events are recorded.
 */
export interface BackendWatch {
  start(record: (event: TelemetryEvent) => void): { stop(): Promise<void> };
}

/**
 * How a backend's GPU energy is read, as its settings say: `nvidia-smi` on this machine, or a
 * dcgm-exporter's `/metrics`. No program can be named: foreman.json belongs to the repository,
 * and Foreman runs no program a repository names.
 */
export const EnergySettingSchema = z.discriminatedUnion('source', [
  z.object({ source: z.literal('nvidia-smi') }).strict(),
  z.object({ source: z.literal('dcgm'), url: z.string().url() }).strict(),
]);
export type EnergySetting = z.infer<typeof EnergySettingSchema>;
