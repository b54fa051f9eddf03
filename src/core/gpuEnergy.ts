/**
 * GPU power and energy readings as data: parsers for what `nvidia-smi --query-gpu`, NVML's energy
 * summary and a dcgm-exporter print, and the arithmetic that turns readings into joules per GPU.
 * Nothing here reads a device or the network; src/infra/gpuEnergy.ts does that and hands text here.
 *
 * A value a tool reports as `[N/A]` or `[Not Supported]` is missing (`undefined`), never 0: a GPU
 * whose power is unknown did not draw zero watts.
 */

/** One GPU's reading at one moment. Every measured field is optional: a tool may not report it. */
export interface GpuReading {
  /** The GPU's index as the driver numbers it ("0", "1", …). */
  gpu: string;
  /** When the reading was taken, in milliseconds on one clock shared by every reading compared. */
  atMs: number;
  /** `power.draw` / `DCGM_FI_DEV_POWER_USAGE`, watts (on recent drivers a one-second average). */
  powerW?: number;
  /** `power.draw.instant`, watts: the momentary reading, where the driver has it. */
  powerInstantW?: number;
  /** A total-energy counter (NVML, `DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION`), millijoules since driver load. */
  energyMj?: number;
}

/** A parse that kept what it could: its readings, and a sentence for each line it could not use. */
export interface ParsedReadings {
  readings: GpuReading[];
  problems: string[];
}

const MISSING = new Set(['[n/a]', '[not supported]', 'n/a', '[unknown error]', '[insufficient permissions]']);

/** A reported number, or `undefined` when the tool says it has none or prints something not numeric. */
export function reportedNumber(raw: string): number | undefined {
  const text = raw.trim();
  if (text === '' || MISSING.has(text.toLowerCase())) return undefined;
  const value = Number(text.replace(/\s+[A-Za-z%]+$/, ''));
  return Number.isFinite(value) ? value : undefined;
}

/**
 * nvidia-smi's timestamp (`2026/12/04 14:55:37.887`, the machine's local time without a zone) as
 * milliseconds, read as if it were UTC. Only differences between two such stamps mean anything.
 */
export function nvidiaSmiTimestampMs(raw: string): number | undefined {
  const m = /^(\d{4})\/(\d{2})\/(\d{2}) (\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,3}))?$/.exec(raw.trim());
  if (m === null) return undefined;
  const [, y, mo, d, h, mi, s, frac] = m;
  const ms = frac === undefined ? 0 : Number(frac.padEnd(3, '0'));
  return Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s), ms);
}

/** A column name of `--format=csv` without its unit: `power.draw [W]` → `power.draw`. */
function fieldName(header: string): string {
  return header.replace(/\s*\[[^\]]*\]\s*$/, '').trim();
}

/**
 * Parses `nvidia-smi --query-gpu=… --format=csv[,noheader][,nounits]` output. With a header line
 * the columns are taken from it; without one (`noheader`) pass the `--query-gpu` field list in its
 * order. The columns used are `timestamp`, `index`, `power.draw` and `power.draw.instant`; others
 * are ignored. `timestamp` and `index` are required, the power fields are optional.
 */
