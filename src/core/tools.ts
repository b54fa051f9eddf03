/**
 * The agent's tools: argument validation and execution against the ports (a worktree file system
 * and a process runner) under the command policy. Pure: no Node I/O here. Every outcome, a refusal
 * or a bad argument included, comes back as a `ToolOutcome` the model can act on; nothing throws.
 */
import path from 'node:path';
import { z } from 'zod';
import type { ToolCall } from './model';
import type { ProcessRunner, WorktreeFs } from './ports';
import { judgeCommand, notApprovedMessage, refusalMessage } from './commandPolicy';
import type { CommandPolicy, PolicyVerdict } from './commandPolicy';
import { NO_APPROVER } from './approver';
import type { ApprovalAnswer, Approver } from './approver';
import type { ShellParser } from './shellSyntax';
import { AGENT_TOOLS, TOOL_NAMES } from './toolSchemas';
import type { ToolName } from './toolSchemas';
import { errorMessage } from './errors';

export { AGENT_TOOLS } from './toolSchemas';

/** What a tool call runs against. */
export interface ToolContext {
  fs: WorktreeFs;
  runner: ProcessRunner;
  policy: CommandPolicy;
  /** Reads run_command's lines for the policy. */
  shell: ShellParser;
  /** Answers the policy's asks; without one, every ask is not approved. */
  approver?: Approver;
  /** The task the tools work for, passed on to the approver. */
  taskId?: string;
  commandTimeoutMs: number;
  /** Cap on command output, and on the size of any tool's `content`. */
  maxOutputBytes: number;
  signal?: AbortSignal;
}

/** The result of one tool call. */
export interface ToolOutcome {
  ok: boolean;
  /** What goes back to the model, bounded in size. */
  content: string;
  /** One line for the journal, at most 200 characters. */
  summary: string;
  /** Set when the agent called `finish`. */
  finished?: { summary: string };
  /** The path (relative to the worktree root) of a file the call changed. */
  wrote?: string;
  /** run_command only: the policy's verdict on the line, with its rule and the command it judged. */
  policy?: PolicyVerdict;
  /** run_command only, after an ask: the approver's answer. */
  approval?: ApprovalAnswer;
}

const MAX_SUMMARY = 200;
const MAX_LIST_ENTRIES = 500;
const MAX_SEARCH_RESULTS = 100;

/** Treat null and '' as absent: models often send them for optional arguments. */
const absent = (v: unknown): unknown => (v === null || v === '' ? undefined : v);
const lineNumber = z.preprocess(absent, z.coerce.number().int().min(1).optional());
const flag = z.preprocess(
  absent,
  z.union([z.boolean(), z.enum(['true', 'false']).transform((v) => v === 'true')]).optional(),
);
const optionalPath = z.preprocess(absent, z.string().optional());

const argSchemas = {
  read_file: z.object({ path: z.string().min(1), start_line: lineNumber, end_line: lineNumber }),
  list_dir: z.object({ path: optionalPath }),
  search: z.object({ pattern: z.string().min(1), path: optionalPath, regex: flag }),
  write_file: z.object({ path: z.string().min(1), content: z.string() }),
  edit_file: z.object({ path: z.string().min(1), old_text: z.string(), new_text: z.string() }),
  run_command: z.object({ command: z.string().trim().min(1) }),
  finish: z.object({ summary: z.string().trim().min(1) }),
} satisfies Record<ToolName, z.ZodType>;

type Args<N extends ToolName> = z.output<(typeof argSchemas)[N]>;

/** Collapse to one line of at most `max` characters. */
function oneLine(text: string, max = MAX_SUMMARY): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

function fail(summary: string, content: string): ToolOutcome {
  return { ok: false, content, summary: oneLine(summary) };
}

/**
 * Run one tool call. Unknown tools, arguments that are not JSON or miss required fields, policy
 * refusals and file-system refusals are all `ok: false` outcomes with a message for the model.
 * An unexpected exception from a port is also caught and reported, so the agent loop never breaks.
 */
export async function executeTool(call: ToolCall, ctx: ToolContext): Promise<ToolOutcome> {
  const name = call.name as ToolName;
  if (!(TOOL_NAMES as readonly string[]).includes(call.name)) {
    return fail(
      `unknown tool ${call.name}`,
      `Unknown tool '${call.name}'. The available tools are: ${TOOL_NAMES.join(', ')}.`,
    );
  }
  const parsed = parseArgs(name, call.arguments);
  if (!parsed.ok) return fail(`${name}: invalid arguments`, parsed.message);
  if (ctx.signal?.aborted) return fail(`${name}: aborted`, 'The run was stopped; the tool was not run.');
  try {
    return await dispatch(name, parsed.args, ctx);
  } catch (e) {
    const message = errorMessage(e);
    return fail(`${name}: failed: ${message}`, `The tool ${name} failed unexpectedly: ${message}`);
  }
}

