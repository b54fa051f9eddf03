/**
 * Reads GPU power and energy from the machine: `nvidia-smi --query-gpu` (power samples) and a
 * dcgm-exporter's `/metrics` (energy counter and power). An `EnergyMeter` keeps the readings it
 * takes and answers how many joules each GPU used between two of them. Where nothing is readable
 * it says so in a sentence, never with a number. Parsing and arithmetic live in src/core/gpuEnergy.ts.
 */
import { execFile } from 'node:child_process';
import {
  dcgmReadings,
  energyBetween,
  parseNvidiaSmiCsv,
  type EnergyFigure,
  type EnergyUnknown,
  type GpuReading,
  type ParsedReadings,
} from '../core/gpuEnergy';
import { parsePrometheusText } from './prometheusText';

/** One reading of every GPU a meter sees, or why none could be taken. */
export type EnergySnapshot =
  { readable: true; source: string; atMs: number; gpus: GpuReading[] } | { readable: false; reason: string };

/** Joules per GPU between two snapshots, or why they cannot be told. */
export type EnergySpan =
  { readable: true; figures: EnergyFigure[]; unknown: EnergyUnknown[] } | { readable: false; reason: string };

/** The sentence a meter gives where no source answers. */
export const NO_GPU_POWER = 'No GPU power is readable here';

/**
 * A meter of GPU energy. Contract: `read` takes one reading from the first source that answers and
 * keeps it; `joulesBetween` answers from the readings this meter kept between two of its snapshots,
 * preferring an energy counter and otherwise integrating power (the figure says `integrated`, and is
 * only as good as how often `read` was called in between).
 */
export interface EnergyMeter {
  read(options?: { signal?: AbortSignal }): Promise<EnergySnapshot>;
  joulesBetween(start: EnergySnapshot, end: EnergySnapshot): EnergySpan;
}

/** Where readings come from. `read` answers a reason rather than throwing when it cannot read. */
export interface GpuPowerSource {
  readonly name: string;
  read(atMs: number, signal?: AbortSignal): Promise<ParsedReadings | { unreadable: string }>;
}

/** The fields asked of nvidia-smi; `power.draw.instant` is dropped (for good) on a driver that lacks it. */
const SMI_FIELDS = ['timestamp', 'index', 'power.draw', 'power.draw.instant'];

/**
 * `nvidia-smi --query-gpu=timestamp,index,power.draw,power.draw.instant --format=csv,noheader,nounits`.
 * Readings are stamped with the meter's clock, not nvidia-smi's zone-less local timestamp.
 */
export function nvidiaSmiSource(options: { command?: string; timeoutMs?: number } = {}): GpuPowerSource {
  const command = options.command ?? 'nvidia-smi';
  const run = (fields: string[], signal?: AbortSignal) =>
    new Promise<{ ok: true; stdout: string } | { ok: false; absent: boolean; text: string }>((resolve) => {
      const args = [`--query-gpu=${fields.join(',')}`, '--format=csv,noheader,nounits'];
      execFile(command, args, { timeout: options.timeoutMs ?? 5000, signal }, (error, stdout, stderr) => {
        if (error === null) resolve({ ok: true, stdout });
        else {
          const absent = (error as NodeJS.ErrnoException).code === 'ENOENT';
          resolve({ ok: false, absent, text: `${stderr}\n${stdout}`.trim() || error.message });
        }
      });
    });
  let fields = SMI_FIELDS;
  return {
    name: 'nvidia-smi',
    async read(atMs, signal) {
      let result = await run(fields, signal);
      if (!result.ok && /not a valid field/i.test(result.text)) {
        fields = SMI_FIELDS.filter((f) => f !== 'power.draw.instant');
        result = await run(fields, signal);
      }
      if (!result.ok) {
        if (result.absent) return { unreadable: `${command} is not installed.` };
        return { unreadable: `${command} failed: ${result.text.split('\n')[0].slice(0, 200)}` };
      }
      const parsed = parseNvidiaSmiCsv(result.stdout, fields);
      return { readings: parsed.readings.map((r) => ({ ...r, atMs })), problems: parsed.problems };
    },
  };
}

/** A dcgm-exporter's `/metrics` (e.g. `http://localhost:9400/metrics`). */
export function dcgmExporterSource(url: string, options: { timeoutMs?: number } = {}): GpuPowerSource {
  return {
    name: `dcgm-exporter ${url}`,
    async read(atMs, signal) {
      const timeout = AbortSignal.timeout(options.timeoutMs ?? 5000);
      const combined = signal === undefined ? timeout : AbortSignal.any([signal, timeout]);
      try {
        const response = await fetch(url, { signal: combined });
        if (!response.ok) return { unreadable: `${url} answered HTTP ${response.status}.` };
        return parseDcgmMetrics(await response.text(), atMs);
      } catch (error) {
        return { unreadable: `${url} could not be read: ${(error as Error).message}` };
      }
    },
  };
}

/**
 * A meter over `sources`, tried in order: the first that gives at least one GPU reading is used
 * for that snapshot. Keeps at most `keep` readings (oldest dropped) for integration.
 */
export function createEnergyMeter(
  sources: readonly GpuPowerSource[],
  options: { now?: () => number; keep?: number } = {},
): EnergyMeter {
  const now = options.now ?? Date.now;
  const keep = options.keep ?? 100_000;
  const kept: GpuReading[] = [];
  return {
    async read({ signal } = {}) {
      const reasons: string[] = [];
      for (const source of sources) {
        const atMs = now();
        const got = await source.read(atMs, signal);
        if ('unreadable' in got) {
          reasons.push(got.unreadable);
          continue;
        }
        if (got.readings.length === 0) {
          reasons.push(`${source.name} reported no GPU power or energy.`);
          continue;
        }
        kept.push(...got.readings);
        if (kept.length > keep) kept.splice(0, kept.length - keep);
        return { readable: true, source: source.name, atMs, gpus: got.readings };
      }
      const why = reasons.length === 0 ? 'no source was configured.' : reasons.join(' ');
      return { readable: false, reason: `${NO_GPU_POWER}: ${why}` };
    },
    joulesBetween(start, end) {
      if (!start.readable) return start;
      if (!end.readable) return end;
      if (end.atMs < start.atMs) return { readable: false, reason: 'The end reading was taken before the start.' };
      const { figures, unknown } = energyBetween(kept, start.atMs, end.atMs);
      if (figures.length === 0 && unknown.length === 0) {
        return { readable: false, reason: `${NO_GPU_POWER}: no readings were kept between the two snapshots.` };
      }
      return { readable: true, figures, unknown };
    },
  };
}

/** Readings from a dcgm-exporter's `/metrics` text (see core/gpuEnergy.ts `dcgmReadings`). */
export function parseDcgmMetrics(text: string, atMs: number): ParsedReadings {
  return dcgmReadings(parsePrometheusText(text), atMs);
}
