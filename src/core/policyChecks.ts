/**
 * The command policy's rules for one unit (a command whose name is known): a table of checks by
 * command name, the files a command writes, the variables it sets and where its redirections go.
 * Wrappers and nested shells are taken apart before this, in policyWrappers.ts.
 */
import { gitRules } from './policyGit';
import { NETWORK_CHECKS } from './policyNetwork';
import { afterOptions, always, commandName, hasFlag, operands, pathOf, RULES } from './policyCatalog';
import type { Check, Report, Unit } from './policyCatalog';
import type { ShellWord } from './shellSyntax';

/** Run every rule that applies to `unit`. */
export function checkUnit(unit: Unit, root: string, report: Report): void {
  if (unit.outer) {
    for (const a of unit.command.assignments) checkAssignment(a.name, report);
    checkRedirects(unit, root, report);
  }
  if (unit.words.some((w) => DEV_TCP.test(w.value ?? w.source))) report(RULES.devTcp);
  const name = commandName(unit.words[0]);
  if (name === null) return;
  const input = { unit, args: unit.words.slice(1), root, report };
  if (Object.hasOwn(CHECKS, name)) CHECKS[name](input);
  if (Object.hasOwn(NETWORK_CHECKS, name)) NETWORK_CHECKS[name](input);
  if (/^mkfs(\.|$)/.test(name)) report(RULES.diskDestroy);
  for (const target of writeTargets(name, input.args)) judgeWrite(target, unit, root, report);
}

const DEV_TCP = /\/dev\/(tcp|udp)\//;

// ---------------------------------------------------------------------------------------------
// Variables and redirections
// ---------------------------------------------------------------------------------------------

/** Variables that decide which program runs, or what git does. */
const EXEC_VARIABLES = new RegExp(
  '^(PATH|LD_PRELOAD|LD_LIBRARY_PATH|LD_AUDIT|BASH_ENV|ENV|PROMPT_COMMAND|NODE_OPTIONS|PYTHONSTARTUP|PERL5OPT|' +
    'RUBYOPT|EDITOR|VISUAL|GIT_(SSH|SSH_COMMAND|EXEC_PATH|DIR|WORK_TREE|COMMON_DIR|ASKPASS|EDITOR|SEQUENCE_EDITOR|' +
    'PAGER|EXTERNAL_DIFF|PROXY_COMMAND|TEMPLATE_DIR|CONFIG_GLOBAL|CONFIG_SYSTEM))$',
);
/** Variables through which git takes configuration (`-c` in disguise). */
export const GIT_CONFIG_VARIABLES = /^GIT_CONFIG_(COUNT|KEY_\d+|VALUE_\d+|PARAMETERS)$|^GIT_CONFIG$/;

/** A variable set for a command (`X=1 cmd`, `export X=1`, `env X=1 cmd`). */
export function checkAssignment(name: string, report: Report): void {
  if (GIT_CONFIG_VARIABLES.test(name)) report(RULES.gitConfigExec, `It sets git options through ${name}.`);
  else if (EXEC_VARIABLES.test(name))
    report(RULES.execEnvironment, `It sets ${name}, which changes which program runs.`);
}

/** `export NAME=…` and its kin: the names they set. */
const declares: Check = ({ args, report }) => {
  for (const w of args) {
    const m = /^([A-Za-z_][A-Za-z0-9_]*)=/.exec(w.value ?? w.source);
    if (m) checkAssignment(m[1], report);
  }
};

const WRITE_OPS = new Set(['>', '>>', '>|', '&>', '&>>', '<>']);

function checkRedirects(unit: Unit, root: string, report: Report): void {
  for (const r of unit.command.redirects) {
    const target = r.target;
    if (target === null) continue;
    if (DEV_TCP.test(target.value ?? target.source)) {
      report(RULES.devTcp);
      continue;
    }
    const duplicates = (r.op === '>&' || r.op === '<&') && /^(\d+-?|-)$/.test(target.value ?? '');
    if (WRITE_OPS.has(r.op) || (r.op === '>&' && !duplicates)) judgeWrite(target, unit, root, report);
  }
}

/** A file written: inside `.git` is refused, outside the worktree (or unknown) asks. */
function judgeWrite(target: ShellWord, unit: Unit, root: string, report: Report): void {
  const where = pathOf(target, unit, root);
  if (where.gitInternal) report(RULES.gitInternals, `It writes ${target.source} inside a .git directory.`);
  else if (where.where !== 'inside')
    report(RULES.writeOutside, `It writes ${target.source}, outside the worktree or only known when it runs.`);
}

// ---------------------------------------------------------------------------------------------
// Files a command writes
// ---------------------------------------------------------------------------------------------

