/**
 * A run's trace (core/runTrace.ts) through the OpenTelemetry SDK, in the GenAI semantic
 * conventions: spans made by the SDK's tracer with the journal's start and end times and ids
 * derived from the run id, then sent to a collector over OTLP/HTTP (JSON) or written in the OTLP
 * JSON encoding. The same journal always gives the same trace and span ids, so exporting a run
 * twice sends the same spans again (a collector or backend that de-duplicates by id keeps one).
 *
 * Attributes follow the GenAI conventions as `@opentelemetry/semantic-conventions` 1.45 exports
 * them from its `incubating` entry (`gen_ai.provider.name`, not the older `gen_ai.system`); the
 * package marks them deprecated only because they moved to the semantic-conventions-genai
 * repository, with the same names. `server.*` and `error.type` are stable. Foreman's own figures
 * that the conventions have no name for are under `foreman.*`.
 */
import { createHash } from 'node:crypto';
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { Attributes, Context } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { JsonTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  AlwaysOnSampler,
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import type { IdGenerator, ReadableSpan } from '@opentelemetry/sdk-trace-base';
import {
  ATTR_ERROR_TYPE,
  ATTR_SERVER_ADDRESS,
  ATTR_SERVER_PORT,
  ATTR_SERVICE_NAME,
} from '@opentelemetry/semantic-conventions';
import {
  ATTR_GEN_AI_AGENT_DESCRIPTION,
  ATTR_GEN_AI_AGENT_ID,
  ATTR_GEN_AI_AGENT_NAME,
  ATTR_GEN_AI_CONVERSATION_ID,
  ATTR_GEN_AI_OPERATION_NAME,
  ATTR_GEN_AI_PROVIDER_NAME,
  ATTR_GEN_AI_REQUEST_MODEL,
  ATTR_GEN_AI_RESPONSE_MODEL,
  ATTR_GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK,
  ATTR_GEN_AI_TOOL_CALL_ID,
  ATTR_GEN_AI_TOOL_NAME,
  ATTR_GEN_AI_TOOL_TYPE,
  ATTR_GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS,
  ATTR_GEN_AI_USAGE_INPUT_TOKENS,
  ATTR_GEN_AI_USAGE_OUTPUT_TOKENS,
  ATTR_GEN_AI_USAGE_REASONING_OUTPUT_TOKENS,
  ATTR_GEN_AI_WORKFLOW_NAME,
  GEN_AI_OPERATION_NAME_VALUE_CHAT,
  GEN_AI_OPERATION_NAME_VALUE_EXECUTE_TOOL,
  GEN_AI_OPERATION_NAME_VALUE_INVOKE_AGENT,
  GEN_AI_OPERATION_NAME_VALUE_INVOKE_WORKFLOW,
  GEN_AI_PROVIDER_NAME_VALUE_OPENAI,
} from '@opentelemetry/semantic-conventions/incubating';
import type { RunTrace, TraceSubject } from '../core/runTrace';
import { errorMessage } from '../core/errors';

/** The workflow's name on the run's span (`invoke_workflow foreman`). */
const WORKFLOW = 'foreman';

/** The run's trace id: 16 bytes of SHA-256 over the run id, in hex. */
export function traceIdOf(runId: string): string {
  return createHash('sha256').update(`foreman-trace\0${runId}`).digest('hex').slice(0, 32);
}

/** A span's id: 8 bytes of SHA-256 over the run id and the span's key, in hex. */
export function spanIdOf(runId: string, key: string): string {
  return createHash('sha256').update(`foreman-span\0${runId}\0${key}`).digest('hex').slice(0, 16);
}

/** Hands the SDK the ids chosen for the span it is about to start. */
class ChosenIds implements IdGenerator {
  traceId = '';
  spanId = '';
  generateTraceId(): string {
    return this.traceId;
  }
  generateSpanId(): string {
    return this.spanId;
  }
}

/** The run's spans as the SDK makes them (ReadableSpans, ended, with the journal's times), parents before children. */
export async function traceSpans(runTrace: RunTrace): Promise<ReadableSpan[]> {
  const ids = new ChosenIds();
  ids.traceId = traceIdOf(runTrace.runId);
  const collected = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: 'foreman' }),
    // Every span, whatever OTEL_TRACES_SAMPLER says: an export that drops some of a run would mislead.
    sampler: new AlwaysOnSampler(),
    idGenerator: ids,
    spanProcessors: [new SimpleSpanProcessor(collected)],
  });
  const tracer = provider.getTracer('foreman');
  const contexts = new Map<string, Context>();
  for (const span of runTrace.spans) {
    ids.spanId = spanIdOf(runTrace.runId, span.key);
    const parent = span.parent === null ? ROOT_CONTEXT : (contexts.get(span.parent) ?? ROOT_CONTEXT);
    const { name, kind, attributes } = describe(runTrace.runId, span.subject);
    const made = tracer.startSpan(name, { kind, startTime: span.startMs, attributes }, parent);
    if (span.error) {
      made.setAttribute(ATTR_ERROR_TYPE, span.error.type);
      made.setStatus({ code: SpanStatusCode.ERROR, message: span.error.message });
    }
    for (const event of span.events) made.addEvent(event.name, event.attributes, event.atMs);
    made.end(span.endMs);
    contexts.set(span.key, trace.setSpan(ROOT_CONTEXT, made));
  }
  await provider.forceFlush();
  const spans = collected.getFinishedSpans();
  await provider.shutdown();
  return spans;
}