export function parseNvidiaSmiCsv(text: string, fields?: readonly string[]): ParsedReadings {
  const lines = text.split(/\r?\n/).filter((line) => line.trim() !== '');
  const problems: string[] = [];
  let columns = fields?.map((f) => f.trim());
  let first = 0;
  if (columns === undefined) {
    if (lines.length === 0) return { readings: [], problems: ['The nvidia-smi output is empty.'] };
    columns = lines[0].split(',').map(fieldName);
    first = 1;
  }
  const at = (name: string): number => columns.indexOf(name);
  const [iTime, iIndex, iPower, iInstant] = ['timestamp', 'index', 'power.draw', 'power.draw.instant'].map(at);
  if (iTime < 0 || iIndex < 0) {
    const msg = 'The nvidia-smi fields must include timestamp and index (e.g. --query-gpu=timestamp,index,power.draw).';
    return { readings: [], problems: [msg] };
  }
  const readings: GpuReading[] = [];
  for (let n = first; n < lines.length; n++) {
    const cells = lines[n].split(',').map((c) => c.trim());
    if (cells.length !== columns.length) {
      problems.push(`Line ${n + 1} has ${cells.length} fields where ${columns.length} were expected.`);
      continue;
    }
    const atMs = nvidiaSmiTimestampMs(cells[iTime]);
    if (atMs === undefined || !/^\d+$/.test(cells[iIndex])) {
      problems.push(`Line ${n + 1} has no readable timestamp or GPU index.`);
      continue;
    }
    const reading: GpuReading = { gpu: cells[iIndex], atMs };
    const power = iPower < 0 ? undefined : reportedNumber(cells[iPower]);
    const instant = iInstant < 0 ? undefined : reportedNumber(cells[iInstant]);
    if (power !== undefined) reading.powerW = power;
    if (instant !== undefined) reading.powerInstantW = instant;
    readings.push(reading);
  }
  return { readings, problems };
}

/** A Prometheus sample, as infra/prometheusText.ts reads it. */
export interface MetricSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/**
 * Readings from a dcgm-exporter's `/metrics` samples: `DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION`
 * (millijoules) and `DCGM_FI_DEV_POWER_USAGE` (watts), per `gpu` label, stamped `atMs` (the
 * exporter's lines carry no time of their own). `problems` are the text's lines that were no samples.
 */
export function dcgmReadings(
  parsed: { samples: readonly MetricSample[]; problems: string[] },
  atMs: number,
): ParsedReadings {
  const byGpu = new Map<string, GpuReading>();
  for (const sample of parsed.samples) {
    const field =
      sample.name === 'DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION'
        ? 'energyMj'
        : sample.name === 'DCGM_FI_DEV_POWER_USAGE'
          ? 'powerW'
          : undefined;
    const gpu = sample.labels.gpu;
    if (field === undefined || gpu === undefined || !Number.isFinite(sample.value)) continue;
    const reading = byGpu.get(gpu) ?? { gpu, atMs };
    reading[field] = sample.value;
    byGpu.set(gpu, reading);
  }
  return { readings: [...byGpu.values()], problems: parsed.problems };
}

/** One phase of an NVML energy summary (`nvml-energy.txt`): what the counter measured over it. */
export interface NvmlPhase {
  label: string;
  /** Joules the counter advanced over the phase, where the line gives them. */
  joules?: number;
  seconds?: number;
  /** Mean watts over the phase (joules ÷ seconds as the capture printed it). */
  watts?: number;
  instantWatts?: number;
  tokensPerSecond?: number;
  tokensPerJoule?: number;
  teraflopsPerJoule?: number;
}

/** The phases of an NVML energy summary, one per `label: …` line that carries a measured figure. */
export function parseNvmlEnergySummary(text: string): NvmlPhase[] {
  const phases: NvmlPhase[] = [];
  const num = (line: string, re: RegExp): number | undefined => {
    const m = re.exec(line);
    return m === null ? undefined : Number(m[1]);
  };
  for (const line of text.split(/\r?\n/)) {
    const m = /^([^:]+):\s(.*)$/.exec(line.trim());
    if (m === null) continue;
    const [, label, rest] = m;
    const phase: NvmlPhase = { label: label.trim() };
    const found: Partial<NvmlPhase> = {
      joules: num(rest, /([\d.]+) J over/),
      seconds: num(rest, /over ([\d.]+) s\b/),
      watts: num(rest, /(?:=|,)\s*([\d.]+) W\b/),
      instantWatts: num(rest, /instant ([\d.]+) W\b/),
      tokensPerSecond: num(rest, /([\d.]+) tok\/s/),
      tokensPerJoule: num(rest, /([\d.]+) tok\/J/),
      teraflopsPerJoule: num(rest, /([\d.]+) TFLOP\/J/),
    };
    for (const [key, value] of Object.entries(found)) {
      if (value !== undefined) Object.assign(phase, { [key]: value });
    }
    if (phase.watts !== undefined || phase.joules !== undefined) phases.push(phase);
  }
  return phases;
}

