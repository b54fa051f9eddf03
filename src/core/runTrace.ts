/**
 * A run's trace, rebuilt after the fact from its journal: one span for the run, one per task, one
 * per model request and one per tool call, each with the times the journal recorded. Pure: the
 * OpenTelemetry mapping (span names, GenAI attributes, ids, export) is src/infra/otelTrace.ts.
 *
 * Times: a model request's event is written when it ends, and its timing holds the duration of
 * the attempt that answered, so its span is [t - durationMs, t] (earlier failed attempts and the
 * wait for a request slot are not in it). A request that failed has no timing: its span runs from
 * the step that sent it to the event. A tool call's event holds its duration (journals written
 * before it did: the span starts at the step event that announced the call). A task's span runs
 * from its first status after `queued` to its last event; the run's from its first event to its last.
 */
import type { JournalEvent, RequestRole, TaskStatus } from './journal';
import type { RequestTiming, Usage } from './model';

/** What a span stands for, with the journal's figures for it. */
export type TraceSubject =
  | { kind: 'run'; runId: string; model: string; endpoint: string; outcome: string | null }
  | { kind: 'task'; taskId: string; title: string; status: TaskStatus; reason: string | null }
  | {
      kind: 'chat';
      role: RequestRole;
      taskId: string | null;
      /** The model the run asked for (its setting); the reviewer's requests name their own. */
      requestModel: string;
      /** The model the server reported (the configured one when the request failed). */
      responseModel: string;
      endpoint: string;
      usage: Usage | null;
      timing: RequestTiming | null;
      attempts: number;
      cost: number | null;
    }
  | { kind: 'tool'; taskId: string; tool: string; callId: string | null; step: number; summary: string };

/** A span: `key` is stable for the same journal (ids are derived from it), `parent` null for the run. */
export interface TraceSpan {
  key: string;
  parent: string | null;
  startMs: number;
  endMs: number;
  subject: TraceSubject;
  /** Set when what the span stands for failed. */
  error: { type: string; message: string } | null;
  /** Things that happened during the span, at their time (e.g. a conversation compacted). */
  events: { name: string; atMs: number; attributes: Record<string, number | string> }[];
}

/** A run's spans, the run's first, then in the journal's order. */
export interface RunTrace {
  runId: string;
  spans: TraceSpan[];
}

const FAILED_TASK: ReadonlySet<TaskStatus> = new Set(['failed', 'blocked']);

/** The trace of the run whose journal `events` are; null when the journal has no `run_started`. */
export function buildRunTrace(events: readonly JournalEvent[]): RunTrace | null {
  const started = events.find((e) => e.type === 'run_started');
  if (started?.type !== 'run_started') return null;
  const run: TraceSpan = {
    key: 'run',
    parent: null,
    startMs: events[0].t,
    endMs: events[events.length - 1].t,
    subject: {
      kind: 'run',
      runId: started.runId,
      model: started.settings.model,
      endpoint: started.settings.endpoint,
      outcome: null,
    },
    error: null,
    events: [],
  };
  const builder = new TraceBuilder(run, started.settings.model);
  for (const e of events) builder.add(e);
  return { runId: started.runId, spans: builder.finish() };
}

class TraceBuilder {
  private readonly spans: TraceSpan[] = [];
  private readonly tasks = new Map<string, TraceSpan>();
  private readonly titles = new Map<string, string>();
  /** When each task's current step began (its model request leaves then). */
  private readonly stepAt = new Map<string, number>();
  /** When each task's announced tool call began (journals without durations). */
  private readonly toolAt = new Map<string, number>();

  constructor(
    private readonly run: TraceSpan,
    private readonly model: string,
  ) {
    this.spans.push(run);
  }

  add(e: JournalEvent): void {
    switch (e.type) {
      case 'plan':
        for (const t of e.plan.tasks) this.titles.set(t.id, t.title);
        return;
      case 'task_status':
        return this.taskStatus(e.taskId, e.status, e.reason ?? null, e.t);
      case 'task_step':
        (e.tool === null ? this.stepAt : this.toolAt).set(e.taskId, e.t);
        return this.touch(e.taskId, e.t);
      case 'model_request':
        return this.request(e);
      case 'tool_call':
        return this.tool(e);
      case 'run_finished':
        this.run.subject = { ...this.run.subject, outcome: e.status } as TraceSubject;
        this.run.error = e.status === 'failed' ? { type: 'run_failed', message: e.message } : null;
        return;
      case 'note':
        if (e.taskId !== null) this.touch(e.taskId, e.t);
        return;
      case 'compacted':
        this.touch(e.taskId, e.t);
        this.tasks.get(e.taskId)?.events.push({
          name: 'foreman.compacted',
          atMs: e.t,
          attributes: {
            'foreman.tokens_before': e.tokensBefore,
            'foreman.tokens_after': e.tokensAfter,
            'foreman.elided': e.elided,
            ...(e.contextWindow === null ? {} : { 'foreman.context_window': e.contextWindow }),
          },
        });
        return;
      default:
        if ('taskId' in e && typeof e.taskId === 'string') this.touch(e.taskId, e.t);
    }
  }

