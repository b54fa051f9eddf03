/**
 * `foreman export <run> [--format csv|json] [--out FILE]`: the run's ledger, every model request
 * of it read from its journal, as JSON with totals per task and for the run (the default) or as
 * CSV, one row per request (core/ledgerExport.ts). On stdout, or in FILE with --out.
 * `--format otlp|otel-json`: the run's trace instead (./exportTrace.ts).
 */
import { exportLedger, ledgerCsv, ledgerJson } from '../../core/ledgerExport';
import { loadRun, openWorkspace } from '../../app/workspace';
import type { CommandHandler } from '../context';
import { UsageError } from '../options';
import { writeExport } from './exportFile';
import { checkTraceOptions, exportTrace } from './exportTrace';

const USAGE = 'export needs one run: foreman export <run> [--format csv|json] [--out FILE]';

export const exportCommand: CommandHandler = async (ctx) => {
  const [runId, ...extra] = ctx.cl.args;
  if (!runId || extra.length > 0) throw new UsageError(USAGE);
  const format = ctx.cl.format ?? 'json';
  if (ctx.cl.json && format !== 'json')
    throw new UsageError(`--json asks for the JSON ledger: leave it out with --format ${format}`);
  if (ctx.cl.flags.price !== undefined)
    throw new UsageError(
      'export shows the costs the run booked at its own prices (foreman run --price), so that it adds up to foreman status; leave --price out',
    );
  const trace = format === 'otlp' || format === 'otel-json' ? format : null;
  const collector = trace ? checkTraceOptions(ctx, trace) : undefined;
  if (!trace && ctx.cl.endpoint !== undefined) throw new UsageError('--endpoint is for --format otlp');
  const ws = await openWorkspace(ctx.cl.cwd, ctx.settings);
  const { events, torn } = await loadRun(ws, runId);
  if (torn) ctx.err(`Note: ${torn}.`);
  if (trace) return exportTrace(ctx, runId, events, trace, collector);
  const exported = exportLedger(events);
  const text = format === 'csv' ? ledgerCsv(exported) : ledgerJson(exported);
  return writeExport(
    ctx,
    text,
    'the export',
    (out) => `Exported ${exported.requests.length} model requests of run ${runId} to ${out} (${format}).`,
  );
};
