/**
 * Prometheus text exposition (version 0.0.4) as samples, for the readers of servers' and
 * exporters' `/metrics`. The parsing is `parse-prometheus-text-format` (the format's most used
 * JavaScript parser, with label escapes and the special values); this module feeds it one line at a
 * time so that one malformed line is reported and the rest kept, removes the blanks between labels
 * that it refuses, and checks what it returns (it keeps values as text and accepts some lines the
 * format does not). `# HELP` / `# TYPE` comments
 * are skipped: the readers know each metric's meaning by name.
 */
import parsePrometheusTextFormat from 'parse-prometheus-text-format';

/** One sample line. */
export interface PrometheusSample {
  name: string;
  labels: Record<string, string>;
  value: number;
  /** The optional timestamp at the end of the line, milliseconds since the epoch. */
  timestampMs?: number;
}

/** Every sample the text holds, and a sentence for each line that is not a valid sample. */
export interface PrometheusText {
  samples: PrometheusSample[];
  problems: string[];
}

/** Parses a whole exposition; a malformed line is reported in `problems` and the rest kept. */
export function parsePrometheusText(text: string): PrometheusText {
  const samples: PrometheusSample[] = [];
  const problems: string[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const sample = parseSampleLine(line);
    if (sample === undefined) problems.push(`Line ${i + 1} is not a Prometheus sample: ${line.slice(0, 80)}`);
    else samples.push(sample);
  });
  return { samples, problems };
}

function parseSampleLine(line: string): PrometheusSample | undefined {
  let families: ReturnType<typeof parsePrometheusTextFormat>;
  try {
    // The parser reads a line only when it ends with a newline.
    families = parsePrometheusTextFormat(`${withoutLabelBlanks(line)}\n`);
  } catch {
    return undefined;
  }
  const metric = families.length === 1 ? families[0].metrics[0] : undefined;
  if (metric === undefined || families[0].metrics.length !== 1) return undefined;
  const value = sampleValue(metric.value);
  if (value === undefined) return undefined;
  const sample: PrometheusSample = { name: families[0].name, labels: { ...(metric.labels ?? {}) }, value };
  if (metric.timestamp_ms !== undefined) {
    if (!/^-?\d+$/.test(metric.timestamp_ms)) return undefined;
    sample.timestampMs = Number(metric.timestamp_ms);
  }
  return sample;
}

/**
 * The line with the blanks between labels removed (`{gpu="0", UUID="x"}` as dcgm-exporter writes
 * it). The format allows them, and Prometheus' own parser skips them, but this parser refuses them;
 * blanks inside label values are kept.
 */
function withoutLabelBlanks(line: string): string {
  let out = '';
  let inBraces = false;
  let inValue = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (inValue) {
      out += c;
      if (c === '\\') out += line[++i] ?? '';
      else if (c === '"') inValue = false;
    } else if (inBraces && (c === ' ' || c === '\t')) {
      continue;
    } else {
      out += c;
      if (c === '{') inBraces = true;
      else if (c === '}') inBraces = false;
      else if (c === '"' && inBraces) inValue = true;
    }
  }
  return out;
}

function sampleValue(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (text === 'NaN') return NaN;
  if (text === '+Inf' || text === 'Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text)) return undefined;
  return Number(text);
}
