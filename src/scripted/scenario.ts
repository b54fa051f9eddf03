/**
 * Scripted conversations for the scripted backend. A scenario lists, per role (and per task for
 * agents), what the model answers at each step; the request is routed by the markers of
 * src/core/promptMarkers.ts, so the same script drives tests, the demo and benchmarks.
 */
import { findRole, findTask } from '../core/promptMarkers';
import type { ChatRequest, Fault, Reply, Responder, WireMessage } from './server';

/** A reply computed from the request (for example, echoing a file the agent read). */
export type StepFn = (request: ChatRequest) => Reply;

/**
 * One step of a script: a reply, a function of the request, or faults that the first attempts
 * of this step get (in order) before the reply.
 */
export type Step = Reply | StepFn | { faults: Fault[]; then: Reply | StepFn };

/** What each role answers, step by step. Past the end of a list, its last step repeats. */
export interface Scenario {
  planner?: Step[];
  reviewer?: Step[];
  /** Scripts per task id. */
  agents?: Record<string, Step[]>;
  /** The script of an agent whose task has none; without it, an agent calls `finish` at once. */
  defaultAgent?: Step[];
}

/** A reply that calls one tool. */
export function toolCall(name: string, args: unknown): Reply {
  return { toolCalls: [{ name, arguments: args }] };
}

/** A plain text reply. */
export function text(content: string): Reply {
  return { content };
}

const FINISH: Step[] = [toolCall('finish', { summary: 'done' })];

function messageText(m: WireMessage): string {
  if (typeof m.content === 'string') return m.content;
  return (m.content ?? []).map((p) => p.text ?? '').join('');
}

/**
 * A responder that plays `scenario`. The role comes from the system message, the task from the
 * first task marker in any message, and the step is the number of assistant messages already in
 * the request. Fault attempts are counted per (role, task, step) inside this responder, so use a
 * fresh responder for each independent run. A request without a role marker gets plain text.
 */
export function scenarioResponder(scenario: Scenario): Responder {
  const attempts = new Map<string, number>();
  return (request) => {
    const system = request.messages.find((m) => m.role === 'system');
    const role = system ? findRole(messageText(system)) : null;
    if (role === null) return text('This is the Foreman scripted backend; the request carried no role marker.');
    let task: string | null = null;
    for (const m of request.messages) {
      task = findTask(messageText(m));
      if (task !== null) break;
    }
    const step = request.messages.filter((m) => m.role === 'assistant').length;
    const steps = scriptFor(scenario, role, task);
    const chosen = steps[Math.min(step, steps.length - 1)];
    if (typeof chosen === 'function') return chosen(request);
    if (!('faults' in chosen)) return chosen;
    const key = `${role}\u0000${task ?? ''}\u0000${step}`;
    const attempt = attempts.get(key) ?? 0;
    attempts.set(key, attempt + 1);
    if (attempt < chosen.faults.length) return chosen.faults[attempt];
    return typeof chosen.then === 'function' ? chosen.then(request) : chosen.then;
  };
}

function scriptFor(scenario: Scenario, role: 'planner' | 'agent' | 'reviewer', task: string | null): Step[] {
  const nonEmpty = (s: Step[] | undefined): Step[] | undefined => (s && s.length > 0 ? s : undefined);
  if (role !== 'agent') return nonEmpty(scenario[role]) ?? [text(`The scenario has no script for the ${role}.`)];
  const own = task !== null ? nonEmpty(scenario.agents?.[task]) : undefined;
  return own ?? nonEmpty(scenario.defaultAgent) ?? FINISH;
}
