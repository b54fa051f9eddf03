/**
 * From a parsed line to the units the rules judge. Each simple command is a unit; a wrapper
 * (policyWrappers.ts) adds a unit for the command it runs, and code it hands to a shell (`sh -c`,
 * `eval`, `su -c`, `watch`, `trap`) is parsed again, to a depth limit. The working directory is
 * followed through `cd`, so relative paths are judged from where the line is. Every unit is
 * checked here, and what fired comes back as findings.
 */
import path from 'node:path';
import { checkUnit } from './policyChecks';
import { commandName, isToplevel, operands, RULES } from './policyCatalog';
import type { BuiltinRule, Finding, Report, Unit } from './policyCatalog';
import { wrapperOf } from './policyWrappers';
import type { CodeStep } from './policyWrappers';
import type { ShellParser, ShellScript, ShellWord } from './shellSyntax';

/** How many shells inside shells are read; deeper is refused. */
export const MAX_DEPTH = 8;

/** What expanding needs: the parser for nested code and the worktree's root. */
export interface ExpandContext {
  parser: ShellParser;
  root: string;
}

/** Every unit of a line and every finding of the built-in rules on them. */
export interface Expansion {
  units: Unit[];
  findings: Finding[];
}

/** Wrappers that are builtins of the line's own shell: what they run can change its directory. */
const SHELL_BUILTINS = new Set(['command', 'builtin']);

/** The working directory as the line moves through it; null once only the running line knows. */
interface Cursor {
  cwd: string | null;
}

/** Expand a parsed line (depth 0) into units and findings. */
export async function expandLine(script: ShellScript, ctx: ExpandContext): Promise<Expansion> {
  const out: Expansion = { units: [], findings: [] };
  await expandScript(script, ctx, 0, { cwd: ctx.root }, out);
  return out;
}

async function expandScript(
  script: ShellScript,
  ctx: ExpandContext,
  depth: number,
  cursor: Cursor,
  out: Expansion,
): Promise<void> {
  for (const command of script.commands) {
    const unit: Unit = { words: command.words, command, outer: true, cwd: cursor.cwd, extraArgs: false, depth };
    await expandUnit(unit, ctx, cursor, out);
  }
}

/** Check one unit, then expand what it wraps or runs. */
async function expandUnit(unit: Unit, ctx: ExpandContext, cursor: Cursor, out: Expansion): Promise<void> {
  out.units.push(unit);
  const report: Report = (rule: BuiltinRule, why?: string) => {
    out.findings.push({ rule, why: why ?? rule.why, unit });
  };
  checkUnit(unit, ctx.root, report);
  if (unit.words.length === 0) return;
  const name = commandName(unit.words[0]);
  if (name === null) return report(RULES.dynamicCommand);
  const args = unit.words.slice(1);
  if (name === 'cd' || name === 'pushd' || name === 'popd') cursor.cwd = movedTo(name, args, cursor.cwd, ctx.root);
  for (const step of wrapperOf(name)?.({ unit, args, root: ctx.root, report }) ?? []) {
    if ('code' in step) {
      await expandCode(step, unit, ctx, step.sameShell ? cursor : { cwd: unit.cwd }, out, report);
    } else if (step.words.length) {
      const cwd = step.cwd === undefined ? unit.cwd : step.cwd;
      const extraArgs = step.extraArgs ?? unit.extraArgs;
      // `command cd ..` and `builtin cd ..` move the line's own shell; other wrappers are programs.
      const next = SHELL_BUILTINS.has(name) ? cursor : { cwd };
      await expandUnit({ ...unit, words: step.words, outer: false, cwd, extraArgs }, ctx, next, out);
    }
  }
}

/** Code handed to a shell: parsed and expanded one level deeper, or a finding when it cannot be. */
async function expandCode(
  step: CodeStep,
  unit: Unit,
  ctx: ExpandContext,
  cursor: Cursor,
  out: Expansion,
  report: Report,
): Promise<void> {
  const code = step.code.value;
  if (code === null) return report(RULES.dynamicCode, `${step.what} runs code only known when it runs.`);
  if (unit.depth + 1 > MAX_DEPTH) return report(RULES.tooDeep);
  const script = await ctx.parser.parse(code);
  if (script.error) return report(RULES.parseError, `The code ${step.what} runs cannot be read: ${script.error}.`);
  await expandScript(script, ctx, unit.depth + 1, cursor, out);
}

/** Where `cd`, `pushd` or `popd` leaves the line. */
function movedTo(name: string, args: ShellWord[], cwd: string | null, root: string): string | null {
  const target = operands(args)[0];
  if (name === 'popd' || target === undefined) return null;
  if (isToplevel(target)) return root;
  const v = target.value;
  if (v === null || target.glob || v === '-' || v.startsWith('~')) return null;
  if (cwd === null && !path.isAbsolute(v)) return null;
  return path.resolve(cwd ?? root, v);
}
