/**
 * The backends' telemetry of a run as `foreman status` shows it: per backend the last reading of
 * its metrics and its energy (joules, idle draw apart, tokens per joule), then the energy per task;
 * and the same as JSON for `status --json`. Read from the journal (core/telemetry.ts).
 */
import { SERVER_NAMES } from '../core/backendMetrics';
import type { BackendReading } from '../core/backendMetrics';
import { tokensPerJoule } from '../core/energyAttribution';
import type { EnergyAccount } from '../core/energyAttribution';
import type { Ledger } from '../core/ledger';
import { efficiency, energyFigures, energyReport } from '../core/telemetry';
import type { TelemetryBook } from '../core/telemetry';
import { table } from './render';

/** A share 0..1 as a percentage, or n/a (the server does not say, or nothing was looked up). */
function percent(value: number | null): string {
  return value === null ? 'n/a' : `${Math.round(value * 100)}%`;
}

function count(value: number | null): string {
  return value === null ? 'n/a' : String(Math.round(value));
}

/** Joules in J or kJ. */
export function fmtJoules(joules: number): string {
  return joules >= 10_000 ? `${(joules / 1000).toFixed(1)} kJ` : `${joules.toFixed(joules >= 100 ? 0 : 1)} J`;
}

/** Tokens per joule with two significant decimals, or a dash. */
export function fmtTokPerJ(value: number | null): string {
  return value === null ? '-' : value >= 10 ? value.toFixed(1) : value.toFixed(2);
}

/** One backend's last reading in a line. */
export function readingLine(r: BackendReading): string {
  const rate = r.tokensPerSecond === null ? 'n/a' : `${Math.round(r.tokensPerSecond)}`;
  return `${SERVER_NAMES[r.server]}: running ${count(r.running)}, waiting ${count(r.waiting)}, KV cache ${percent(r.kvCacheUse)}, prefix-cache hits ${percent(r.prefixHitRate)}, generation ${rate} tok/s (read ${new Date(r.atMs).toISOString().slice(11, 19)} UTC)`;
}

function energyLine(a: EnergyAccount, how: string): string {
  const e = efficiency(a);
  const seconds = a.fromMs === null || a.toMs === null ? 0 : (a.toMs - a.fromMs) / 1000;
  return `energy: ${fmtJoules(a.joules)} over ${seconds.toFixed(0)} s (${how}); busy ${fmtJoules(a.joules - a.idleJoules)}, idle ${fmtJoules(a.idleJoules)}; ${Math.round(a.tokens)} output tokens, ${fmtTokPerJ(e.busy)} tok/J (${fmtTokPerJ(e.overall)} with idle)`;
}

/** The Backends section of `foreman status`; empty when the run recorded no telemetry. */
export function renderBackends(book: TelemetryBook, ledger: Ledger): string {
  const backends = book.all();
  if (backends.length === 0) return '';
  const report = energyReport(book, ledger);
  const lines = ['Backends'];
  for (const b of backends) {
    lines.push(`  ${b.endpoint}`);
    if (b.last) lines.push(`    ${readingLine(b.last)}`);
    else lines.push(`    metrics: not read — ${b.metricsUnavailable ?? 'no reading was recorded'}`);
    const energy = report.backends.find((e) => e.endpoint === b.endpoint);
    if (energy?.measured)
      lines.push(
        `    ${energyLine(energy.account, `${energy.method}, ${energy.source}, ${energy.gpus} GPU${energy.gpus === 1 ? '' : 's'}`)}`,
      );
    else lines.push(`    energy: not measured — ${energy?.reason ?? 'no reading was recorded'}`);
  }
  if (report.run && report.run.byTask.size > 0) {
    const rows = [...report.run.byTask].map(([task, s]) => [
      task,
      fmtJoules(s.joules),
      String(Math.round(s.tokens)),
      fmtTokPerJ(tokensPerJoule(s.tokens, s.joules)),
    ]);
    lines.push('', 'Energy per task (idle draw not included)', table(['task', 'joules', 'tokens', 'tok/J'], rows));
  }
  return lines.join('\n');
}

/** The same for `status --json`. */
export function backendsJson(book: TelemetryBook, ledger: Ledger): unknown {
  const report = energyReport(book, ledger);
  const account = (a: EnergyAccount) => ({
    ...energyFigures(a),
    tasks: [...a.byTask].map(([task, s]) => ({
      task,
      joules: s.joules,
      tokens: s.tokens,
      tokensPerJoule: tokensPerJoule(s.tokens, s.joules),
    })),
  });
  return {
    backends: book.all().map((b) => {
      const energy = report.backends.find((e) => e.endpoint === b.endpoint);
      return {
        endpoint: b.endpoint,
        metrics: b.last ?? { notRead: b.metricsUnavailable ?? 'no reading was recorded' },
        energy: energy?.measured
          ? { source: energy.source, method: energy.method, gpus: energy.gpus, ...account(energy.account) }
          : { notMeasured: energy?.reason ?? 'no reading was recorded' },
      };
    }),
    energy: report.run ? account(report.run) : null,
  };
}
