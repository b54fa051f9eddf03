/**
 * The planner: asks a model to turn a spec into a task graph, validates the answer, and gives the
 * model one chance to repair an invalid plan.
 */
import type { ChatMessage, ModelClient, ModelRequest, ModelResponse } from './model';
import { ModelError } from './model';
import type { Plan, TaskSpec } from './plan';
import { DEFAULT_MAX_TASKS, validatePlan } from './planGraph';
import { planJsonSchema } from './planSchema';
import { roleMarker } from './promptMarkers';
import { errorMessage } from './errors';
import { contextWindowIn, cutToFit, nextPartSize } from './compaction';

/** What `planSpec` needs. */
export interface PlanInput {
  spec: string;
  /** The repository view (src/core/repoView.ts). */
  repoView: string;
  model: ModelClient;
  /** Most tasks allowed in the plan; default 50. */
  maxTasks?: number;
  signal?: AbortSignal;
  /** Called with every model response, successful or not as a plan (the caller books it). */
  onResponse?: (r: ModelResponse) => void;
  /** Called with the error of a model request that failed for good. */
  onError?: (e: ModelError) => void;
  /**
   * Re-planning: the plan as the developer has it now and what they want changed. The planner
   * sees both after the spec and answers with the whole revised plan.
   */
  revise?: { tasks: TaskSpec[]; comment: string };
}

/**
 * The result of planning. `repaired` is true when the plan came from the repair turn; `notes` say
 * what the planner did to fit the model's context window (the repository view it cut), in words.
 * `invalid`: the model answered, twice, with no valid plan (`errors` lists the problems of the
 * last answer, `raw` is that answer). `model`: a request failed (`errors` is empty); a spec that
 * does not fit the model's context window even with no repository view is one.
 */
export type PlanOutcome =
  | { ok: true; plan: Plan; repaired: boolean; notes: string[] }
  | { ok: false; reason: 'invalid' | 'model'; message: string; errors: string[]; raw?: string };

/**
 * Plan `spec`: one request with the planner prompt and `response_format` json_schema
 * `task_plan`; when the answer is not a valid plan, one repair turn that shows the model its
 * answer and the validation errors. A refusal as too long for the model's context window is
 * answered by asking again with less of the repository view (core/compaction.ts sizes it; the
 * spec is always sent whole), a few times at most. Model failures are values (`reason: 'model'`),
 * reported to `onError`; anything else thrown is a bug and propagates.
 */
export async function planSpec(input: PlanInput): Promise<PlanOutcome> {
  const maxTasks = input.maxTasks ?? DEFAULT_MAX_TASKS;
  const prompt: Prompt = { maxTasks, view: input.repoView, viewCuts: 0, notes: [] };
  const first = await ask(input, prompt, []);
  if (!first.ok) return first.outcome;
  const firstCheck = checkAnswer(first.response, input.spec, maxTasks);
  if (firstCheck.ok) return { ok: true, plan: firstCheck.plan, repaired: false, notes: prompt.notes };

  const turn: ChatMessage[] = [
    { role: 'assistant', content: first.response.content },
    { role: 'user', content: repairPrompt(firstCheck.errors) },
  ];
  const second = await ask(input, prompt, turn);
  if (!second.ok) return second.outcome;
  const secondCheck = checkAnswer(second.response, input.spec, maxTasks);
  if (secondCheck.ok) return { ok: true, plan: secondCheck.plan, repaired: true, notes: prompt.notes };
  const n = secondCheck.errors.length;
  return {
    ok: false,
    reason: 'invalid',
    message:
      `The planner did not produce a valid plan, even after one repair turn (${n} ${n === 1 ? 'problem' : 'problems'}). ` +
      `First: ${secondCheck.errors[0]}`,
    errors: secondCheck.errors,
    raw: second.response.content,
  };
}

/** Refusals for length the planner answers with a shorter repository view, before planning fails. */
const MAX_VIEW_CUTS = 4;

