/**
 * The command policy: whether an agent's shell line may run (allow), needs the developer (ask),
 * or is refused (deny). The line is parsed by a real shell parser (the ShellParser port), every
 * simple command in it is judged, wherever it sits (chains, pipes, subshells, substitutions,
 * here-documents, wrappers, `sh -c` code), and the strictest decision wins: deny > ask > allow.
 *
 * Three layers decide a command. The built-in rules (policyCatalog.ts) are the defaults; a category
 * the user allows (`commandPolicy.allow`) lets its rules through, and the user's own rules
 * (`commandPolicy.rules`), where one matches, replace the defaults for that command. Rules that
 * come from the shape of the line (unparsable, a program only known at run time) are a floor no
 * setting lowers. The workspace's rules come last and can only make a decision stricter.
 *
 * The policy spares the developer prompts and stops the obvious; it is not the boundary. A
 * sandbox around the process holds when the policy is wrong.
 */
import path from 'node:path';
import { errorMessage } from './errors';
import { isStricter, RULES } from './policyCatalog';
import type { BuiltinRule, CommandCategory, Decision, Finding, Unit } from './policyCatalog';
import { expandLine } from './policyUnits';
import type { ShellParser, ShellWord } from './shellSyntax';

export type { CommandCategory, Decision } from './policyCatalog';
export { COMMAND_CATEGORIES } from './policyCatalog';

/**
 * A rule of the user's or the workspace's: `match` is a command prefix, words separated by spaces
 * (no quoting), where `*` and `?` are wildcards inside a word and a word `*` matches any word,
 * even one only known at run time. `npm run *` matches `npm run build --watch`; the first word
 * also matches a command run by its path (`rm` matches `/bin/rm`).
 */
export interface CommandRule {
  match: string;
  decision: Decision;
}

/** What the user and the workspace say about commands. */
export interface CommandPolicy {
  /** Categories of built-in rules the user lets through. */
  allow: CommandCategory[];
  /** The user's own rules. Where any matches a command, they decide it instead of the built-in rules. */
  rules: CommandRule[];
  /** The workspace's rules (repository settings, foreman.json): they can only make a decision stricter. */
  workspaceRules: CommandRule[];
}

/** The default: built-in rules only. */
export const DEFAULT_POLICY: CommandPolicy = { allow: [], rules: [], workspaceRules: [] };

/** The rule behind a decision, for the model, the developer and the audit trail. */
export interface PolicyRule {
  /** A built-in rule's id (`rm-recursive`), or `user-rule` / `workspace-rule`, or `no-rule`. */
  id: string;
  /** One sentence about the command. */
  why: string;
  source: 'builtin' | 'user' | 'workspace';
  category: CommandCategory | null;
  /** True for rules from the line's shape, which no setting lowers. */
  fixed: boolean;
}

/** The policy's answer for a whole line: the decision, the rule that made it, and the simple command it judged. */
export interface PolicyVerdict {
  decision: Decision;
  rule: PolicyRule;
  /** The simple command (as written) that decided, or the whole line when nothing did. */
  command: string;
}

/** What judging needs: the policy, a shell parser and the worktree the line runs in. */
export interface PolicyContext {
  policy: CommandPolicy;
  parser: ShellParser;
  /** The worktree's root, absolute: relative paths are judged from here, through any `cd`. */
  root: string;
}

const NO_RULE: PolicyRule = {
  id: 'no-rule',
  why: 'No rule asks about or refuses anything in it.',
  source: 'builtin',
  category: null,
  fixed: false,
};

/** Judge a shell line. Never rejects: a line or a parser that cannot be read is a deny. */
export async function judgeCommand(line: string, ctx: PolicyContext): Promise<PolicyVerdict> {
  let expansion: { units: Unit[]; findings: Finding[] };
  try {
    const script = await ctx.parser.parse(line);
    if (script.error) return builtinVerdict(RULES.parseError, `It cannot be read as shell: ${script.error}.`, line);
    expansion = await expandLine(script, ctx);
  } catch (e) {
    return builtinVerdict(RULES.parseError, `The shell parser could not read it (${errorMessage(e)}).`, line);
  }
  let best: PolicyVerdict | null = null;
  for (const unit of expansion.units) {
    const judged = judgeUnit(
      unit,
      expansion.findings.filter((f) => f.unit === unit),
      ctx.policy,
    );
    if (judged.rule === null) continue;
    if (best === null || isStricter(judged.decision, best.decision))
      best = { decision: judged.decision, rule: judged.rule, command: unit.command.text.trim() };
  }
  return best ?? { decision: 'allow', rule: NO_RULE, command: line };
}

function builtinVerdict(rule: BuiltinRule, why: string, command: string): PolicyVerdict {
  return { decision: rule.decision, rule: fromBuiltin(rule, why), command };
}

