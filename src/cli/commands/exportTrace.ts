/**
 * `foreman export <run> --format otlp [--endpoint URL]` and `--format otel-json [--out FILE]`: the
 * run's trace, rebuilt from its journal (core/runTrace.ts) and made by the OpenTelemetry SDK
 * (infra/otelTrace.ts), sent to a collector over OTLP/HTTP or written as OTLP JSON. The ids are
 * derived from the run id, so sending a run again sends the same spans.
 */
import type { JournalEvent } from '../../core/journal';
import { loadRun } from '../../app/workspace';
import type { Workspace } from '../../app/workspace';
import { buildRunTrace, tracesUrl } from '../../core/runTrace';
import { errorMessage } from '../../core/errors';
import { otlpJson, sendOtlp, traceSpans } from '../../infra/otelTrace';
import { EXIT } from '../context';
import type { CommandContext } from '../context';
import { UsageError } from '../options';
import { writeExport } from './exportFile';

/** The collector the exporter would use by itself, from the standard environment variables. */
function collectorFromEnvironment(): string | undefined {
  return process.env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || process.env.OTEL_EXPORTER_OTLP_ENDPOINT || undefined;
}

/** Check the trace options before anything is read. */
export function checkTraceOptions(ctx: CommandContext, format: 'otlp' | 'otel-json'): string | undefined {
  const { endpoint, out } = ctx.cl;
  if (format === 'otel-json') {
    if (endpoint !== undefined)
      throw new UsageError('--endpoint is for --format otlp; otel-json is written to --out or stdout');
    return undefined;
  }
  if (out !== undefined)
    throw new UsageError('--format otlp sends the trace to a collector: use --format otel-json --out FILE for a file');
  if (endpoint === undefined) {
    if (collectorFromEnvironment()) return undefined;
    throw new UsageError(
      '--format otlp needs a collector: --endpoint http://host:4318 (or set OTEL_EXPORTER_OTLP_ENDPOINT)',
    );
  }
  const url = tracesUrl(endpoint);
  if (url === null)
    throw new UsageError(`--endpoint must be an http(s) URL such as http://localhost:4318, not "${endpoint}"`);
  return url;
}

/** Export the trace of `runId` (its journal's `events`) as `format`. */
export async function exportTrace(
  ctx: CommandContext,
  runId: string,
  events: readonly JournalEvent[],
  format: 'otlp' | 'otel-json',
  url: string | undefined,
): Promise<number> {
  const runTrace = buildRunTrace(events);
  if (!runTrace) {
    ctx.err(`Run ${runId} has no start in its journal, so it has no trace to export.`);
    return EXIT.usage;
  }
  const spans = await traceSpans(runTrace);
  if (format === 'otel-json')
    return writeExport(
      ctx,
      otlpJson(spans),
      'the trace',
      (out) => `Exported ${spans.length} spans of run ${runId} to ${out} (OTLP JSON).`,
    );
  const where = url ?? collectorFromEnvironment() ?? 'the collector';
  const sent = await sendOtlp(spans, url);
  if (!sent.ok) {
    const again = `foreman export ${runId} --format otlp${url ? ` --endpoint ${url}` : ''}`;
    ctx.err(
      `Could not send the trace of run ${runId} to ${where}: ${sent.message}. Nothing is lost: the run's journal ` +
        `is unchanged, and ${again} sends the same spans once the collector answers ` +
        `(or keep them in a file: foreman export ${runId} --format otel-json --out trace.json).`,
    );
    return EXIT.backend;
  }
  ctx.err(`Sent ${spans.length} spans of run ${runId} to ${where} (trace ${spans[0].spanContext().traceId}).`);
  return EXIT.ok;
}

/**
 * `foreman run --trace-endpoint URL`: send the run's trace to the collector once the run has
 * stopped driving (whatever its outcome). A failure is said and leaves the run's exit code alone.
 */
export async function traceAfterRun(ctx: CommandContext, ws: Workspace, runId: string, url: string): Promise<void> {
  try {
    const { events } = await loadRun(ws, runId);
    await exportTrace(ctx, runId, events, 'otlp', url);
  } catch (e) {
    ctx.err(
      `Could not export the trace of run ${runId}: ${errorMessage(e)}. Export it later with: foreman export ${runId} --format otlp --endpoint ${url}`,
    );
  }
}