/** The planner's prompt as it stands: the repository view shrinks when the model's window is too small for it. */
interface Prompt {
  maxTasks: number;
  view: string;
  viewCuts: number;
  notes: string[];
}

function messagesOf(input: PlanInput, prompt: Prompt, turn: ChatMessage[]): ChatMessage[] {
  const revise = input.revise ? revisionPrompt(input.revise) : '';
  return [
    { role: 'system', content: plannerSystemPrompt(prompt.maxTasks) },
    { role: 'user', content: plannerUserPrompt(input.spec, prompt.view) + revise },
    ...turn,
  ];
}

type Asked = { ok: true; response: ModelResponse } | { ok: false; outcome: PlanOutcome };

async function ask(input: PlanInput, prompt: Prompt, turn: ChatMessage[]): Promise<Asked> {
  for (;;) {
    const request: ModelRequest = {
      messages: messagesOf(input, prompt, turn),
      responseFormat: { name: 'task_plan', schema: planJsonSchema },
      temperature: 0.2,
    };
    try {
      const response = await input.model.complete(request, { signal: input.signal });
      input.onResponse?.(response);
      return { ok: true, response };
    } catch (e) {
      if (!ModelError.is(e)) throw e;
      const shorter =
        e.reason === 'context_length' && !input.signal?.aborted ? shortenView(input, prompt, request, e) : false;
      if (shorter) continue;
      input.onError?.(e);
      const message =
        e.reason === 'context_length'
          ? specDoesNotFit(input.spec, e)
          : `The planner's model request failed (${e.reason}): ${e.message}`;
      return { ok: false, outcome: { ok: false, reason: 'model', message, errors: [] } };
    }
  }
}

/** Cut the repository view after a refusal for length; false when no shorter view would fit. */
function shortenView(input: PlanInput, prompt: Prompt, request: ModelRequest, e: ModelError): boolean {
  if (prompt.viewCuts === MAX_VIEW_CUTS) return false;
  const promptChars = request.messages.reduce((n, m) => n + (m.content?.length ?? 0), 0);
  const sized = nextPartSize({ promptChars, partChars: prompt.view.length }, e.message);
  if (sized === null) return false;
  // The last try leaves the view out, so a refusal after it is the spec's own.
  const next = prompt.viewCuts === MAX_VIEW_CUTS - 1 ? 0 : sized;
  // Measured as sent: the user message trims the view.
  const whole = input.repoView.trim();
  const total = whole.length;
  const cut = cutToFit(whole, next, 'the repository view');
  prompt.view = cut.text;
  prompt.viewCuts += 1;
  prompt.notes.push(
    `The repository view was too long for ${windowWords(e)}: the planner was shown ${cut.shown.toLocaleString('en-US')} of its ${total.toLocaleString('en-US')} characters.`,
  );
  return true;
}

function windowWords(e: ModelError): string {
  const window = contextWindowIn(e.message);
  return window === null
    ? "the planner model's context window"
    : `the planner model's context window of ${window.toLocaleString('en-US')} tokens`;
}

/** Why planning fails when even the spec with no repository view does not fit. */
function specDoesNotFit(spec: string, e: ModelError): string {
  const chars = spec.trim().length;
  const tokens = Math.ceil(chars / 4).toLocaleString('en-US');
  return (
    `The spec does not fit ${windowWords(e)}: it is ${chars.toLocaleString('en-US')} characters (about ${tokens} tokens at ` +
    `four characters a token), and with the planner's instructions and no repository view the prompt is still too long (the backend said: ${e.message}). Shorten the spec, or plan with a model whose context window is larger.`
  );
}

type Checked = { ok: true; plan: Plan } | { ok: false; errors: string[] };

function checkAnswer(response: ModelResponse, spec: string, maxTasks: number): Checked {
  const parsed = parsePlanJson(response.content);
  if (!parsed.ok) {
    const cutOff =
      response.finishReason === 'length'
        ? ' The answer was cut off at the output token limit; keep the plan shorter.'
        : '';
    return { ok: false, errors: [`${parsed.error}${cutOff}`] };
  }
  return validatePlan(parsed.value, spec, { maxTasks });
}

