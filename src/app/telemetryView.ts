/**
 * The Backends section's figures (protocol `TelemetryView`), from the run's journal events as they
 * come: the backends' readings (core/telemetry.ts) and the energy attributed to the tasks by the
 * ledger's requests (core/energyAttribution.ts). The attribution walks every interval and request,
 * so it is computed again only when an interval or a request was added, and at most once a second
 * while they keep coming; the board is projected up to ten times a second.
 */
import { SERVER_NAMES } from '../core/backendMetrics';
import type { BackendReading } from '../core/backendMetrics';
import { tokensPerJoule } from '../core/energyAttribution';
import type { JournalEvent } from '../core/journal';
import { Ledger } from '../core/ledger';
import { energyFigures, energyReport, TelemetryBook } from '../core/telemetry';
import type { EnergyReport } from '../core/telemetry';
import type { BackendTelemetryView, TelemetryView } from '../protocol/panel';

/** Between two attributions while intervals or requests keep coming, ms. */
const RECOMPUTE_MS = 1000;

/** Telemetry of one run for the panel. */
export class TelemetryTracker {
  private readonly book = new TelemetryBook();
  private readonly ledger = new Ledger();
  private energyEvents = 0;
  private report: { key: string; at: number; report: EnergyReport } | null = null;

  /** Take one journal event into account (others than requests and telemetry change nothing). */
  observe(event: JournalEvent): void {
    this.book.observe(event);
    this.ledger.recordEvent(event);
    if (event.type === 'energy') this.energyEvents += 1;
  }

  /** The view at `now`. */
  view(now: number): TelemetryView {
    const report = this.energy(now);
    const backends = this.book.all().map((b): BackendTelemetryView => {
      const energy = report.backends.find((e) => e.endpoint === b.endpoint);
      return {
        endpoint: b.endpoint,
        server: b.last ? SERVER_NAMES[b.last.server] : null,
        last: b.last ? lastOf(b.last) : null,
        series: seriesOf(b.series),
        metricsNote: b.last ? null : b.metricsUnavailable,
        energy: energy?.measured
          ? {
              measured: true,
              how: `${energy.method}, ${energy.source}, ${energy.gpus} GPU${energy.gpus === 1 ? '' : 's'}`,
              ...energyFigures(energy.account),
            }
          : { measured: false, reason: energy?.reason ?? 'no reading was recorded' },
      };
    });
    const tasks = report.run
      ? [...report.run.byTask].map(([task, s]) => ({
          task,
          joules: s.joules,
          tokens: s.tokens,
          tokensPerJoule: tokensPerJoule(s.tokens, s.joules),
        }))
      : [];
    return { backends, run: report.run ? energyFigures(report.run) : null, tasks };
  }

  private energy(now: number): EnergyReport {
    const key = `${this.energyEvents}:${this.ledger.records.length}`;
    const cached = this.report;
    if (cached && (cached.key === key || now - cached.at < RECOMPUTE_MS)) return cached.report;
    const report = energyReport(this.book, this.ledger);
    this.report = { key, at: now, report };
    return report;
  }
}

function lastOf(r: BackendReading): NonNullable<BackendTelemetryView['last']> {
  const { atMs, running, waiting, kvCacheUse, prefixHitRate, tokensPerSecond } = r;
  return { atMs, running, waiting, kvCacheUse, prefixHitRate, tokensPerSecond };
}

function seriesOf(readings: readonly BackendReading[]): BackendTelemetryView['series'] {
  const pick = (f: (r: BackendReading) => number | null) =>
    readings.flatMap((r) => {
      const v = f(r);
      return v === null ? [] : [v];
    });
  return {
    running: pick((r) => r.running),
    waiting: pick((r) => r.waiting),
    kvCacheUse: pick((r) => r.kvCacheUse),
    prefixHitRate: pick((r) => r.prefixHitRate),
    tokensPerSecond: pick((r) => r.tokensPerSecond),
  };
}
