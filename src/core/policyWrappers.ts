/**
 * What a command runs in its turn: wrappers (`sudo`, `env`, `xargs`, `timeout`, `busybox`,
 * `find -exec`, …) run another command; shells and `eval`, `trap`, `watch`, `su -c` run code;
 * shells and interpreters may read their program from an argument or from their input. Each
 * wrapper returns the steps it takes and reports what its own shape says.
 */
import path from 'node:path';
import { checkAssignment, startPaths } from './policyChecks';
import { afterOptions, commandName, hasFlag, operands, pathOf, RULES } from './policyCatalog';
import type { CheckInput, Unit } from './policyCatalog';
import type { ShellWord } from './shellSyntax';

/** A command run by a wrapper, with the arguments xargs adds and the directory `env -C` sets. */
export interface RunStep {
  words: ShellWord[];
  extraArgs?: boolean;
  cwd?: string | null;
}

/** Shell code run by a command; `sameShell` when it runs in the line's own shell (eval, trap). */
export interface CodeStep {
  code: ShellWord;
  /** What runs it, for messages (`sh -c`, `eval`). */
  what: string;
  sameShell?: boolean;
}

export type Step = RunStep | CodeStep;
type Wrapper = (input: CheckInput) => Step[];

const run = (words: ShellWord[], extra: Partial<RunStep> = {}): Step[] => [{ words, ...extra }];
const literal = (value: string): ShellWord => ({ source: value, value, glob: false });

/** Words joined into one piece of code, as `eval` and `watch` do; dynamic when any word is. */
function joined(words: ShellWord[]): ShellWord {
  const dynamic = words.some((w) => w.value === null);
  const source = words.map((w) => w.source).join(' ');
  return { source, value: dynamic ? null : words.map((w) => w.value).join(' '), glob: false };
}

/** What a command runs in its turn, by its name: a wrapper, a shell or an interpreter; null for none. */
export function wrapperOf(name: string): Wrapper | null {
  if (Object.hasOwn(WRAPPERS, name)) return WRAPPERS[name];
  return interpreterOf(name) ? interpreter : null;
}

const XARGS_WITH_VALUE = [
  ...['-I', '-i', '-n', '-P', '-L', '-l', '-d', '-E', '-e', '-s', '-a', '--arg-file', '--max-args', '--max-procs'],
  ...['--delimiter', '--replace', '--max-lines', '--eof', '--max-chars', '--process-slot-var'],
];
const SUDO_WITH_VALUE = [
  ...['-u', '-g', '-C', '-D', '-h', '-p', '-r', '-t', '-U', '-T', '--user', '--group', '--chdir', '--host'],
  ...['--prompt', '--role', '--type', '--other-user', '--command-timeout'],
];

const WRAPPERS: Record<string, Wrapper> = {
  env,
  nice: ({ args }) => run(afterOptions(args, ['-n', '--adjustment'])),
  nohup: ({ args }) => run(afterOptions(args)),
  time: ({ args }) => run(afterOptions(args, ['-f', '-o', '--format', '--output'])),
  timeout: ({ args }) => run(afterOptions(args, ['-s', '--signal', '-k', '--kill-after']).slice(1)),
  stdbuf: ({ args }) => run(afterOptions(args, ['-i', '-o', '-e', '--input', '--output', '--error'])),
  ionice: ({ args }) => run(afterOptions(args, ['-c', '-n', '-p', '-P', '-u', '--class', '--classdata'])),
  chrt: ({ args }) => run(afterOptions(args, ['-T', '-P', '-D']).slice(1)),
  taskset: ({ args }) => (hasFlag(args, 'p', '--pid') ? [] : run(afterOptions(args).slice(1))),
  setsid: ({ args }) => run(afterOptions(args)),
  exec: ({ args }) => run(afterOptions(args, ['-a'])),
  command: ({ args }) => (hasFlag(args, 'v') || hasFlag(args, 'V') ? [] : run(afterOptions(args))),
  builtin: ({ args }) => run(args),
  xargs: ({ args }) => run(afterOptions(args, XARGS_WITH_VALUE), { extraArgs: true }),
  sudo: ({ args }) => run(afterOptions(args, SUDO_WITH_VALUE)),
  doas: ({ args }) => run(afterOptions(args, ['-u', '-C'])),
  pkexec: ({ args }) => run(afterOptions(args, ['--user'])),
  runuser: ({ args }) => userSwitch(args, 'runuser'),
  su: ({ args }) => userSwitch(args, 'su'),
  chroot: ({ args }) => run(afterOptions(args, ['--userspec', '--groups']).slice(1)),
  busybox: ({ args }) => run(args),
  toybox: ({ args }) => run(args),
  watch,
  flock,
  eval: ({ args }) => [{ code: joined(args), what: 'eval', sameShell: true }],
  trap,
  source,
  '.': source,
  find,
  git: gitBisect,
};