/** The OTLP JSON encoding of `spans` (what the OTLP/HTTP exporter sends), two-space indented. */
export function otlpJson(spans: ReadableSpan[]): string {
  const bytes = JsonTraceSerializer.serializeRequest(spans);
  if (!bytes) throw new Error('the OTLP serializer returned nothing');
  return `${JSON.stringify(JSON.parse(new TextDecoder().decode(bytes)), null, 2)}\n`;
}

/** Spans per request to a collector. */
const BATCH = 512;

/** What sending to a collector came to. */
export type OtlpSendResult = { ok: true } | { ok: false; message: string };

/**
 * Send `spans` to a collector over OTLP/HTTP with JSON bodies. `url` undefined: the exporter's own
 * configuration (OTEL_EXPORTER_OTLP_TRACES_ENDPOINT or OTEL_EXPORTER_OTLP_ENDPOINT). Headers come
 * from OTEL_EXPORTER_OTLP_HEADERS / OTEL_EXPORTER_OTLP_TRACES_HEADERS, read by the exporter.
 * Never throws for a collector that is down or refuses: the result says why.
 */
export async function sendOtlp(
  spans: ReadableSpan[],
  url: string | undefined,
  timeoutMs = 10_000,
): Promise<OtlpSendResult> {
  const exporter = new OTLPTraceExporter({ ...(url ? { url } : {}), timeoutMillis: timeoutMs });
  try {
    // In requests of at most BATCH spans (the SDK's batch processor's default), so a long run does
    // not become one body larger than a collector takes; a re-send after a failure repeats the ids.
    for (let at = 0; at < spans.length; at += BATCH) {
      const batch = spans.slice(at, at + BATCH);
      const result = await new Promise<{ code: number; error?: Error }>((resolve) => exporter.export(batch, resolve));
      // ExportResultCode.SUCCESS (@opentelemetry/core) is 0.
      if (result.code !== 0)
        return {
          ok: false,
          message: result.error ? errorMessage(result.error) : 'the collector did not accept the spans',
        };
    }
    return { ok: true };
  } finally {
    await exporter.shutdown();
  }
}