/** Joules one GPU used between two moments, and how the figure was reached. */
export interface EnergyFigure {
  gpu: string;
  joules: number;
  /** `counter`: the difference of an energy counter (exact to the driver's counter). `integrated`:
   * power samples integrated by the trapezoid rule, an estimate as good as the sampling. */
  method: 'counter' | 'integrated';
  fromMs: number;
  toMs: number;
  /** How many readings the figure rests on. */
  readings: number;
}

/** A GPU seen in the readings whose energy could not be told, with the reason. */
export interface EnergyUnknown {
  gpu: string;
  reason: string;
}

/** Trapezoid integral of watts over the readings (sorted by time), in joules; `undefined` under two samples. */
export function integratePower(
  readings: readonly GpuReading[],
  watts: (r: GpuReading) => number | undefined,
): { joules: number; fromMs: number; toMs: number; readings: number } | undefined {
  const points = readings.flatMap((r) => {
    const w = watts(r);
    return w === undefined ? [] : [{ atMs: r.atMs, w }];
  });
  points.sort((a, b) => a.atMs - b.atMs);
  if (points.length < 2) return undefined;
  let joules = 0;
  for (let i = 1; i < points.length; i++) {
    joules += ((points[i].atMs - points[i - 1].atMs) / 1000) * ((points[i].w + points[i - 1].w) / 2);
  }
  return { joules, fromMs: points[0].atMs, toMs: points[points.length - 1].atMs, readings: points.length };
}

/**
 * Joules per GPU between `fromMs` and `toMs` (inclusive) from the readings taken then. An energy
 * counter is preferred: its value at the first and last reading in the span. Without one, the
 * `power.draw` samples in the span are integrated (`power.draw.instant` where `power.draw` is
 * missing) and the figure says `integrated`. A GPU with neither is listed in `unknown`.
 */
export function energyBetween(
  readings: readonly GpuReading[],
  fromMs: number,
  toMs: number,
): { figures: EnergyFigure[]; unknown: EnergyUnknown[] } {
  const byGpu = new Map<string, GpuReading[]>();
  for (const r of readings) {
    if (r.atMs < fromMs || r.atMs > toMs) continue;
    const list = byGpu.get(r.gpu);
    if (list === undefined) byGpu.set(r.gpu, [r]);
    else list.push(r);
  }
  const figures: EnergyFigure[] = [];
  const unknown: EnergyUnknown[] = [];
  for (const [gpu, list] of [...byGpu].sort(([a], [b]) => Number(a) - Number(b))) {
    const counted = list.filter((r) => r.energyMj !== undefined).sort((a, b) => a.atMs - b.atMs);
    if (counted.length >= 2) {
      const first = counted[0];
      const last = counted[counted.length - 1];
      const mj = (last.energyMj ?? 0) - (first.energyMj ?? 0);
      if (mj >= 0) {
        figures.push({ gpu, joules: mj / 1000, method: 'counter', fromMs: first.atMs, toMs: last.atMs, readings: 2 });
        continue;
      }
    }
    const power = integratePower(list, (r) => r.powerW ?? r.powerInstantW);
    if (power !== undefined) {
      figures.push({ gpu, method: 'integrated', ...power });
      continue;
    }
    unknown.push({ gpu, reason: unknownReason(counted) });
  }
  return { figures, unknown };
}

function unknownReason(counted: readonly GpuReading[]): string {
  if (counted.length >= 2) {
    return 'Its energy counter went backwards (the driver was reloaded?) and too few power samples were taken.';
  }
  return 'Fewer than two readings with an energy counter or a power draw were taken in the span.';
}
