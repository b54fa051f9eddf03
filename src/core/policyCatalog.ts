/**
 * The command policy's vocabulary: decisions, the built-in rules (each with an id, a decision and
 * a sentence), the unit a rule judges, and helpers over its words and paths. Pure.
 */
import path from 'node:path';
import type { ShellCommand, ShellWord } from './shellSyntax';

/** What the policy says about a command. Ordered: deny beats ask beats allow. */
export type Decision = 'allow' | 'ask' | 'deny';

const STRICTNESS: Record<Decision, number> = { allow: 0, ask: 1, deny: 2 };

/** The stricter of two decisions. */
export function stricter(a: Decision, b: Decision): Decision {
  return STRICTNESS[b] > STRICTNESS[a] ? b : a;
}

/** True when `a` is strictly stricter than `b`. */
export function isStricter(a: Decision, b: Decision): boolean {
  return STRICTNESS[a] > STRICTNESS[b];
}

/** A group of default rules the user can let through at once (`commandPolicy.allow`). */
export type CommandCategory = 'recursive_delete' | 'git_history' | 'git_push' | 'network' | 'privilege';

/** Every category, in the order settings list them. */
export const COMMAND_CATEGORIES: readonly CommandCategory[] = [
  'recursive_delete',
  'git_history',
  'git_push',
  'network',
  'privilege',
];

/**
 * A built-in rule. `fixed` rules come from the shape of the line (unparsable, or a name or program
 * only known at run time): no setting loosens them, because no rule can name what they stand for.
 * The others are defaults: a category the user allows, or a user rule matching the command,
 * replaces them.
 */
export interface BuiltinRule {
  id: string;
  decision: Decision;
  category: CommandCategory | null;
  fixed: boolean;
  /** One sentence, about the command, for the model, the developer and the audit. */
  why: string;
}

const rule = (
  id: string,
  decision: Decision,
  why: string,
  opts: { category?: CommandCategory; fixed?: boolean } = {},
): BuiltinRule => ({ id, decision, why, category: opts.category ?? null, fixed: opts.fixed ?? false });

/** The built-in rules by id. */
export const RULES = {
  parseError: rule('parse-error', 'deny', 'It is not a shell line the policy can read.', { fixed: true }),
  tooDeep: rule('nesting-too-deep', 'deny', 'It nests shells inside shells deeper than the policy reads.', {
    fixed: true,
  }),
  dynamicCommand: rule('dynamic-command', 'ask', 'The name of a command it runs is only known when it runs.', {
    fixed: true,
  }),
  dynamicCode: rule('dynamic-code', 'ask', 'It runs shell code that is only known when it runs.', { fixed: true }),
  codeFromInput: rule('code-from-input', 'ask', 'A shell or interpreter in it reads its program from its input.', {
    fixed: true,
  }),
  rmRecursive: rule('rm-recursive', 'deny', 'It deletes files recursively.', { category: 'recursive_delete' }),
  findDelete: rule('find-delete', 'deny', 'It deletes every file find matches.', { category: 'recursive_delete' }),
  gitClean: rule('git-clean', 'deny', 'It deletes untracked files (git clean).', { category: 'recursive_delete' }),
  deleteOutside: rule(
    'delete-outside',
    'deny',
    'It deletes recursively outside the worktree, or where only the running line knows.',
  ),
  gitHistory: rule('git-history', 'deny', 'It rewrites or throws away git history or uncommitted work.', {
    category: 'git_history',
  }),
  gitPush: rule('git-push', 'deny', 'It pushes commits to a git remote.', { category: 'git_push' }),
  network: rule('network', 'ask', 'It reaches the network.', { category: 'network' }),
  privilege: rule('privilege', 'deny', 'It runs with elevated privileges or as another user.', {
    category: 'privilege',
  }),
  setuid: rule('setuid', 'deny', 'It sets the setuid or setgid bit on a file.'),
  devTcp: rule('dev-tcp', 'deny', "It opens a network connection through the shell's /dev/tcp or /dev/udp."),
  gitConfigExec: rule('git-config-exec', 'deny', 'It sets a git option that makes git run another program.'),
  gitConfigWrite: rule('git-config-write', 'deny', "It changes the repository's git configuration."),
  gitInternals: rule('git-internals', 'deny', 'It writes inside a .git directory (hooks, config, refs).'),
  diskDestroy: rule('disk-destroy', 'deny', 'It writes to a disk device or creates a file system.'),
  killAll: rule('kill-all', 'deny', 'It signals every process the user owns.'),
  inlineCode: rule('inline-code', 'ask', 'It runs a program given in its arguments to an interpreter.'),
  packageRunner: rule('package-runner', 'ask', 'It downloads a package and runs it (npx, npm exec, dlx and the like).'),
  busybox: rule('busybox', 'ask', 'It runs a command through busybox or toybox.'),
  detached: rule('detached', 'ask', "It starts something that outlives the task's process group."),
  writeOutside: rule(
    'write-outside',
    'ask',
    'It writes a file outside the worktree, or where only the running line knows.',
  ),
  dynamicArgument: rule(
    'dynamic-argument',
    'ask',
    'A command the policy checks gets arguments only known when it runs.',
  ),
  execEnvironment: rule('exec-environment', 'ask', 'It sets a variable that changes which program runs.'),
  rebindsName: rule(
    'rebinds-name',
    'ask',
    'It changes what a command name runs (an alias, a builtin or a hashed path).',
  ),
  killByName: rule('kill-by-name', 'ask', 'It kills processes by name, which may be the developer’s own.'),
  container: rule('container', 'ask', 'It starts or enters a container, which can reach the whole machine.'),
  gitOtherRepo: rule('git-other-repo', 'ask', 'It points git at another repository or work tree.'),
  gitUnknown: rule(
    'git-unknown-command',
    'ask',
    'It runs a git command Foreman does not know: an alias from the git configuration or a git-<name> program.',
  ),
} as const satisfies Record<string, BuiltinRule>;

