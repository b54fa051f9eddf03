/**
 * What a run of a plan will cost in tokens (and money, when a price is known), shown before the
 * run starts: a point estimate inside a range, modelled on what agent steps cost and learned from
 * the repository's finished runs when it has some.
 *
 * The model. An agent's task is a conversation of S model steps. Step k resends the whole
 * conversation: the shared prefix P (system prompt, tools, repository view), the task's message T
 * and what the earlier steps added, g tokens a step (the model's output and the tool results). So
 * step k's prompt is P + T + (k−1)·g, and a task's input is S·(P+T) + g·S(S−1)/2. The history is
 * append-only, so a backend with a prefix cache serves each step's prompt up to the end of the
 * step before from its cache: step 1 finds only P cached (the prefix every agent shares), step k
 * finds step k−1's prompt. Output is S·o. A reviewed task adds one reviewer request.
 *
 * The parameters. S is the task's *shape* (3 + 2 × the files it names: look around, read and write
 * each file, run the checks, finish) times a factor; g, o and the factor come from the repository's
 * finished tasks (their `model_request` events), or from a documented prior when there are none
 * (`priorProfile`: g is then the median size of the repository's files).
 * The range takes the low and high ends of each (the 20th and 80th percentiles over five or more
 * tasks, wider when fewer); the run's range is the sum of its tasks'.
 */
import type { JournalEvent } from './journal';
import type { Plan, TaskSpec } from './plan';

/** A low, middle and high value of one parameter. */
export interface Spread {
  low: number;
  mid: number;
  high: number;
}

/** What one finished task of an earlier run cost, read from its journal. */
export interface TaskSample {
  /** Agent model steps (requests that returned usage). */
  steps: number;
  /** The task's shape in its plan (see `taskShape`). */
  shape: number;
  /** Tokens the conversation grew by per step: (last prompt − first prompt) / (steps − 1); 0 for one step. */
  growthPerStep: number;
  /** Completion tokens per step. */
  outputPerStep: number;
  /** Reported cached tokens against what the model above says a prefix cache would hold, 0..1. */
  cacheShare: number;
  /** The reviewer's request(s) for the task, or null when it was not reviewed. */
  review: { input: number; output: number } | null;
}

/** The parameters of the estimate, learned or assumed. */
export interface StepProfile {
  /** 'history': learned from `tasks` finished tasks of `runs` earlier runs; 'prior': assumed. */
  basis: 'history' | 'prior';
  tasks: number;
  runs: number;
  /** Steps per unit of a task's shape. */
  stepsPerShape: Spread;
  growthPerStep: Spread;
  outputPerStep: Spread;
  /** Share of the cacheable prompt the backend serves from its cache (1 for a working prefix cache). */
  cacheShare: number;
  /** A reviewer request, per reviewed task. */
  review: { input: number; output: number };
}

/**
 * The prior, used until the repository has finished tasks: an agent takes its task's shape in
 * steps (half to twice that); each step adds about one file of this repository to the
 * conversation (a file read, or one written: the median size of its files, 150–1,500 tokens; 0.4×
 * to 2.5× that), or 400 tokens when the size is not known; it writes 150 tokens a step (50–400);
 * the backend caches prefixes; a review reads about 1,500 tokens and writes 100.
 */
export function priorProfile(medianFileTokens: number | null = null): StepProfile {
  const growth = medianFileTokens === null ? 400 : Math.min(1500, Math.max(150, medianFileTokens));
  return {
    basis: 'prior',
    tasks: 0,
    runs: 0,
    stepsPerShape: { low: 0.5, mid: 1, high: 2 },
    growthPerStep: { low: growth * 0.4, mid: growth, high: growth * 2.5 },
    outputPerStep: { low: 50, mid: 150, high: 400 },
    cacheShare: 1,
    review: { input: 1500, output: 100 },
  };
}

/** The prior without anything known of the repository. */
export const PRIOR_PROFILE: StepProfile = priorProfile();

/** Inputs of the estimate. */
export interface EstimateInput {
  /** Tokens of the prompt prefix every agent request starts with (system prompt, tools, repo view). */
  prefixTokens: number;
  /** Learned or assumed parameters; the prior when absent. */
  profile?: StepProfile;
  /** Whether each task gets a review. Default false. */
  review?: boolean;
  /** Prices per million tokens; without it costs are null. */
  price?: { input: number; cachedInput: number; output: number };
}

/** Token counts and cost. `input` includes `cached`. */
export interface TokenEstimate {
  input: number;
  cached: number;
  output: number;
  /** Cost in the price's currency, or null without a price. */
  cost: number | null;
}