  finish(): TraceSpan[] {
    return this.spans;
  }

  private taskStatus(taskId: string, status: TaskStatus, reason: string | null, t: number): void {
    let span = this.tasks.get(taskId);
    if (!span) {
      if (status === 'queued') return;
      span = {
        key: `task:${taskId}`,
        parent: 'run',
        startMs: t,
        endMs: t,
        subject: { kind: 'task', taskId, title: this.titles.get(taskId) ?? taskId, status, reason },
        error: null,
        events: [],
      };
      this.tasks.set(taskId, span);
      this.spans.push(span);
    }
    span.endMs = Math.max(span.endMs, t);
    span.subject = { kind: 'task', taskId, title: this.titles.get(taskId) ?? taskId, status, reason };
    span.error = FAILED_TASK.has(status) ? { type: `task_${status}`, message: reason ?? status } : null;
  }

  /** Stretch a task's span to `t` (a task's events after its last status still belong to it). */
  private touch(taskId: string, t: number): void {
    const span = this.tasks.get(taskId);
    if (span) span.endMs = Math.max(span.endMs, t);
  }

  private request(e: Extract<JournalEvent, { type: 'model_request' }>): void {
    const parent = e.taskId !== null && this.tasks.has(e.taskId) ? `task:${e.taskId}` : 'run';
    const startMs = e.timing
      ? e.t - e.timing.durationMs
      : ((e.taskId !== null ? this.stepAt.get(e.taskId) : undefined) ?? e.t);
    this.spans.push({
      key: `event:${e.seq}`,
      parent,
      startMs,
      endMs: e.t,
      subject: {
        kind: 'chat',
        role: e.role,
        taskId: e.taskId,
        requestModel: e.role === 'reviewer' ? e.model : this.model,
        responseModel: e.model,
        endpoint: e.endpoint,
        usage: e.usage,
        timing: e.timing,
        attempts: e.attempts,
        cost: e.cost,
      },
      error: e.ok ? null : { type: errorType(e.error), message: e.error ?? 'the request failed' },
      events: [],
    });
    if (e.taskId !== null) this.touch(e.taskId, e.t);
  }

  private tool(e: Extract<JournalEvent, { type: 'tool_call' }>): void {
    const startMs = e.durationMs !== undefined ? e.t - e.durationMs : (this.toolAt.get(e.taskId) ?? e.t);
    this.spans.push({
      key: `event:${e.seq}`,
      parent: this.tasks.has(e.taskId) ? `task:${e.taskId}` : 'run',
      startMs,
      endMs: e.t,
      subject: {
        kind: 'tool',
        taskId: e.taskId,
        tool: e.tool,
        callId: e.callId ?? null,
        step: e.step,
        summary: e.summary,
      },
      error: e.ok ? null : { type: 'tool_error', message: e.summary },
      events: [],
    });
    this.touch(e.taskId, e.t);
  }
}

/** A failed request's `error.type`: the ModelErrorReason the journal's text starts with (`reason: message`). */
function errorType(error: string | undefined): string {
  const m = /^([a-z_]+):/.exec(error ?? '');
  return m ? m[1] : '_OTHER';
}

/**
 * The collector URL for `endpoint`: a base URL (`http://host:4318`) gets the traces path
 * `v1/traces` appended, as OTEL_EXPORTER_OTLP_ENDPOINT does; a URL already ending in `/v1/traces`
 * is used as it is. Null when it is not an http(s) URL.
 */
export function tracesUrl(endpoint: string): string | null {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    return null;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return null;
  if (!/\/v1\/traces\/?$/.test(url.pathname)) url.pathname = `${url.pathname.replace(/\/$/, '')}/v1/traces`;
  return url.toString();
}