function fromBuiltin(rule: BuiltinRule, why: string): PolicyRule {
  return { id: rule.id, why, source: 'builtin', category: rule.category, fixed: rule.fixed };
}

/** A unit's decision and its rule (null when nothing spoke about it). */
function judgeUnit(
  unit: Unit,
  findings: Finding[],
  policy: CommandPolicy,
): { decision: Decision; rule: PolicyRule | null } {
  let result = defaultsOrUser(unit, findings, policy);
  const raise = (decision: Decision, rule: PolicyRule): void => {
    if (isStricter(decision, result.decision)) result = { decision, rule };
  };
  for (const f of findings) if (f.rule.fixed) raise(f.rule.decision, fromBuiltin(f.rule, f.why));
  for (const r of policy.workspaceRules) {
    if (r.decision !== 'allow' && ruleMatches(r.match, unit.words)) raise(r.decision, settingRule(r, 'workspace'));
  }
  return result;
}

/** The user's matching rules, strictest first; else the built-in defaults less the allowed categories. */
function defaultsOrUser(
  unit: Unit,
  findings: Finding[],
  policy: CommandPolicy,
): { decision: Decision; rule: PolicyRule | null } {
  const user = policy.rules.filter((r) => ruleMatches(r.match, unit.words));
  if (user.length) {
    const strictest = user.reduce((a, b) => (isStricter(b.decision, a.decision) ? b : a));
    return { decision: strictest.decision, rule: settingRule(strictest, 'user') };
  }
  let result: { decision: Decision; rule: PolicyRule | null } = { decision: 'allow', rule: null };
  for (const f of findings) {
    if (f.rule.fixed) continue;
    const allowed = f.rule.category !== null && policy.allow.includes(f.rule.category);
    const decision = allowed ? 'allow' : f.rule.decision;
    if (result.rule === null || isStricter(decision, result.decision)) {
      const why = allowed ? `${f.why} The developer allows category '${f.rule.category}'.` : f.why;
      result = { decision, rule: fromBuiltin(f.rule, why) };
    }
  }
  return result;
}

function settingRule(r: CommandRule, source: 'user' | 'workspace'): PolicyRule {
  const whose = source === 'user' ? "the developer's" : "the workspace's";
  return {
    id: `${source}-rule`,
    why: `It matches ${whose} rule "${r.match}" (${r.decision}).`,
    source,
    category: null,
    fixed: false,
  };
}

/** True when the rule's `match` is a prefix of the command's words (see CommandRule). */
export function ruleMatches(match: string, words: ShellWord[]): boolean {
  const pattern = match.trim().split(/\s+/).filter(Boolean);
  if (pattern.length === 0 || pattern.length > words.length) return false;
  return pattern.every((p, i) => wordMatches(p, words[i], i === 0));
}

function wordMatches(pattern: string, word: ShellWord, isName: boolean): boolean {
  if (pattern === '*') return true;
  if (word.value === null) return false;
  const re = new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
    's',
  );
  return re.test(word.value) || (isName && word.value.includes('/') && re.test(path.posix.basename(word.value)));
}

// ---------------------------------------------------------------------------------------------
// Messages for the model
// ---------------------------------------------------------------------------------------------

const WITHOUT_IT = 'Do the task without it, or say in your finish summary that it is needed.';

function shown(command: string): string {
  const flat = command.replace(/\s+/g, ' ').trim();
  return flat.length > 200 ? `${flat.slice(0, 197)}...` : flat;
}

/** How the developer could let it through, in one sentence. */
function howToAllow(rule: PolicyRule, decision: Decision): string {
  if (rule.source !== 'builtin') return 'The rule is the developer’s own setting.';
  if (rule.fixed && decision === 'ask')
    return 'No setting lets this through without an approval: the policy cannot tell what would run.';
  if (rule.fixed) return 'No setting lets this through: the policy cannot tell what would run.';
  if (rule.category)
    return `Category '${rule.category}' is not allowed; the developer can allow it by adding '${rule.category}' to commandPolicy.allow.`;
  return 'The developer can allow it with a rule in commandPolicy.rules.';
}

/** The message for a denied line: which command, why, the rule, and what to do. */
export function refusalMessage(v: PolicyVerdict): string {
  return `Refused by the command policy: \`${shown(v.command)}\`. ${v.rule.why} Rule: ${v.rule.id}. ${howToAllow(v.rule, v.decision)} ${WITHOUT_IT}`;
}

/** The message for an asked line the developer did not approve; `reason` is the answer's. */
export function notApprovedMessage(v: PolicyVerdict, reason: string): string {
  return `Not run: \`${shown(v.command)}\` needs the developer's approval. ${v.rule.why} Rule: ${v.rule.id}. ${reason} ${howToAllow(v.rule, v.decision)} ${WITHOUT_IT}`;
}
