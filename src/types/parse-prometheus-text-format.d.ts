// Types for parse-prometheus-text-format 1.1.1, which ships none: what its parser returns for the
// sample lines Foreman reads (histograms and summaries, which it also returns, are not used).
declare module 'parse-prometheus-text-format' {
  interface ParsedMetric {
    value?: string;
    labels?: Record<string, string>;
    timestamp_ms?: string;
  }
  interface ParsedFamily {
    name: string;
    help: string;
    type: string;
    metrics: ParsedMetric[];
  }
  export default function parsePrometheusTextFormat(text: string): ParsedFamily[];
}