function dispatch(name: ToolName, args: unknown, ctx: ToolContext): Promise<ToolOutcome> {
  switch (name) {
    case 'read_file':
      return readFileTool(args as Args<'read_file'>, ctx);
    case 'list_dir':
      return listDirTool(args as Args<'list_dir'>, ctx);
    case 'search':
      return searchTool(args as Args<'search'>, ctx);
    case 'write_file':
      return writeFileTool(args as Args<'write_file'>, ctx);
    case 'edit_file':
      return editFileTool(args as Args<'edit_file'>, ctx);
    case 'run_command':
      return runCommandTool(args as Args<'run_command'>, ctx);
    case 'finish':
      return Promise.resolve(finishTool(args as Args<'finish'>));
  }
}

/** Parse and validate a call's JSON arguments; an empty string counts as `{}`. */
function parseArgs(name: ToolName, raw: string): { ok: true; args: unknown } | { ok: false; message: string } {
  const example = exampleArgs(name);
  let value: unknown;
  try {
    value = raw.trim() === '' ? {} : JSON.parse(raw);
  } catch (e) {
    const why = errorMessage(e);
    return {
      ok: false,
      message: `The arguments of ${name} are not valid JSON (${why}). Send one JSON object like ${example}.`,
    };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, message: `The arguments of ${name} must be a JSON object like ${example}.` };
  }
  const result = argSchemas[name].safeParse(value);
  if (result.success) return { ok: true, args: result.data };
  const problems = result.error.issues.map((i) => `${i.path.join('.') || '(arguments)'}: ${i.message}`).join('; ');
  return { ok: false, message: `Invalid arguments for ${name}: ${problems}. Expected a JSON object like ${example}.` };
}

/** `{"path": string, "start_line"?: integer, ...}` from the tool's JSON schema. */
function exampleArgs(name: ToolName): string {
  const schema = AGENT_TOOLS.find((t) => t.name === name)?.parameters ?? {};
  const props = (schema.properties ?? {}) as Record<string, { type?: string }>;
  const required = (schema.required ?? []) as string[];
  const fields = Object.entries(props).map(
    ([k, v]) => `"${k}"${required.includes(k) ? '' : '?'}: ${v.type ?? 'value'}`,
  );
  return `{${fields.join(', ')}}`;
}

/** A path as shown to the model and the journal: relative to the root when it is inside it. */
function displayPath(fs: WorktreeFs, p: string): string {
  const rel = path.isAbsolute(p) ? path.relative(fs.root, p) : path.normalize(p);
  return rel === '' ? '.' : rel.split(path.sep).join('/');
}

/** Cut text to `max` characters at a line end; returns how many whole lines were kept. */
function capLines(text: string, max: number): { text: string; cut: boolean; lines: number } {
  if (text.length <= max) return { text, cut: false, lines: 0 };
  const nl = text.lastIndexOf('\n', max);
  const kept = nl > 0 ? text.slice(0, nl + 1) : text.slice(0, max);
  return { text: kept, cut: true, lines: kept.split('\n').length - (kept.endsWith('\n') ? 1 : 0) };
}

async function readFileTool(args: Args<'read_file'>, ctx: ToolContext): Promise<ToolOutcome> {
  const shown = displayPath(ctx.fs, args.path);
  const r = await ctx.fs.readFile(args.path, { startLine: args.start_line, endLine: args.end_line });
  if (!r.ok) return fail(`read_file ${shown}: ${r.reason}`, r.message);
  const first = args.start_line ?? 1;
  const capped = capLines(r.text, ctx.maxOutputBytes);
  const count = capped.cut ? capped.lines : r.text.split('\n').length - (r.text.endsWith('\n') ? 1 : 0);
  const last = first + count - 1;
  const range = count === 0 ? 'empty' : `lines ${first}-${last} of ${r.totalLines}`;
  let content = `${shown} (${range})\n${capped.text}`;
  if (capped.cut)
    content += `\n[… output cut at ${ctx.maxOutputBytes} characters; call read_file with start_line=${last + 1} to read on]`;
  return { ok: true, content, summary: oneLine(`read_file ${shown} (${range})`) };
}