/**
 * Parse the JSON of a model answer. Tolerates a Markdown code fence (```json … ```) and prose
 * around a single JSON object.
 */
export function parsePlanJson(content: string): { ok: true; value: unknown } | { ok: false; error: string } {
  const text = content.trim();
  if (text === '') return { ok: false, error: 'The answer was empty; reply with the plan as one JSON object.' };
  const fenced = /```[A-Za-z0-9_-]*[ \t]*\r?\n([\s\S]*?)\r?\n?```/.exec(text);
  const candidates = fenced ? [fenced[1].trim(), text] : [text];
  const first = text.indexOf('{');
  const last = text.lastIndexOf('}');
  if (first >= 0 && last > first) candidates.push(text.slice(first, last + 1));
  let failure = '';
  for (const candidate of candidates) {
    try {
      return { ok: true, value: JSON.parse(candidate) };
    } catch (e) {
      failure ||= errorMessage(e);
    }
  }
  return {
    ok: false,
    error: `The answer is not valid JSON (${failure}); reply with only the plan as one JSON object.`,
  };
}

/** The planner's system prompt; starts with the planner role marker. */
export function plannerSystemPrompt(maxTasks: number): string {
  return [
    roleMarker('planner'),
    'You are the planner of a team of coding agents. Break the specification you are given into a task graph.',
    '',
    'How the work is done:',
    '- Each task is done by one agent, alone, in its own git worktree of the repository. Agents cannot talk to each other.',
    '- Tasks with no dependency between them run in parallel. A task that depends on others starts from their merged result.',
    "- When every task is done, the branches are merged together and the repository's own checks (build, tests, lint) run.",
    '',
    'How to decompose:',
    '- Prefer small, independent tasks that can run in parallel. Each should be finishable in one focused session.',
    "- Add a dependency only when a task really needs another task's result (an API it calls, a file it extends).",
    '- Two tasks that run in parallel must not edit the same file: their changes would conflict at merge. Give shared files to one task, or make one task depend on the other.',
    '- Write instructions a capable engineer can follow without the specification: what to build, where, and how it fits.',
    '- Give concrete, checkable acceptance criteria (a command that passes, a behaviour that can be observed, a file that exists).',
    '- List the files each task expects to create or change, as paths relative to the repository root.',
    '- Include tests in the task that writes the code they test, unless a separate test task is clearly better.',
    `- Use at most ${maxTasks} tasks; fewer is better when the work is small.`,
    '',
    'Answer with only a JSON object of this shape, with no other text:',
    '{"tasks": [{"id": "short-id", "title": "...", "instructions": "...", "acceptance": ["..."], "files": ["path/to/file"], "dependsOn": ["other-id"]}]}',
    'Ids are 1-40 lowercase letters, digits and dashes, unique within the plan; dependsOn lists ids of tasks in the same plan.',
  ].join('\n');
}

/** The planner's user message: the spec, then the repository view. */
export function plannerUserPrompt(spec: string, repoView: string): string {
  return `# Specification\n\n${spec.trim()}\n\n# Repository\n\n${repoView.trim()}\n`;
}

/** The part of the user message that asks for a revision of the current plan. */
export function revisionPrompt(revise: { tasks: TaskSpec[]; comment: string }): string {
  return [
    '',
    '# The current plan',
    '',
    JSON.stringify({ tasks: revise.tasks }, null, 2),
    '',
    "# The developer's comment on it",
    '',
    revise.comment.trim(),
    '',
    'Revise the plan as the comment asks, keeping what it does not ask to change, and reply with the complete revised plan.',
    '',
  ].join('\n');
}

function repairPrompt(errors: string[]): string {
  return [
    'That plan is not valid:',
    ...errors.map((e) => `- ${e}`),
    '',
    'Fix every problem above and reply with the complete corrected plan as one JSON object, with no other text.',
  ].join('\n');
}