function describe(runId: string, s: TraceSubject): { name: string; kind: SpanKind; attributes: Attributes } {
  const provider = { [ATTR_GEN_AI_PROVIDER_NAME]: GEN_AI_PROVIDER_NAME_VALUE_OPENAI };
  switch (s.kind) {
    case 'run':
      return {
        name: `${GEN_AI_OPERATION_NAME_VALUE_INVOKE_WORKFLOW} ${WORKFLOW}`,
        kind: SpanKind.INTERNAL,
        attributes: {
          [ATTR_GEN_AI_OPERATION_NAME]: GEN_AI_OPERATION_NAME_VALUE_INVOKE_WORKFLOW,
          [ATTR_GEN_AI_WORKFLOW_NAME]: WORKFLOW,
          ...provider,
          [ATTR_GEN_AI_REQUEST_MODEL]: s.model,
          ...server(s.endpoint),
          'foreman.run.id': runId,
          ...(s.outcome ? { 'foreman.run.outcome': s.outcome } : {}),
        },
      };
    case 'task':
      return {
        name: `${GEN_AI_OPERATION_NAME_VALUE_INVOKE_AGENT} ${s.taskId}`,
        kind: SpanKind.INTERNAL,
        attributes: {
          [ATTR_GEN_AI_OPERATION_NAME]: GEN_AI_OPERATION_NAME_VALUE_INVOKE_AGENT,
          ...provider,
          [ATTR_GEN_AI_AGENT_NAME]: s.taskId,
          [ATTR_GEN_AI_AGENT_ID]: `${runId}/${s.taskId}`,
          [ATTR_GEN_AI_AGENT_DESCRIPTION]: s.title,
          [ATTR_GEN_AI_CONVERSATION_ID]: `${runId}/${s.taskId}`,
          'foreman.task.id': s.taskId,
          'foreman.task.status': s.status,
          ...(s.reason ? { 'foreman.task.reason': s.reason } : {}),
        },
      };
    case 'chat':
      return {
        name: `${GEN_AI_OPERATION_NAME_VALUE_CHAT} ${s.requestModel}`,
        kind: SpanKind.CLIENT,
        attributes: chat(runId, s),
      };
    case 'tool':
      return {
        name: `${GEN_AI_OPERATION_NAME_VALUE_EXECUTE_TOOL} ${s.tool}`,
        kind: SpanKind.INTERNAL,
        attributes: {
          [ATTR_GEN_AI_OPERATION_NAME]: GEN_AI_OPERATION_NAME_VALUE_EXECUTE_TOOL,
          [ATTR_GEN_AI_TOOL_NAME]: s.tool,
          [ATTR_GEN_AI_TOOL_TYPE]: 'function',
          ...(s.callId ? { [ATTR_GEN_AI_TOOL_CALL_ID]: s.callId } : {}),
          [ATTR_GEN_AI_CONVERSATION_ID]: `${runId}/${s.taskId}`,
          'foreman.task.id': s.taskId,
          'foreman.step': s.step,
          'foreman.tool.summary': s.summary,
        },
      };
  }
}

function chat(runId: string, s: Extract<TraceSubject, { kind: 'chat' }>): Attributes {
  const a: Attributes = {
    [ATTR_GEN_AI_OPERATION_NAME]: GEN_AI_OPERATION_NAME_VALUE_CHAT,
    [ATTR_GEN_AI_PROVIDER_NAME]: GEN_AI_PROVIDER_NAME_VALUE_OPENAI,
    [ATTR_GEN_AI_REQUEST_MODEL]: s.requestModel,
    [ATTR_GEN_AI_RESPONSE_MODEL]: s.responseModel,
    ...server(s.endpoint),
    'foreman.role': s.role,
    'foreman.request.attempts': s.attempts,
  };
  if (s.taskId !== null) {
    a[ATTR_GEN_AI_CONVERSATION_ID] = `${runId}/${s.taskId}`;
    a['foreman.task.id'] = s.taskId;
  }
  if (s.usage) {
    a[ATTR_GEN_AI_USAGE_INPUT_TOKENS] = s.usage.promptTokens;
    a[ATTR_GEN_AI_USAGE_OUTPUT_TOKENS] = s.usage.completionTokens;
    // Unreported is left out, never 0.
    if (s.usage.cachedTokens !== null) a[ATTR_GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS] = s.usage.cachedTokens;
    if (s.usage.reasoningTokens !== null) a[ATTR_GEN_AI_USAGE_REASONING_OUTPUT_TOKENS] = s.usage.reasoningTokens;
    a['foreman.usage.estimated'] = s.usage.estimated;
  }
  if (s.timing?.ttftMs != null) a[ATTR_GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK] = s.timing.ttftMs / 1000;
  if (s.cost !== null) a['foreman.cost'] = s.cost;
  return a;
}

/** `server.address` and `server.port` of a backend's base URL (none when it is not a URL). */
function server(endpoint: string): Attributes {
  try {
    const url = new URL(endpoint);
    const port = url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;
    return { [ATTR_SERVER_ADDRESS]: url.hostname, [ATTR_SERVER_PORT]: port };
  } catch {
    return {};
  }
}