/** Commands that write (or remove) every path they are given, with their options that take a value. */
const WRITE_ALL: Record<string, string[]> = {
  rmdir: [],
  mv: ['-t', '--target-directory', '-S', '--suffix'],
  touch: ['-d', '-r', '-t', '--date', '--reference'],
  mkdir: ['-m', '--mode'],
  tee: [],
  truncate: ['-s', '--size', '-r', '--reference'],
  shred: ['-n', '-s', '--iterations', '--size'],
  unlink: [],
};
/** Commands whose first operand is a mode or an owner, and the rest are files. */
const WRITE_AFTER_FIRST = new Set(['chmod', 'chown', 'chgrp']);
/** Commands that write only their last operand (or their `-t` directory). */
const WRITE_LAST: Record<string, string[]> = {
  cp: ['-t', '--target-directory', '-S', '--suffix'],
  ln: ['-t', '--target-directory', '-S', '--suffix'],
  install: ['-t', '--target-directory', '-m', '--mode', '-o', '--owner', '-g', '--group', '-S', '--suffix'],
  rsync: ['-e', '--rsh', '--exclude', '--include', '--filter', '-f', '--chmod', '--log-file', '--files-from'],
};

/** The paths a command writes to, as far as its arguments tell (rm has a rule of its own). */
function writeTargets(name: string, args: ShellWord[]): ShellWord[] {
  if (Object.hasOwn(WRITE_ALL, name)) return operands(args, WRITE_ALL[name]);
  if (WRITE_AFTER_FIRST.has(name)) return operands(args, ['--reference']).slice(1);
  if (Object.hasOwn(WRITE_LAST, name)) return lastOrTarget(args, WRITE_LAST[name]);
  if (name === 'sed' && hasFlag(args, 'i', '--in-place')) return sedFiles(args);
  if (name === 'dd')
    return args.flatMap((w) => (w.value?.startsWith('of=') ? [{ ...w, value: w.value.slice(3) }] : []));
  return [];
}

function lastOrTarget(args: ShellWord[], withValue: string[]): ShellWord[] {
  const t = args.findIndex((w) => w.value === '-t' || w.value === '--target-directory');
  if (t >= 0 && args[t + 1]) return [args[t + 1]];
  const inline = args.find((w) => w.value?.startsWith('--target-directory='));
  if (inline?.value) return [{ ...inline, value: inline.value.slice('--target-directory='.length) }];
  const ops = operands(args, withValue);
  return ops.length > 1 ? ops.slice(-1) : [];
}

/** The files `sed -i` edits: its operands after the script (unless the script came with -e or -f). */
function sedFiles(args: ShellWord[]): ShellWord[] {
  const ops = operands(args, ['-e', '--expression', '-f', '--file', '-l', '--line-length']);
  return hasFlag(args, 'e', '--expression') || hasFlag(args, 'f', '--file') ? ops : ops.slice(1);
}

// ---------------------------------------------------------------------------------------------
// Rules by command name
// ---------------------------------------------------------------------------------------------

/**
 * `rm`: recursive inside the worktree is the recursive_delete category; recursive anywhere else,
 * or where only the running line knows (variables, xargs), is refused whatever the categories.
 */
const rm: Check = ({ unit, args, root, report }) => {
  const recursive = hasFlag(args, 'r', '--recursive') || hasFlag(args, 'R');
  const dynamic = unit.extraArgs || args.some((w) => w.value === null);
  const targets = operands(args).map((w) => ({ w, view: pathOf(w, unit, root) }));
  if (recursive) {
    if (dynamic || targets.some((t) => t.view.where !== 'inside')) return report(RULES.deleteOutside);
    if (targets.some((t) => t.view.gitInternal))
      return report(RULES.gitInternals, 'It deletes inside a .git directory.');
    return report(RULES.rmRecursive);
  }
  if (dynamic)
    report(RULES.dynamicArgument, 'rm gets arguments only known when it runs, which may delete recursively.');
  for (const t of targets) judgeWrite(t.w, unit, root, report);
};

/** A mode with the setuid or setgid bit: `u+s`, `g=rxs`, `+s`, `4755`, `02755`. */
export function isSetuidMode(mode: string): boolean {
  if (/^[0-7]+$/.test(mode)) {
    const digits = mode.replace(/^0+(?=[0-7]{4})/, '');
    return digits.length === 4 && (Number(digits[0]) & 6) !== 0;
  }
  return mode.split(',').some((clause) => /^[ugoa]*[+=][rwxXst]*s/.test(clause));
}

const chmod: Check = ({ args, report }) => {
  const mode = operands(args, ['--reference'])[0];
  if (mode && mode.value === null) report(RULES.dynamicArgument, 'chmod gets a mode only known when it runs.');
  else if (mode?.value && isSetuidMode(mode.value)) report(RULES.setuid);
};

const install: Check = ({ args, report }) => {
  const mode = args.find((_, i) => i > 0 && ['-m', '--mode'].includes(args[i - 1].value ?? ''));
  if (mode?.value && isSetuidMode(mode.value)) report(RULES.setuid);
};

const find: Check = ({ unit, args, root, report }) => {
  if (!args.some((w) => w.value === '-delete')) return;
  if (startPaths(args).some((w) => pathOf(w, unit, root).where !== 'inside')) report(RULES.deleteOutside);
  else report(RULES.findDelete);
};

