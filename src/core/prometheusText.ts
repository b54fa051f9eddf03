/**
 * The smallest correct reader of the Prometheus text exposition format (version 0.0.4) that the
 * energy readers need: sample lines `name{label="value",…} value [timestamp]`, with label values'
 * escapes (`\\`, `\"`, `\n`) and the special values `NaN`, `+Inf`, `-Inf`. `# HELP` / `# TYPE`
 * comments are skipped: the energy readers know each metric's meaning by name. Why this is not an
 * npm package is in docs/architecture.md ("GPU energy").
 */

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

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*/;

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
  const name = NAME.exec(line)?.[0];
  if (name === undefined) return undefined;
  let rest = line.slice(name.length);
  const labels: Record<string, string> = {};
  if (rest.startsWith('{')) {
    const read = readLabels(rest.slice(1), labels);
    if (read === undefined) return undefined;
    rest = read;
  }
  const parts = rest.trim().split(/\s+/);
  if (parts.length < 1 || parts.length > 2 || parts[0] === '') return undefined;
  const value = sampleValue(parts[0]);
  if (value === undefined) return undefined;
  const sample: PrometheusSample = { name, labels, value };
  if (parts.length === 2) {
    if (!/^-?\d+$/.test(parts[1])) return undefined;
    sample.timestampMs = Number(parts[1]);
  }
  return sample;
}

/** Reads `a="x", b="y"}` into `labels`; returns the text after the closing brace. */
function readLabels(text: string, labels: Record<string, string>): string | undefined {
  let rest = text.trimStart();
  while (!rest.startsWith('}')) {
    const key = LABEL_NAME.exec(rest)?.[0];
    if (key === undefined) return undefined;
    rest = rest.slice(key.length).trimStart();
    if (!rest.startsWith('="')) return undefined;
    let value = '';
    let i = 2;
    for (; i < rest.length && rest[i] !== '"'; i++) {
      if (rest[i] !== '\\') {
        value += rest[i];
        continue;
      }
      const next = rest[++i];
      value += next === 'n' ? '\n' : next;
    }
    if (i >= rest.length) return undefined;
    labels[key] = value;
    rest = rest.slice(i + 1).trimStart();
    if (rest.startsWith(',')) rest = rest.slice(1).trimStart();
    else if (!rest.startsWith('}')) return undefined;
  }
  return rest.slice(1);
}

function sampleValue(text: string): number | undefined {
  if (text === 'NaN') return NaN;
  if (text === '+Inf' || text === 'Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text)) return undefined;
  return Number(text);
}
