/**
 * The values of `${input:…}` in `.vscode/mcp.json`. The command line takes each from the
 * environment (FOREMAN_MCP_INPUT_<ID>); in VS Code, Foreman asks the developer as VS Code does (a
 * `promptString` in an input box with the input's description, its text hidden for a password; a
 * `pickString` in a quick pick of its options, the default first) and keeps the answer,
 * so the next run asks nothing. The asking and the keeping are the editor's (an McpInputPort); the
 * order (the environment, then a kept answer, then the question) is decided here, free of vscode.
 * No value is ever logged, journaled or written to a setting.
 */
import { SettingsError } from './settings';

/** One of `.vscode/mcp.json`'s `inputs` of a kind Foreman asks for. */
export type McpInput = McpPromptInput | McpPickInput;

/** A `promptString` input: the developer types the answer. */
export interface McpPromptInput {
  type: 'promptString';
  id: string;
  /** The input's `description` ('' when it has none). */
  description: string;
  /** Whether the answer is a secret to hide while typed (`"password": true`). */
  password: boolean;
  /** The input's `default`, offered in the box. */
  default?: string;
}

/** A `pickString` input: the developer picks one of its options. */
export interface McpPickInput {
  type: 'pickString';
  id: string;
  description: string;
  /** The options in the file's order; `label` is shown beside the value when the file gives one. */
  options: { value: string; label?: string }[];
  /** The input's `default`, shown first and marked. */
  default?: string;
}

/** A declared input of a kind Foreman cannot ask for (`command`, or a type it does not know). */
export interface McpOtherInput {
  type: 'other';
  id: string;
  description: string;
  /** The type the file gives it. */
  declaredType: string;
}

/**
 * How an editor asks for an input and keeps the answer (VS Code: an input box and its secret
 * storage). `key` names one input of one file: the same id in another workspace is another answer.
 */
export interface McpInputPort {
  /** The answer kept for `key`, or undefined when there is none. */
  stored(key: string): Promise<string | undefined>;
  /** Keep `value` for `key` where only the editor's secret storage holds it. */
  store(key: string, value: string): Promise<void>;
  /**
   * Ask the developer for `input`, which `server` needs (typed for a `promptString`, picked from the
   * options for a `pickString`); undefined when the question was dismissed.
   */
  ask(input: McpInput, server: string): Promise<string | undefined>;
}

/** The variable that gives `${input:id}` a value: FOREMAN_MCP_INPUT_ and the id in capitals, `_` for the rest. */
export function inputVariable(id: string): string {
  return `FOREMAN_MCP_INPUT_${id.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`;
}

/** The ids of the `${input:…}` variables in `values` (strings, arrays and records of strings). */
export function inputsUsed(values: unknown[]): string[] {
  const ids = new Set<string>();
  const visit = (v: unknown): void => {
    if (typeof v === 'string') for (const m of v.matchAll(/\$\{input:([^}]*)\}/g)) ids.add(m[1]);
    else if (Array.isArray(v)) v.forEach(visit);
    else if (v && typeof v === 'object') Object.values(v).forEach(visit);
  };
  values.forEach(visit);
  return [...ids];
}

/** What answering a file's inputs needs. */
export interface InputRequest {
  /** The file the inputs are declared in (`.vscode/mcp.json`'s path): part of each answer's key. */
  file: string;
  /** The server that uses them, named in the question and in any refusal. */
  server: string;
  /** The ids it uses. */
  ids: string[];
  /** The file's declared inputs by id (a missing `type` is `promptString`). */
  declared: ReadonlyMap<string, McpInput | McpOtherInput>;
  env: Readonly<Record<string, string | undefined>>;
  /** The editor's asker; without one (the command line) only the environment gives values. */
  port?: McpInputPort;
}

/**
 * The values the editor gives `request`'s inputs, by id: a kept answer, else the developer's
 * answer to the question (then kept). Inputs the environment gives, the file does not declare, or
 * nothing can ask for are left out: resolving the server's values then says what to do. A
 * dismissed question is a SettingsError naming the server and the input.
 */
export async function answerInputs(request: InputRequest): Promise<Map<string, string>> {
  const answers = new Map<string, string>();
  const { port } = request;
  if (!port) return answers;
  for (const id of request.ids) {
    const input = request.declared.get(id);
    if (request.env[inputVariable(id)] !== undefined || !input) continue;
    const key = `${request.file}#${id}`;
    const kept = await port.stored(key);
    // A kept pick the file no longer offers is asked for again.
    const stale = input.type === 'pickString' && !input.options.some((o) => o.value === kept);
    if (kept !== undefined && !stale) {
      answers.set(id, kept);
      continue;
    }
    if (input.type === 'other')
      throw new SettingsError(
        `MCP server "${request.server}" in ${request.file} uses \${input:${id}}, a "${input.declaredType}" input; Foreman asks for "promptString" and "pickString" inputs only: set ${inputVariable(id)} in Foreman's environment to give it a value.`,
      );
    if (input.type === 'pickString' && input.options.length === 0)
      throw new SettingsError(
        `MCP server "${request.server}" in ${request.file} uses \${input:${id}}, a "pickString" input with no "options": list the values to pick from, or set ${inputVariable(id)} in Foreman's environment.`,
      );
    const given = await port.ask(input, request.server);
    if (given === undefined)
      throw new SettingsError(
        `MCP server "${request.server}" in ${request.file} needs \${input:${id}}${input.description ? ` ("${input.description}")` : ''}, and the question was closed unanswered: start again and answer it, or remove the server from ${request.file}.`,
      );
    await port.store(key, given);
    answers.set(id, given);
  }
  return answers;
}