/**
 * One command the rules judge: a simple command of the line, or the command a wrapper runs
 * (`sudo`, `env`, `xargs`, `find -exec`, `busybox`, …). Redirections and assignments are judged on
 * the simple command itself (`outer`), never again on what it wraps.
 */
export interface Unit {
  /** The name first, then the arguments (wrappers already taken off). */
  words: ShellWord[];
  command: ShellCommand;
  outer: boolean;
  /** The working directory here, absolute; null once the line has gone somewhere only it knows. */
  cwd: string | null;
  /** True when the command gets more arguments at run time (from xargs). */
  extraArgs: boolean;
  /** How many shells deep it sits (0: the line itself). */
  depth: number;
}

/** A rule that fired on a unit; `why` may say more than the rule's own sentence. */
export interface Finding {
  rule: BuiltinRule;
  why: string;
  unit: Unit;
}

/** Collects findings for one unit. */
export type Report = (rule: BuiltinRule, why?: string) => void;

/** What a rule for one command gets: the unit, its arguments (the name taken off), the worktree root. */
export interface CheckInput {
  unit: Unit;
  args: ShellWord[];
  root: string;
  report: Report;
}

/** The rules of one command name. */
export type Check = (input: CheckInput) => void;

/** A check that fires one rule whatever the arguments. */
export const always =
  (rule: BuiltinRule, why?: string): Check =>
  ({ report }) =>
    report(rule, why);

/** The literal value of a word, or null. */
export const valueOf = (w: ShellWord | undefined): string | null => w?.value ?? null;

/** The command's name as rules know it: the last path part of a literal name (`/bin/rm` → `rm`). */
export function commandName(w: ShellWord | undefined): string | null {
  const v = valueOf(w);
  if (v === null || w?.glob) return null;
  return v.includes('/') ? path.posix.basename(v) : v;
}

/** True when a short-option cluster holds `letter` (`-rf` holds r) or a word is one of the long `longs`. */
export function hasFlag(args: ShellWord[], letter: string | null, ...longs: string[]): boolean {
  for (const w of args) {
    const a = w.value;
    if (a === null) continue;
    if (a === '--') return false;
    if (letter !== null && /^-[A-Za-z0-9]+$/.test(a) && a.includes(letter)) return true;
    if (longs.some((l) => a === l || a.startsWith(`${l}=`))) return true;
  }
  return false;
}

/**
 * The words after the leading options. `withValue` names options whose value is the next word;
 * `--` ends the options. An option written as `-n5` or `--max=5` carries its own value.
 */
export function afterOptions(args: ShellWord[], withValue: readonly string[] = []): ShellWord[] {
  let i = 0;
  while (i < args.length) {
    const a = args[i].value;
    if (a === null || !a.startsWith('-') || a === '-') break;
    if (a === '--') return args.slice(i + 1);
    i += withValue.includes(a) ? 2 : 1;
  }
  return args.slice(i);
}

/** The non-option words (every word after `--`), skipping the values of `withValue` options. */
export function operands(args: ShellWord[], withValue: readonly string[] = []): ShellWord[] {
  const out: ShellWord[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i].value;
    if (a === '--') return [...out, ...args.slice(i + 1)];
    if (a !== null && a.startsWith('-') && a !== '-') {
      if (withValue.includes(a)) i++;
      continue;
    }
    out.push(args[i]);
  }
  return out;
}

/** Where a path word points, seen from a unit. */
export interface PathView {
  /** Inside the worktree, outside it, or not known before the line runs. */
  where: 'inside' | 'outside' | 'unknown';
  /** True when it names something inside a `.git` directory (or the worktree's `.git` itself). */
  gitInternal: boolean;
}

/** Device files a command may write to freely. */
const HARMLESS_DEVICES = /^\/dev\/(null|zero|stdout|stderr|stdin|tty|fd\/\d+)$|^\/proc\/self\/fd\/\d+$/;

/** Judge a path word against the worktree `root`. */
export function pathOf(w: ShellWord, unit: Unit, root: string): PathView {
  const v = w.value;
  const gitInternal = /(^|[/"'=])\.git([/"']|$)/.test(v ?? w.source) || /--git-(common-)?dir|--git-path/.test(w.source);
  if (v === null) return { where: 'unknown', gitInternal };
  if (HARMLESS_DEVICES.test(v)) return { where: 'inside', gitInternal: false };
  if (v.startsWith('~')) return { where: 'outside', gitInternal };
  // A glob is judged by its fixed beginning: `build/*` stays inside, `../*` and `/*` do not.
  const fixed = w.glob ? v.slice(0, v.search(/[*?[]/)) || '.' : v;
  if (!path.isAbsolute(fixed) && unit.cwd === null) return { where: 'unknown', gitInternal };
  const abs = path.resolve(unit.cwd ?? root, fixed);
  return { where: isInside(abs, root) ? 'inside' : 'outside', gitInternal };
}

/** True when `abs` is `root` or below it. */
export function isInside(abs: string, root: string): boolean {
  const rel = path.relative(root, abs);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/** `"$(git rev-parse --show-toplevel)"`: the worktree's own root, the most common dynamic `cd`. */
export function isToplevel(w: ShellWord): boolean {
  return /^"?(\$\(\s*|`\s*)git rev-parse --show-toplevel\s*(\)|`)"?$/.test(w.source);
}