async function listDirTool(args: Args<'list_dir'>, ctx: ToolContext): Promise<ToolOutcome> {
  const target = args.path ?? '.';
  const shown = displayPath(ctx.fs, target);
  const r = await ctx.fs.listDir(target);
  if (!r.ok) return fail(`list_dir ${shown}: ${r.reason}`, r.message);
  const suffix = { file: '', dir: '/', link: '@' } as const;
  const lines = r.entries.slice(0, MAX_LIST_ENTRIES).map((e) => `${e.name}${suffix[e.type]}`);
  if (r.entries.length > MAX_LIST_ENTRIES)
    lines.push(`[… ${r.entries.length - MAX_LIST_ENTRIES} more entries not shown]`);
  const body = capLines(lines.join('\n'), ctx.maxOutputBytes).text;
  const content = `${shown}/ (${r.entries.length} entries)\n${body}`;
  return { ok: true, content, summary: oneLine(`list_dir ${shown}: ${r.entries.length} entries`) };
}

async function searchTool(args: Args<'search'>, ctx: ToolContext): Promise<ToolOutcome> {
  const regex = args.regex ?? false;
  const r = await ctx.fs.search(args.pattern, { path: args.path, regex, maxResults: MAX_SEARCH_RESULTS });
  const what = `search ${JSON.stringify(args.pattern)}${args.path ? ` in ${displayPath(ctx.fs, args.path)}` : ''}`;
  if (!r.ok) return fail(`${what}: ${r.reason}`, r.message);
  const lines = r.matches.map((m) => `${m.path}:${m.line}: ${m.text}`);
  const capped = capLines(lines.join('\n'), ctx.maxOutputBytes);
  let content =
    r.matches.length === 0
      ? `No matches for ${JSON.stringify(args.pattern)}.`
      : `${r.matches.length} matches:\n${capped.text}`;
  if (r.truncated || capped.cut)
    content += '\n[… more matches not shown; narrow the search with path or a more specific pattern]';
  return { ok: true, content, summary: oneLine(`${what}: ${r.matches.length}${r.truncated ? '+' : ''} matches`) };
}

async function writeFileTool(args: Args<'write_file'>, ctx: ToolContext): Promise<ToolOutcome> {
  const shown = displayPath(ctx.fs, args.path);
  const r = await ctx.fs.writeFile(args.path, args.content);
  if (!r.ok) return fail(`write_file ${shown}: ${r.reason}`, r.message);
  const how = r.created ? 'created' : 'overwritten';
  return {
    ok: true,
    content: `Wrote ${r.bytes} bytes to ${shown} (${how}).`,
    summary: oneLine(`write_file ${shown}: ${r.bytes} bytes, ${how}`),
    wrote: shown,
  };
}

/** Start offsets of every occurrence of `needle` (overlapping ones included). */
function occurrences(text: string, needle: string): number[] {
  const at: number[] = [];
  for (let i = text.indexOf(needle); i >= 0; i = text.indexOf(needle, i + 1)) at.push(i);
  return at;
}

function lineOf(text: string, offset: number): number {
  return text.slice(0, offset).split('\n').length;
}

async function editFileTool(args: Args<'edit_file'>, ctx: ToolContext): Promise<ToolOutcome> {
  const shown = displayPath(ctx.fs, args.path);
  if (args.old_text === '')
    return fail(
      `edit_file ${shown}: empty old_text`,
      'old_text is empty. To create a file or replace all of it, use write_file.',
    );
  if (args.old_text === args.new_text)
    return fail(`edit_file ${shown}: no change`, 'new_text is identical to old_text; nothing to change.');
  const r = await ctx.fs.readFile(args.path);
  if (!r.ok) return fail(`edit_file ${shown}: ${r.reason}`, r.message);
  let oldText = args.old_text;
  let newText = args.new_text;
  let at = occurrences(r.text, oldText);
  if (at.length === 0 && r.text.includes('\r\n') && !oldText.includes('\r')) {
    oldText = oldText.replace(/\n/g, '\r\n');
    newText = newText.replace(/\n/g, '\r\n');
    at = occurrences(r.text, oldText);
  }
  if (at.length === 0)
    return fail(`edit_file ${shown}: old_text not found`, notFoundMessage(shown, r.text, args.old_text));
  if (at.length > 1) {
    const lines = at
      .slice(0, 10)
      .map((o) => lineOf(r.text, o))
      .join(', ');
    return fail(
      `edit_file ${shown}: old_text matches ${at.length} places`,
      `old_text matches ${at.length} places in ${shown} (at lines ${lines}). Include more surrounding lines in old_text so that it matches exactly one place.`,
    );
  }
  const updated = r.text.slice(0, at[0]) + newText + r.text.slice(at[0] + oldText.length);
  const w = await ctx.fs.writeFile(args.path, updated);
  if (!w.ok) return fail(`edit_file ${shown}: ${w.reason}`, w.message);
  const line = lineOf(r.text, at[0]);
  const counts = `${oldText.split('\n').length} lines -> ${newText.split('\n').length} lines`;
  return {
    ok: true,
    content: `Edited ${shown} at line ${line} (${counts}).`,
    summary: oneLine(`edit_file ${shown}:${line} (${counts})`),
    wrote: shown,
  };
}

