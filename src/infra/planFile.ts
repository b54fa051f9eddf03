/**
 * Plan files: a plan saved as pretty JSON so a person can review and edit it, and loaded back
 * through the same validation as a planner's answer.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Plan, PlanWarning, TaskSpec } from '../core/plan';
import { validatePlan } from '../core/planGraph';
import { errorMessage } from '../core/errors';

/** Result of `loadPlan`; every error names the file. */
export type LoadPlanResult = { ok: true; plan: Plan } | { ok: false; errors: string[] };

const TOP_KEYS = ['version', 'spec', 'tasks', 'warnings'];
const TASK_KEYS = ['id', 'title', 'instructions', 'acceptance', 'files', 'dependsOn'];

/**
 * Write `plan` to `file` as two-space-indented JSON with a fixed key order and a trailing
 * newline, so the same plan always gives the same bytes. The parent directory is created; the
 * file is replaced atomically (written beside it, then renamed).
 */
export async function savePlan(file: string, plan: Plan): Promise<void> {
  const text = `${JSON.stringify(canonicalPlan(plan), null, 2)}\n`;
  await mkdir(path.dirname(path.resolve(file)), { recursive: true });
  const temp = `${file}.${process.pid}.tmp`;
  await writeFile(temp, text, 'utf8');
  await rename(temp, file);
}

/**
 * Read a plan file and validate it as a planner's answer is validated (src/core/planGraph.ts).
 * `version` must be 1 and `spec` a string when present; warnings in the file are ignored and
 * computed afresh; unknown keys are errors (they are usually typos in a hand edit). A file that
 * is not JSON gives the line and column of the first syntax error. Never throws for a missing or
 * bad file.
 */
export async function loadPlan(file: string, options: { maxTasks?: number } = {}): Promise<LoadPlanResult> {
  let text: string;
  try {
    text = (await readFile(file, 'utf8')).replace(/^\uFEFF/, '');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? 'error';
    const why = code === 'ENOENT' ? 'there is no such file' : code === 'EISDIR' ? 'it is a folder' : code;
    return { ok: false, errors: [`${file}: cannot read the plan file (${why}).`] };
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    return { ok: false, errors: [`${file}: ${describeJsonError(text, e)}`] };
  }
  const shapeErrors = checkEnvelope(data);
  if (shapeErrors.length > 0) return { ok: false, errors: shapeErrors.map((m) => `${file}: ${m}`) };
  const { tasks, spec } = data as { tasks: unknown; spec?: string };
  const result = validatePlan({ tasks }, spec ?? '', options);
  if (!result.ok) return { ok: false, errors: result.errors.map((m) => `${file}: ${m}`) };
  return result;
}

function canonicalPlan(plan: Plan): Plan {
  const task = (t: TaskSpec): TaskSpec => ({
    id: t.id,
    title: t.title,
    instructions: t.instructions,
    acceptance: [...t.acceptance],
    files: [...t.files],
    dependsOn: [...t.dependsOn],
  });
  const warning = (w: PlanWarning): PlanWarning => ({
    kind: w.kind,
    tasks: [...w.tasks],
    files: [...w.files],
    message: w.message,
  });
  return { version: 1, spec: plan.spec, tasks: plan.tasks.map(task), warnings: plan.warnings.map(warning) };
}

/** Errors in what surrounds the tasks, and unknown keys in tasks (zod would strip them silently). */
function checkEnvelope(data: unknown): string[] {
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    return ['the plan must be a JSON object with "version", "spec" and "tasks".'];
  }
  const top = data as Record<string, unknown>;
  const errors: string[] = [];
  if ('version' in top && top.version !== 1)
    errors.push(`"version" is ${JSON.stringify(top.version)}; this Foreman reads version 1.`);
  if ('spec' in top && typeof top.spec !== 'string') errors.push('"spec" must be a string.');
  for (const key of Object.keys(top)) {
    if (!TOP_KEYS.includes(key))
      errors.push(`unknown key "${key}" at the top level; expected only ${TOP_KEYS.join(', ')}.`);
  }
  if (Array.isArray(top.tasks)) {
    top.tasks.forEach((t: unknown, i: number) => {
      if (t === null || typeof t !== 'object' || Array.isArray(t)) return; // validatePlan reports it
      const record = t as Record<string, unknown>;
      const name = typeof record.id === 'string' ? `Task ${JSON.stringify(record.id)} (tasks[${i}])` : `tasks[${i}]`;
      for (const key of Object.keys(record)) {
        if (!TASK_KEYS.includes(key))
          errors.push(`${name} has an unknown key "${key}"; expected only ${TASK_KEYS.join(', ')}.`);
      }
    });
  }
  return errors;
}