const SHELLS = ['sh', 'bash', 'rbash', 'zsh', 'dash', 'ksh', 'mksh', 'ash', 'fish', 'yash'];
for (const name of SHELLS) WRAPPERS[name] = shell;

/**
 * `env [options] [NAME=value…] command`: the names it sets are checked like assignments, `-C`
 * moves the command's directory, and `-S` splits a string into a command line.
 */
function env({ args, unit, root, report }: CheckInput): Step[] {
  let cwd: string | null | undefined;
  let i = 0;
  for (; i < args.length; i++) {
    const a = args[i].value;
    if (a === null) break;
    const split = /^(-S|--split-string)(=?)(.*)$/s.exec(a);
    if (split)
      return [{ code: split[2] || split[3] ? literal(split[3]) : (args[i + 1] ?? literal('')), what: 'env -S' }];
    if (a === '-C' || a === '--chdir' || a.startsWith('--chdir=')) {
      const dir = a.startsWith('--chdir=') ? literal(a.slice('--chdir='.length)) : args[++i];
      cwd = dir ? chdir(dir, unit, root) : null;
    } else if (a === '-u' || a === '--unset') i++;
    else if (/^[A-Za-z_][A-Za-z0-9_]*=/.test(a)) checkAssignment(a.slice(0, a.indexOf('=')), report);
    else if (a === '--') {
      i++;
      break;
    } else if (!a.startsWith('-')) break;
  }
  return [{ words: args.slice(i), cwd }];
}

function chdir(dir: ShellWord, unit: Unit, root: string): string | null {
  if (dir.value === null || pathOf(dir, unit, root).where === 'unknown') return null;
  return path.resolve(unit.cwd ?? root, dir.value);
}

/** `su [-c code] [user]`, `runuser -u user -- cmd` or `runuser -l user -c code`. */
function userSwitch(args: ShellWord[], name: string): Step[] {
  for (let i = 0; i < args.length; i++) {
    const a = args[i].value ?? '';
    if (a === '-c' || a === '--command') return [{ code: args[i + 1] ?? literal(''), what: `${name} -c` }];
    if (a.startsWith('--command=')) return [{ code: literal(a.slice('--command='.length)), what: `${name} -c` }];
  }
  if (name === 'runuser') return run(afterOptions(args, ['-u', '-g', '-G', '--user', '--group', '--supp-group']));
  return [];
}

/** `watch cmd…` runs its words through `sh -c`; `watch -x` runs them as they are. */
function watch({ args }: CheckInput): Step[] {
  const rest = afterOptions(args, ['-n', '--interval', '-q', '--equexit']);
  if (hasFlag(args, 'x', '--exec')) return run(rest);
  return rest.length ? [{ code: joined(rest), what: 'watch' }] : [];
}

function flock({ args }: CheckInput): Step[] {
  const c = args.findIndex((w) => w.value === '-c' || w.value === '--command');
  if (c >= 0) return [{ code: args[c + 1] ?? literal(''), what: 'flock -c' }];
  return run(afterOptions(args, ['-w', '--timeout', '-E', '--conflict-exit-code']).slice(1));
}

function trap({ args }: CheckInput): Step[] {
  const first = args[0];
  if (args.length < 2 || first.value === '-' || first.value === '--' || /^-[lp]$/.test(first.value ?? '')) return [];
  return [{ code: first, what: 'trap', sameShell: true }];
}

/** `source file` runs a file as `bash file` does; from the input, or a name only known later, it is not known. */
function source({ args, unit, report }: CheckInput): Step[] {
  const file = args[0];
  if (file === undefined) return [];
  if (file.value === null) return [{ code: file, what: 'source' }];
  if (/^(-|\/dev\/stdin|\/dev\/fd\/0|\/proc\/self\/fd\/0)$/.test(file.value) && unit.command.stdin !== 'inherited')
    report(RULES.codeFromInput);
  return [];
}

/** `find … -exec cmd {} ;`: each command it runs, `{}` standing for where find starts. */
function find({ args, unit, root }: CheckInput): Step[] {
  const starts = startPaths(args);
  const place = starts.find((w) => pathOf(w, unit, root).where !== 'inside') ?? starts[0];
  const steps: Step[] = [];
  for (let i = 0; i < args.length; i++) {
    if (!['-exec', '-execdir', '-ok', '-okdir'].includes(args[i].value ?? '')) continue;
    let end = i + 1;
    while (end < args.length && args[end].value !== ';' && args[end].value !== '+') end++;
    const words = args.slice(i + 1, end).map((w) => {
      if (!w.value?.includes('{}')) return w;
      return place.value === null ? place : { ...w, value: w.value.replaceAll('{}', place.value) };
    });
    steps.push({ words });
    i = end;
  }
  return steps;
}