function notFoundMessage(shown: string, text: string, oldText: string): string {
  let message = `old_text was not found in ${shown}. It must match the file exactly, whitespace and indentation included.`;
  const firstLine = oldText
    .split('\n')
    .find((l) => l.trim() !== '')
    ?.trim();
  if (firstLine) {
    const near = text
      .split('\n')
      .flatMap((l, i) => (l.trim() === firstLine ? [i + 1] : []))
      .slice(0, 5);
    if (near.length)
      message += ` Its first line occurs (ignoring indentation) at line ${near.join(', ')}; read the file there and copy the text exactly.`;
    else message += ' Read the file again and copy the text to replace exactly.';
  }
  return message;
}

/**
 * The policy's gate before a command runs: a deny is refused, an ask goes to the approver and runs
 * only when approved. Returns the outcome to give back instead of running, or the verdict to run on.
 */
async function gate(
  command: string,
  ctx: ToolContext,
): Promise<{ refused: ToolOutcome } | { policy: PolicyVerdict; approval?: ApprovalAnswer }> {
  const policy = await judgeCommand(command, { policy: ctx.policy, parser: ctx.shell, root: ctx.fs.root });
  if (policy.decision === 'deny') {
    const refused = fail(`run_command refused (${policy.rule.id}): ${command}`, refusalMessage(policy));
    return { refused: { ...refused, policy } };
  }
  if (policy.decision === 'allow') return { policy };
  const request = { task: ctx.taskId ?? null, line: command, verdict: policy };
  const approval = await (ctx.approver ?? NO_APPROVER).approve(request, ctx.signal);
  if (approval.approved) return { policy, approval };
  const refused = fail(
    `run_command not approved (${policy.rule.id}): ${command}`,
    notApprovedMessage(policy, approval.reason),
  );
  return { refused: { ...refused, policy, approval } };
}

async function runCommandTool(args: Args<'run_command'>, ctx: ToolContext): Promise<ToolOutcome> {
  const command = args.command;
  const gated = await gate(command, ctx);
  if ('refused' in gated) return gated.refused;
  const r = await ctx.runner.run(command, {
    cwd: ctx.fs.root,
    timeoutMs: ctx.commandTimeoutMs,
    maxOutputBytes: ctx.maxOutputBytes,
    signal: ctx.signal,
  });
  const seconds = (r.durationMs / 1000).toFixed(1);
  let status: string;
  if (r.timedOut)
    status = `timed out after ${(ctx.commandTimeoutMs / 1000).toFixed(0)}s; the command and its child processes were killed`;
  else if (r.aborted) status = 'aborted: the run was stopped and the command was killed';
  else if (r.exitCode === null) status = r.signal ? `killed by ${r.signal}` : 'could not start';
  else status = `exit code ${r.exitCode}`;
  const note = r.truncated ? ' (long output: the beginning and the end are kept)' : '';
  const body = capLines(r.output, ctx.maxOutputBytes + 200).text;
  const content = `$ ${command}\n${status} (${seconds}s)\noutput${note}:\n${body === '' ? '(none)' : body}`;
  const ok = r.exitCode === 0 && !r.timedOut && !r.aborted;
  return {
    ok,
    content,
    policy: gated.policy,
    ...(gated.approval ? { approval: gated.approval } : {}),
    summary: oneLine(
      `run_command ${oneLine(command, 120)} -> ${r.timedOut ? 'timed out' : r.aborted ? 'aborted' : status} (${seconds}s)`,
    ),
  };
}

function finishTool(args: Args<'finish'>): ToolOutcome {
  const summary = args.summary.trim();
  return {
    ok: true,
    content: 'Task marked as finished.',
    summary: oneLine(`finish: ${summary}`),
    finished: { summary },
  };
}