/** The estimate for a plan: the middle (`total`) and the range around it. */
export interface RunEstimate {
  perTask: ({ id: string; steps: number } & TokenEstimate)[];
  total: TokenEstimate;
  low: TokenEstimate;
  high: TokenEstimate;
  basis: StepProfile['basis'];
  /** The assumptions behind the numbers, in one paragraph for people. */
  assumptions: string;
}

/** Characters per token assumed for the task's own text. */
const CHARS_PER_TOKEN = 4;
/** Tokens of framing around the task's text in the first task message. */
const TASK_FRAMING_TOKENS = 50;
/** Fewer samples than this widen the learned range to at least the prior's proportions. */
const FEW_SAMPLES = 5;

/** A task's shape: 3 + 2 × the files it names (at least one). */
export function taskShape(task: Pick<TaskSpec, 'files'>): number {
  return 3 + 2 * Math.max(1, task.files.length);
}

/** Estimate a run of `plan`; see the module comment for the model. */
export function estimateRun(plan: Plan, input: EstimateInput): RunEstimate {
  const profile = input.profile ?? PRIOR_PROFILE;
  const prefix = Math.max(0, input.prefixTokens);
  const at = (end: keyof Spread) =>
    plan.tasks.map((task) => {
      const steps = Math.max(1, Math.round(taskShape(task) * profile.stepsPerShape[end]));
      const counts = taskCounts(
        prefix,
        taskTokens(task),
        steps,
        profile.growthPerStep[end],
        profile.outputPerStep[end],
        profile.cacheShare,
      );
      if (input.review) {
        counts.input += profile.review.input;
        counts.output += profile.review.output;
      }
      return { id: task.id, steps, ...counts, cost: costOf(counts, input.price) };
    });
  const mid = at('mid');
  const sum = (tasks: TokenEstimate[]) => {
    const totals = {
      input: tasks.reduce((s, t) => s + t.input, 0),
      cached: tasks.reduce((s, t) => s + t.cached, 0),
      output: tasks.reduce((s, t) => s + t.output, 0),
    };
    return { ...totals, cost: costOf(totals, input.price) };
  };
  return {
    perTask: mid,
    total: sum(mid),
    low: sum(at('low')),
    high: sum(at('high')),
    basis: profile.basis,
    assumptions: assumptionsOf(profile, prefix, input),
  };
}

/** One task's counts at S steps: see the module comment. */
function taskCounts(
  prefix: number,
  task: number,
  steps: number,
  growth: number,
  outputPerStep: number,
  cacheShare: number,
): { input: number; cached: number; output: number } {
  const first = prefix + task;
  const input = steps * first + (growth * steps * (steps - 1)) / 2;
  // Cached: P at step 1, then step k−1's prompt at step k (k = 2..S).
  const cacheable = prefix + (steps - 1) * first + (growth * (steps - 1) * (steps - 2)) / 2;
  return {
    input: Math.round(input),
    cached: Math.round(cacheable * cacheShare),
    output: Math.round(steps * outputPerStep),
  };
}

