/**
 * The shape of a planner's raw answer, as a zod schema (for validation) and as a JSON Schema (for
 * `response_format: json_schema`). Graph rules (unique ids, known dependencies, no cycles, paths)
 * are checked afterwards by src/core/planGraph.ts; this file only describes the shape.
 */
import { z } from 'zod';

/** Task ids: lowercase letters, digits and dashes, starting with a letter or digit, 1–40 long. */
export const TASK_ID_PATTERN = /^[a-z0-9][a-z0-9-]{0,39}$/;

const taskIdSchema = z
  .string()
  .regex(TASK_ID_PATTERN, {
    message: 'must be 1-40 characters of lowercase letters, digits and dashes, starting with a letter or digit',
  })
  .describe('Short unique id, lowercase letters, digits and dashes, e.g. "add-parser".');

const nonEmpty = (what: string) =>
  z
    .string()
    .trim()
    .min(1, { message: `${what} must not be empty` });

/** One task as the planner writes it. */
export const rawTaskSchema = z.object({
  id: taskIdSchema,
  title: nonEmpty('the title').describe('One line saying what the task achieves.'),
  instructions: nonEmpty('the instructions').describe(
    'What the agent must do, in enough detail to do it without reading the spec.',
  ),
  acceptance: z
    .array(nonEmpty('an acceptance criterion'))
    .describe('Concrete, checkable statements that are true when the task is done.'),
  files: z.array(z.string()).describe('Repository-relative paths the task expects to create or change.'),
  dependsOn: z
    .array(z.string())
    .describe('Ids of tasks that must be finished (and merged) before this one starts; empty when none.'),
});

/** The planner's whole answer: `{ tasks: [...] }`. Unknown keys are stripped, not rejected. */
export const rawPlanSchema = z.object({
  tasks: z.array(rawTaskSchema).describe('The tasks, in a sensible order of work.'),
});

/** The parsed raw answer. */
export type RawPlan = z.infer<typeof rawPlanSchema>;

/** The parsed raw task. */
export type RawTask = z.infer<typeof rawTaskSchema>;

/**
 * Keywords that some strict structured-output implementations reject or ignore. Length and count
 * limits are enforced by validation instead, so dropping them from the wire schema loses nothing.
 */
const UNPORTABLE_KEYWORDS = new Set(['$schema', 'minLength', 'maxLength', 'minItems', 'maxItems']);

function stripUnportable(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(stripUnportable);
  if (node === null || typeof node !== 'object') return node;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) {
    if (UNPORTABLE_KEYWORDS.has(key)) continue;
    // Under "properties" the keys are property names, never keywords: keep them all.
    out[key] = key === 'properties' ? stripProperties(value) : stripUnportable(value);
  }
  return out;
}

function stripProperties(props: unknown): unknown {
  if (props === null || typeof props !== 'object') return props;
  const out: Record<string, unknown> = {};
  for (const [name, schema] of Object.entries(props)) out[name] = stripUnportable(schema);
  return out;
}

/**
 * The JSON Schema of the planner's answer, usable in OpenAI strict `json_schema` mode: every
 * object lists all its properties as required and sets `additionalProperties: false`; only
 * portable keywords (type, properties, required, items, pattern, description) are used.
 */
export const planJsonSchema: Record<string, unknown> = stripUnportable(
  z.toJSONSchema(rawPlanSchema, { target: 'draft-2020-12' }),
) as Record<string, unknown>;