/** The starting points of a `find` (the words before the first test or action), `.` when none. */
export function startPaths(args: ShellWord[]): ShellWord[] {
  const rest = afterOptions(args, ['-D', '-O']);
  const end = rest.findIndex((w) => w.value === null || /^[-(!]/.test(w.value));
  const paths = end < 0 ? rest : rest.slice(0, end);
  return paths.length ? paths : [{ source: '.', value: '.', glob: false }];
}

/** `kill -9 -1` (and `kill -- -1`): every process the user may signal. A first `-…` is the signal. */
const kill: Check = ({ args, report }) => {
  const first = args[0]?.value;
  const skip = first === '-s' || first === '-n' ? 2 : first?.startsWith('-') ? 1 : 0;
  if (args.slice(skip).some((w) => w.value === '-1')) report(RULES.killAll);
};

const dd: Check = ({ args, report }) => {
  if (args.some((w) => /^of=\/dev\/(?!null$|zero$|stdout$|stderr$)/.test(w.value ?? ''))) report(RULES.diskDestroy);
};

const TMUX_STARTS = ['new', 'new-session', 'new-window', 'split-window', 'run-shell'];

/** An awk program that runs commands (`system(…)`, a pipe to or from a command). */
const awk: Check = ({ args, report }) => {
  const program = operands(args, ['-f', '-v', '-F', '--file', '--assign', '--field-separator'])[0];
  if (hasFlag(args, 'f', '--file') || program === undefined) return;
  if (program.value === null) return report(RULES.inlineCode, 'It runs an awk program only known when it runs.');
  if (/\bsystem\s*\(|\|\s*(getline|&|")|"\s*\|/.test(program.value))
    report(RULES.inlineCode, 'It runs commands from an awk program (system or a pipe).');
};

/** A sed script with the `e` command or the `e` flag of `s///e`, which run the shell. */
const sed: Check = ({ args, report }) => {
  const scripts = args.filter((_, i) => i > 0 && ['-e', '--expression'].includes(args[i - 1].value ?? ''));
  if (!hasFlag(args, 'e', '--expression') && !hasFlag(args, 'f', '--file')) {
    const first = operands(args, ['-l', '--line-length'])[0];
    if (first) scripts.push(first);
  }
  const runs = (script: string): boolean =>
    /(^|[;\n{}])\s*e(\s|$|;)/.test(script) || /s(.).*\1.*\1[gpIiMm0-9w]*e/.test(script);
  if (scripts.some((w) => w.value !== null && runs(w.value)))
    report(RULES.inlineCode, 'It runs shell commands from a sed script (the e command).');
};

const privileged = always(RULES.privilege);
const detached = always(RULES.detached);

/** The commands with rules of their own (besides the network's), by name. */
const CHECKS: Record<string, Check> = {
  rm,
  chmod,
  install,
  find,
  kill,
  dd,
  awk,
  gawk: awk,
  mawk: awk,
  nawk: awk,
  sed,
  git: ({ unit, root, report }) => gitRules(unit, root, report),
  pkill: always(RULES.killByName),
  killall: always(RULES.killByName),
  wipefs: always(RULES.diskDestroy),
  busybox: always(RULES.busybox),
  toybox: always(RULES.busybox),
  setsid: detached,
  'systemd-run': detached,
  at: detached,
  batch: detached,
  daemonize: detached,
  'start-stop-daemon': detached,
  tmux: ({ args, report }) => {
    if (TMUX_STARTS.includes(args[0]?.value ?? '')) report(RULES.detached, 'It starts a tmux session.');
  },
  screen: ({ args, report }) => {
    if (hasFlag(args, 'd', '-dm', '-Dm')) report(RULES.detached, 'It starts a detached screen session.');
  },
  crontab: ({ args, report }) => {
    if (!hasFlag(args, 'l')) report(RULES.detached, 'It changes scheduled jobs (crontab).');
  },
  sysctl: ({ args, report }) => {
    if (hasFlag(args, 'w', '--write')) report(RULES.privilege);
  },
  alias: ({ args, report }) => {
    if (args.some((w) => w.value === null || w.value.includes('='))) report(RULES.rebindsName);
  },
  enable: ({ args, report }) => {
    if (hasFlag(args, 'f')) report(RULES.rebindsName);
  },
  hash: ({ args, report }) => {
    if (hasFlag(args, 'p')) report(RULES.rebindsName);
  },
  ...Object.fromEntries(['export', 'declare', 'typeset', 'local', 'readonly'].map((n) => [n, declares])),
  ...Object.fromEntries(
    ['sudo', 'doas', 'su', 'pkexec', 'runuser', 'chroot', 'mount', 'umount', 'setcap', 'nsenter']
      .concat(['insmod', 'modprobe', 'rmmod'])
      .map((n) => [n, privileged]),
  ),
};