function assumptionsOf(profile: StepProfile, prefix: number, input: EstimateInput): string {
  const n = (x: number) => Math.round(x).toLocaleString('en-US');
  const spread = (s: Spread, unit: string) => `${n(s.mid)} ${unit} (${n(s.low)}–${n(s.high)})`;
  const steps = profile.stepsPerShape;
  const basis =
    profile.basis === 'history'
      ? `Learned from ${profile.tasks} finished task(s) of ${profile.runs} earlier run(s) in this repository: `
      : 'No finished runs in this repository yet, so these are assumptions: ';
  const share =
    profile.cacheShare >= 0.995
      ? 'a prefix cache'
      : `a prefix cache serving ${Math.round(profile.cacheShare * 100)}% of what it could`;
  return (
    basis +
    `a task takes ${steps.mid.toFixed(2)}× its shape in model steps (${steps.low.toFixed(2)}–${steps.high.toFixed(2)}; ` +
    `shape = 3 + 2 per file it names), each step adds ${spread(profile.growthPerStep, 'tokens')} to the ` +
    `conversation and writes ${spread(profile.outputPerStep, 'tokens')}. Every step resends the shared prefix ` +
    `(${n(prefix)} tokens), the task and the conversation so far; ${share} serves what the step before sent. ` +
    (input.review ? `Each task's review reads ~${n(profile.review.input)} tokens. ` : '') +
    (input.price ? 'Costs use the given prices per million tokens. ' : 'No price given, so no costs. ') +
    'The range sums every task at the low and at the high end; the planner and retries are not included.'
  );
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

/**
 * The finished tasks of one run's journal as samples: every task of the plan that has agent
 * requests with usage and reached a final status (verified, merged, failed, rejected or stopped).
 * Tasks still working when the journal ends are left out: their step count is not known yet.
 */
export function taskSamples(events: readonly JournalEvent[]): TaskSample[] {
  let plan: Plan | null = null;
  const prompts = new Map<string, { prompt: number; cached: number; output: number }[]>();
  const reviews = new Map<string, { input: number; output: number }>();
  const status = new Map<string, string>();
  for (const e of events) {
    if (e.type === 'plan') plan = e.plan;
    else if (e.type === 'task_status') status.set(e.taskId, e.status);
    else if (e.type === 'model_request' && e.ok && e.usage && e.taskId !== null) {
      if (e.role === 'agent') {
        const list = prompts.get(e.taskId) ?? [];
        list.push({
          prompt: e.usage.promptTokens,
          cached: e.usage.cachedTokens ?? 0,
          output: e.usage.completionTokens,
        });
        prompts.set(e.taskId, list);
      } else if (e.role === 'reviewer') {
        const r = reviews.get(e.taskId) ?? { input: 0, output: 0 };
        reviews.set(e.taskId, { input: r.input + e.usage.promptTokens, output: r.output + e.usage.completionTokens });
      }
    }
  }
  if (!plan) return [];
  const samples: TaskSample[] = [];
  for (const task of plan.tasks) {
    const steps = prompts.get(task.id);
    if (!steps || !FINAL_STATUSES.has(status.get(task.id) ?? '')) continue;
    const first = steps[0].prompt;
    const last = steps[steps.length - 1].prompt;
    const growth = steps.length > 1 ? Math.max(0, (last - first) / (steps.length - 1)) : 0;
    // What a prefix cache could serve, by the model: the shared prefix at step 1 (not known here,
    // so not counted) and step k−1's prompt at step k.
    const cacheable = steps.slice(0, -1).reduce((s, x) => s + x.prompt, 0);
    const cached = steps.slice(1).reduce((s, x) => s + x.cached, 0);
    samples.push({
      steps: steps.length,
      shape: taskShape(task),
      growthPerStep: growth,
      outputPerStep: steps.reduce((s, x) => s + x.output, 0) / steps.length,
      cacheShare: cacheable > 0 ? Math.min(1, cached / cacheable) : 1,
      review: reviews.get(task.id) ?? null,
    });
  }
  return samples;
}

/** Task statuses after which a task's steps are all in the journal. */
const FINAL_STATUSES = new Set(['verified', 'merged', 'failed', 'rejected', 'stopped']);

/**
 * The profile learned from `samples` (finished tasks of `runs` earlier runs), or `prior` when
 * there are none. Each parameter's middle is the median; its ends are the 20th and 80th
 * percentiles, and with fewer than five samples at least the prior's proportions around the median
 * (half and twice the steps; 0.4× and 2.5× the tokens a step), so one run does not give a range of
 * zero width.
 */
export function learnProfile(
  samples: readonly TaskSample[],
  runs: number,
  prior: StepProfile = PRIOR_PROFILE,
): StepProfile {
  if (samples.length === 0) return prior;
  const few = samples.length < FEW_SAMPLES;
  const spreadOf = (values: number[], lowFactor: number, highFactor: number): Spread => {
    const sorted = [...values].sort((a, b) => a - b);
    const mid = quantile(sorted, 0.5);
    let low = quantile(sorted, 0.2);
    let high = quantile(sorted, 0.8);
    if (few) {
      low = Math.min(low, mid * lowFactor);
      high = Math.max(high, mid * highFactor);
    }
    return { low, mid, high };
  };
  const reviewed = samples.flatMap((s) => (s.review ? [s.review] : []));
  const median = (values: number[]) =>
    quantile(
      [...values].sort((a, b) => a - b),
      0.5,
    );
  return {
    basis: 'history',
    tasks: samples.length,
    runs,
    stepsPerShape: spreadOf(
      samples.map((s) => s.steps / s.shape),
      0.5,
      2,
    ),
    growthPerStep: spreadOf(
      samples.map((s) => s.growthPerStep),
      0.4,
      2.5,
    ),
    outputPerStep: spreadOf(
      samples.map((s) => s.outputPerStep),
      0.4,
      2.5,
    ),
    cacheShare: median(samples.map((s) => s.cacheShare)),
    review:
      reviewed.length > 0
        ? { input: median(reviewed.map((r) => r.input)), output: median(reviewed.map((r) => r.output)) }
        : prior.review,
  };
}

/** The q-quantile of ascending `sorted` (not empty), interpolated linearly. */
function quantile(sorted: readonly number[], q: number): number {
  const pos = (sorted.length - 1) * q;
  const lower = Math.floor(pos);
  const upper = Math.ceil(pos);
  return sorted[lower] + (sorted[upper] - sorted[lower]) * (pos - lower);
}
