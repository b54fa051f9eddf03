/**
 * A rough, documented estimate of what a run of a plan will cost in tokens (and money, when a
 * price is known), shown before the run starts. It is a heuristic, not a promise.
 */
import type { Plan, TaskSpec } from './plan';

/** Inputs of the estimate. Token counts are per request or per step, as named. */
export interface EstimateInput {
  /** Tokens of the prompt prefix every agent request starts with (system prompt, tools, repo view). */
  prefixTokens: number;
  /** Model turns per task. Default 12. */
  stepsPerTask?: number;
  /** Tokens the model writes per step (text and tool calls). Default 350. */
  outputTokensPerStep?: number;
  /** Tokens of tool results added to the conversation per step. Default 600. */
  toolResultTokensPerStep?: number;
  /**
   * Share of input tokens served from the backend's prefix cache, 0..1. Default 0.8, which assumes
   * the backend caches prefixes; pass 0 for one that does not.
   */
  cacheHitRate?: number;
  /** Prices per million tokens; without it costs are null. */
  price?: { input: number; cachedInput: number; output: number };
}

/** Token counts and cost of one task or of the run. `input` includes `cached`. */
export interface TokenEstimate {
  input: number;
  cached: number;
  output: number;
  /** Cost in the price's currency, or null without a price. */
  cost: number | null;
}

/** The estimate for a plan. */
export interface RunEstimate {
  perTask: ({ id: string } & TokenEstimate)[];
  total: TokenEstimate;
  /** The assumptions behind the numbers, in one paragraph for people. */
  assumptions: string;
}

/** Characters per token assumed for the task's own text. */
const CHARS_PER_TOKEN = 4;
/** Tokens of framing around the task's text in the first task message. */
const TASK_FRAMING_TOKENS = 50;

/**
 * Estimate a run of `plan`. For each task, every step sends the whole conversation again: the
 * shared prefix, the task's own message (its text at ~4 characters a token plus framing) and the
 * history so far, which grows by one step's output and tool results each step. So over S steps,
 * input = S × (prefix + task) + (output + toolResults) × S(S−1)/2, and output = S × outputPerStep.
 * `cached` = input × cacheHitRate. Cost = uncached input × input price + cached × cached price +
 * output × output price (prices per million). The planner, reviews and retries are not counted.
 * Out-of-range inputs are clamped (steps ≥ 1, counts ≥ 0, hit rate in 0..1).
 */
export function estimateRun(plan: Plan, input: EstimateInput): RunEstimate {
  const steps = Math.max(1, Math.round(input.stepsPerTask ?? 12));
  const outPerStep = Math.max(0, input.outputTokensPerStep ?? 350);
  const toolPerStep = Math.max(0, input.toolResultTokensPerStep ?? 600);
  const hitRate = Math.min(1, Math.max(0, input.cacheHitRate ?? 0.8));
  const prefix = Math.max(0, input.prefixTokens);

  const perTask = plan.tasks.map((task) => {
    const firstPrompt = prefix + taskTokens(task);
    const inputTokens = Math.round(steps * firstPrompt + ((outPerStep + toolPerStep) * steps * (steps - 1)) / 2);
    const counts = {
      input: inputTokens,
      cached: Math.round(inputTokens * hitRate),
      output: Math.round(steps * outPerStep),
    };
    return { id: task.id, ...counts, cost: costOf(counts, input.price) };
  });
  const sum = (pick: (t: TokenEstimate) => number) => perTask.reduce((acc, t) => acc + pick(t), 0);
  const totals = { input: sum((t) => t.input), cached: sum((t) => t.cached), output: sum((t) => t.output) };
  const assumptions =
    `${steps} model steps per task; every step resends the shared prefix (${prefix} tokens), the task ` +
    `(its text at ~${CHARS_PER_TOKEN} characters a token) and the conversation so far, which grows by ` +
    `${outPerStep} output and ${toolPerStep} tool-result tokens a step; ${Math.round(hitRate * 100)}% of input ` +
    `tokens assumed served from the prefix cache; ` +
    (input.price ? 'costs use the given prices per million tokens; ' : 'no price given, so no costs; ') +
    'the planner, reviews, verification fixes and retries are not included.';
  return { perTask, total: { ...totals, cost: costOf(totals, input.price) }, assumptions };
}

/** Tokens of a task's own text in its first message. */
function taskTokens(task: TaskSpec): number {
  const text = [task.title, task.instructions, ...task.acceptance, ...task.files].join('\n');
  return Math.ceil(text.length / CHARS_PER_TOKEN) + TASK_FRAMING_TOKENS;
}

function costOf(
  counts: { input: number; cached: number; output: number },
  price: EstimateInput['price'],
): number | null {
  if (!price) return null;
  const uncached = counts.input - counts.cached;
  return (uncached * price.input + counts.cached * price.cachedInput + counts.output * price.output) / 1_000_000;
}