/** "not valid JSON at line L, column C: <parser message>". */
function describeJsonError(text: string, e: unknown): string {
  const message = errorMessage(e);
  const offset = jsonErrorOffset(text);
  if (offset < 0) return `the file is not valid JSON: ${message}`;
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  const column = offset - (before.lastIndexOf('\n') + 1) + 1;
  const found = offset < text.length ? `unexpected ${JSON.stringify(text[offset])}` : 'unexpected end of file';
  return `the file is not valid JSON at line ${line}, column ${column} (${found}).`;
}

/**
 * The offset of the first JSON syntax error in `text`, or -1 when it is valid. Node 20's
 * `JSON.parse` messages carry no position, so a small scanner finds it.
 */
export function jsonErrorOffset(text: string): number {
  const scanner = new JsonScanner(text);
  const ok = scanner.value() && scanner.end();
  return ok ? -1 : scanner.pos;
}

const NUMBER_RE = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const ESCAPES = '"\\/bfnrtu';

/** Recursive-descent JSON recogniser; each method returns false with `pos` at the error. */
class JsonScanner {
  pos = 0;
  constructor(private readonly s: string) {}

  end(): boolean {
    this.ws();
    return this.pos === this.s.length;
  }

  value(): boolean {
    this.ws();
    const c = this.s[this.pos];
    if (c === '{') return this.container('}', () => this.member());
    if (c === '[') return this.container(']', () => this.value());
    if (c === '"') return this.string();
    if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) return this.number();
    for (const literal of ['true', 'false', 'null']) {
      if (this.s.startsWith(literal, this.pos)) {
        this.pos += literal.length;
        return true;
      }
    }
    return false;
  }

  private ws(): void {
    while (this.pos < this.s.length && ' \t\n\r'.includes(this.s[this.pos])) this.pos++;
  }

  /** An object or an array: the opening character, items separated by commas, `close`. */
  private container(close: string, item: () => boolean): boolean {
    this.pos++;
    this.ws();
    if (this.s[this.pos] === close) {
      this.pos++;
      return true;
    }
    for (;;) {
      if (!item()) return false;
      this.ws();
      const c = this.s[this.pos];
      this.pos++;
      if (c === close) return true;
      if (c !== ',') {
        this.pos--;
        return false;
      }
    }
  }

  private member(): boolean {
    this.ws();
    if (this.s[this.pos] !== '"' || !this.string()) return false;
    this.ws();
    if (this.s[this.pos] !== ':') return false;
    this.pos++;
    return this.value();
  }

  private string(): boolean {
    this.pos++;
    while (this.pos < this.s.length) {
      const c = this.s[this.pos];
      if (c === '"') {
        this.pos++;
        return true;
      }
      if (c < ' ') return false;
      if (c === '\\') {
        const e = this.s[this.pos + 1];
        if (e === undefined || !ESCAPES.includes(e)) return false;
        if (e === 'u' && !/^[0-9a-fA-F]{4}$/.test(this.s.slice(this.pos + 2, this.pos + 6))) return false;
        this.pos += e === 'u' ? 6 : 2;
      } else this.pos++;
    }
    return false;
  }

  private number(): boolean {
    NUMBER_RE.lastIndex = this.pos;
    const m = NUMBER_RE.exec(this.s);
    if (!m) return false;
    this.pos += m[0].length;
    return true;
  }
}