/** `git bisect run cmd…` runs a command of the line's choosing. */
function gitBisect({ args }: CheckInput): Step[] {
  const rest = afterOptions(args, ['-C', '-c', '--git-dir', '--work-tree', '--namespace']);
  return rest[0]?.value === 'bisect' && rest[1]?.value === 'run' ? run(rest.slice(2)) : [];
}

// ---------------------------------------------------------------------------------------------
// Shells and interpreters: code from an argument or from the input
// ---------------------------------------------------------------------------------------------

const SHELL_WITH_VALUE = ['-o', '+o', '-O', '+O', '--rcfile', '--init-file'];

/** `bash -c 'code'` is parsed; a script file runs like any program; no script reads the input. */
function shell(input: CheckInput): Step[] {
  const { args } = input;
  let commandMode = false;
  let i = 0;
  for (; i < args.length; i++) {
    const a = args[i].value;
    if (a === null || !/^[-+]./.test(a)) break;
    if (a === '--') {
      i++;
      break;
    }
    if (/^-[A-Za-z]*c[A-Za-z]*$/.test(a) || a === '--command') commandMode = true;
    if (SHELL_WITH_VALUE.includes(a)) i++;
  }
  const first = args[i];
  if (commandMode) return [{ code: first ?? literal(''), what: 'sh -c' }];
  if (first === undefined || first.value === '-' || hasFlag(args.slice(0, i), 's')) fromInput(input);
  else if (first.value === null) return [{ code: first, what: 'a shell script' }];
  return [];
}

/** A program read from the input: not known when the input is a pipe or text written in the line. */
function fromInput({ unit, report }: CheckInput): void {
  if (unit.extraArgs) report(RULES.dynamicCode, 'xargs hands a shell the script to run.');
  else if (unit.command.stdin === 'pipe' || unit.command.stdin === 'here') report(RULES.codeFromInput);
}

/** An interpreter: the flags that give it code in an argument, and its options that take a value. */
interface Interpreter {
  inline: RegExp;
  withValue: string[];
}

const NEVER = /(?!)/;
const PYTHON: Interpreter = { inline: /^-[A-Za-z]*c$/, withValue: ['-W', '-X', '-Q'] };
const NODE: Interpreter = {
  inline: /^(-e|--eval|-p|--print|-pe)$/,
  withValue: ['-r', '--require', '--import', '--loader', '--input-type', '-C', '--conditions'],
};
const INTERPRETERS: Record<string, Interpreter> = {
  python: PYTHON,
  node: NODE,
  perl: { inline: /^-(?![MmIx])[A-Za-z0-9]*[eE]$/, withValue: ['-I', '-M', '-m', '-x'] },
  ruby: { inline: /^-(?![IrC])[A-Za-z]*e$/, withValue: ['-I', '-r', '-C'] },
  php: { inline: /^-[rRBE]$/, withValue: ['-c', '-d', '-z'] },
  lua: { inline: /^-e$/, withValue: ['-l'] },
  Rscript: { inline: /^(-e|--expr.*)$/, withValue: [] },
  osascript: { inline: /^-e$/, withValue: ['-l', '-s'] },
  tclsh: { inline: NEVER, withValue: [] },
};

/** `python3.12` and `pypy3` → python, `nodejs` → node, `luajit` → lua. */
function interpreterOf(name: string): Interpreter | null {
  const base = name
    .replace(/^(python|pypy)[0-9.]*$/, 'python')
    .replace(/^nodejs$/, 'node')
    .replace(/^luajit$/, 'lua');
  return Object.hasOwn(INTERPRETERS, base) ? INTERPRETERS[base] : null;
}

/** Code in an argument asks; `python -m pip …` is judged as pip; with no script the input is the program. */
function interpreter(input: CheckInput): Step[] {
  const { args, unit, report } = input;
  const name = commandName(unit.words[0]) ?? '';
  const spec = interpreterOf(name);
  if (spec === null) return [];
  if (args.some((w) => w.value !== null && spec.inline.test(w.value))) {
    report(RULES.inlineCode, `It runs ${name} code given in its arguments.`);
    return [];
  }
  const m = args.findIndex((w) => w.value === '-m');
  if (spec === PYTHON && m >= 0) {
    const mod = args[m + 1]?.value;
    return mod === 'pip' || mod === 'pip3' ? run([literal('pip'), ...args.slice(m + 2)]) : [];
  }
  if (spec === NODE && hasFlag(args, null, '--test', '--version', '-v', '--help', '-h', '--run')) return [];
  const script = operands(args, spec.withValue)[0];
  if (script === undefined || script.value === '-') fromInput(input);
  return [];
}
