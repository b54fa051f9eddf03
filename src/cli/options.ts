/**
 * Command-line parsing: one table of options shared by every command, parsed with Node's
 * `util.parseArgs`, turned into typed values with errors a person can act on.
 */
import { parseArgs } from 'node:util';
import { COMMAND_CATEGORIES } from '../core/commandPolicy';
import type { CommandRule } from '../core/commandPolicy';
import { parseCheckList } from '../infra/detectChecks';
import type { SettingFlags } from '../app/settings';
import type { SandboxNetwork } from '../core/sandbox';
import { tracesUrl } from '../core/runTrace';

export const USAGE = `foreman: direct a fleet of coding agents from the command line

Usage:
  foreman plan "<spec>" [--out plan.json]      plan a spec into a task graph (nothing runs)
  foreman run "<spec>" | --plan plan.json      plan (or load a plan) and run it
  foreman run --resume <run>                   resume an interrupted or stopped run
  foreman accept <run> <task>...               merge verified tasks a --hold run waits on
  foreman reject <run> <task>...               discard tasks (their branch and worktree)
  foreman revise <run> <task> "<comments>"     send a task back to its agent with your comments
  foreman status [<run>] [--all]               a run's tasks, tokens and cost (latest run by default)
  foreman apply <run> [--mode squash|merge] [--message TEXT]
                                               bring a run's integration branch onto your branch
  foreman clean [<run>] [--all] [--branches]   remove worktrees of finished or abandoned runs
  foreman audit [<run>] [--task T] [--json]    the run's audit trail: tool calls, policy decisions,
                                               approvals, sandbox profiles, git operations
  foreman diff <run> [<task>] [--stat]         what the run's integration branch changed since its
                                               base, or what one task changed
  foreman transcript <run> <task> [--full]     a task's conversation: the model's steps, each tool
                                               call and its result, Foreman's notes
  foreman export <run> [--format csv|json] [--out FILE]
                                               the run's ledger: every model request with its
                                               tokens, timings and cost, and totals (JSON default)
  foreman export <run> --format otlp [--endpoint URL] | --format otel-json [--out FILE]
                                               the run's trace (run, tasks, model requests, tool
                                               calls) to an OpenTelemetry collector, or as OTLP JSON

Backend (any OpenAI-compatible server; the key comes from FOREMAN_API_KEY or OPENAI_API_KEY):
  --base-url URL          e.g. http://localhost:8000/v1 (or FOREMAN_BASE_URL)
  --model NAME            (or FOREMAN_MODEL)
  --price IN,CACHED,OUT   price per million input, cached input and output tokens
  --max-requests N        requests in flight at once to the backend (default: --concurrency)
  --trace-endpoint URL    run: when the run ends, send its trace to this OpenTelemetry collector

Run:
  --spec-file FILE        read the spec from a file
  --concurrency N         tasks working at once (default 4)
  --budget-tokens N       stop the run at N tokens;  --budget-cost X   at cost X
  --task-budget-tokens N  per task;                   --task-budget-cost X
  --check "name=command"  a verification command (repeatable); default: detected from the repo
  --no-checks             run no checks
  --setup "command"       run in each new worktree (WORKTREE_PATH and REPO_PATH are set)
  --dirty refuse|snapshot uncommitted changes in your checkout: refuse (default) or include
  --allow CATEGORY        let agents run recursive_delete | git_history | git_push | network | privilege
  --command-rule "DECISION:PREFIX"
                          your own rule for agents' commands (repeatable), e.g. "allow:npx tsc",
                          "deny:git stash drop"; DECISION is allow, ask or deny
  --approve prompt|never|policy
                          commands the policy asks about: prompt on this terminal (the default
                          when there is one), never run them (the default without one), or run
                          them without asking because the sandbox holds them
  --approve-timeout S     seconds a prompt waits before it counts as a refusal (default 300)
  --no-review             skip the model review after checks pass
  --hold                  hold verified tasks until you accept them (foreman accept)
  --max-steps N           model requests per task (default 40)
  --max-repairs N         repair rounds after failed verification (default 2)
  --max-tasks N           most tasks in a plan (default 50)

Sandbox (agent commands, checks and set-up commands; Linux: bubblewrap):
  --sandbox-network none|allow-list|host
                          none (default); only the --allow-host hosts, through Foreman's proxy;
                          or the host's whole network, unfiltered
  --allow-host HOST       a host agent commands may reach (repeatable; implies allow-list), e.g.
                          registry.npmjs.org, *.pythonhosted.org, git.example.com:8443
  --sandbox-env NAME      pass this variable of your environment to agent commands (repeatable)
  --no-sandbox            run agent commands unconfined, as you (where no sandbox can run)

Output:
  --json                  machine-readable output on stdout
  --verbose               show every tool call while running
  --cwd DIR               the repository (default: the current directory)

Settings may also live in foreman.json at the repository root (see docs/cli.md).
Exit codes: 0 done, 1 run failed, 2 usage or settings error (also: not a git repository,
unknown run, missing file), 3 stopped by a budget, 4 backend error, 5 refused (no commit yet,
dirty checkout, conflict), 6 tasks wait for your review (--hold), 130 interrupted.`;

const OPTIONS = {
  'base-url': { type: 'string' },
  model: { type: 'string' },
  price: { type: 'string' },
  'spec-file': { type: 'string' },
  plan: { type: 'string' },
  out: { type: 'string' },
  format: { type: 'string' },
  endpoint: { type: 'string' },
  'trace-endpoint': { type: 'string' },
  resume: { type: 'string' },
  concurrency: { type: 'string' },
  'max-requests': { type: 'string' },
  'budget-tokens': { type: 'string' },
  'budget-cost': { type: 'string' },
  'task-budget-tokens': { type: 'string' },
  'task-budget-cost': { type: 'string' },
  check: { type: 'string', multiple: true },
  'no-checks': { type: 'boolean' },
  setup: { type: 'string' },
  dirty: { type: 'string' },
  allow: { type: 'string', multiple: true },
  'command-rule': { type: 'string', multiple: true },
  'no-review': { type: 'boolean' },
  approve: { type: 'string' },
  'approve-timeout': { type: 'string' },
  task: { type: 'string' },
  hold: { type: 'boolean' },
  'max-steps': { type: 'string' },
  'max-repairs': { type: 'string' },
  'max-tasks': { type: 'string' },
  'no-sandbox': { type: 'boolean' },
  'sandbox-network': { type: 'string' },
  'allow-host': { type: 'string', multiple: true },
  'sandbox-env': { type: 'string', multiple: true },
  mode: { type: 'string' },
  message: { type: 'string' },
  all: { type: 'boolean' },
  branches: { type: 'boolean' },
  stat: { type: 'boolean' },
  full: { type: 'boolean' },
  json: { type: 'boolean' },
  verbose: { type: 'boolean' },
  cwd: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** How the CLI answers the command policy's asks (see --approve). */
export type ApproveMode = 'prompt' | 'never' | 'policy';
const APPROVE_MODES = ['prompt', 'never', 'policy'] as const;

/** What `foreman export` writes: the ledger (csv, json) or the trace (otlp, otel-json). */
export type ExportFormat = 'csv' | 'json' | 'otlp' | 'otel-json';
const EXPORT_FORMATS = ['csv', 'json', 'otlp', 'otel-json'] as const;

/** A collector's traces URL from `--trace-endpoint` (infra/otelTrace.ts `tracesUrl`). */
function collectorUrl(value: string): string {
  const url = tracesUrl(value);
  if (url === null)
    throw new UsageError(`--trace-endpoint must be an http(s) URL such as http://localhost:4318, not "${value}"`);
  return url;
}

/** A command line the user must correct. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** The parsed command line. */
export interface CommandLine {
  command: string | null;
  args: string[];
  flags: SettingFlags;
  specFile?: string;
  planFile?: string;
  out?: string;
  /** `export --format`: undefined when not given. */
  format?: ExportFormat;
  /** `export --format otlp --endpoint URL`: the collector. */
  endpoint?: string;
  /** `run --trace-endpoint URL`: send the run's trace to this collector when the run ends (its traces URL). */
  traceEndpoint?: string;
  resume?: string;
  maxTasks?: number;
  mode: 'squash' | 'merge';
  message?: string;
  /** How asks are answered; undefined: prompt when there is a terminal, else never. */
  approve?: ApproveMode;
  /** How long a prompt waits, in ms. */
  approveTimeoutMs: number;
  /** `audit --task`: one task's entries. */
  task?: string;
  all: boolean;
  branches: boolean;
  /** `diff --stat`: the changed files with counts instead of the patch. */
  stat: boolean;
  /** `transcript --full`: nothing cut, the system prompt included. */
  full: boolean;
  json: boolean;
  verbose: boolean;
  cwd: string;
  help: boolean;
}

/** Parse argv (without node and the script). Throws UsageError. */
export function parseCommandLine(argv: string[], cwd: string): CommandLine {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const v = parsed.values;
  const [command = null, ...args] = parsed.positionals;
  return {
    command,
    args,
    flags: settingFlags(v),
    specFile: v['spec-file'],
    planFile: v.plan,
    out: v.out,
    format: v.format === undefined ? undefined : oneOf(v.format, EXPORT_FORMATS, '--format'),
    endpoint: v.endpoint,
    traceEndpoint: v['trace-endpoint'] === undefined ? undefined : collectorUrl(v['trace-endpoint']),
    resume: v.resume,
    maxTasks: int(v['max-tasks'], '--max-tasks'),
    mode: oneOf(v.mode ?? 'squash', ['squash', 'merge'] as const, '--mode'),
    message: v.message,
    approve: v.approve === undefined ? undefined : oneOf(v.approve, APPROVE_MODES, '--approve'),
    approveTimeoutMs: (int(v['approve-timeout'], '--approve-timeout', 1) ?? 300) * 1000,
    task: v.task,
    all: v.all ?? false,
    branches: v.branches ?? false,
    stat: v.stat ?? false,
    full: v.full ?? false,
    json: v.json ?? false,
    verbose: v.verbose ?? false,
    cwd: v.cwd ?? cwd,
    help: v.help ?? false,
  };
}

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>['values'];

function settingFlags(v: Values): SettingFlags {
  return {
    baseUrl: v['base-url'],
    model: v.model,
    price: v.price === undefined ? undefined : parsePrice(v.price),
    concurrency: int(v.concurrency, '--concurrency'),
    maxRequests: int(v['max-requests'], '--max-requests'),
    budgetTokens: int(v['budget-tokens'], '--budget-tokens'),
    budgetCost: num(v['budget-cost'], '--budget-cost'),
    taskBudgetTokens: int(v['task-budget-tokens'], '--task-budget-tokens'),
    taskBudgetCost: num(v['task-budget-cost'], '--task-budget-cost'),
    checks: v.check ? v.check.flatMap((c) => parseCheckList(c)) : undefined,
    noChecks: v['no-checks'],
    setup: v.setup,
    dirty: v.dirty === undefined ? undefined : oneOf(v.dirty, ['refuse', 'snapshot'] as const, '--dirty'),
    allow: v.allow?.map((a) => oneOf(a, COMMAND_CATEGORIES, '--allow')),
    commandRules: v['command-rule']?.map(parseCommandRule),
    review: v['no-review'] ? false : undefined,
    hold: v.hold,
    maxSteps: int(v['max-steps'], '--max-steps'),
    maxRepairs: int(v['max-repairs'], '--max-repairs', 0),
    noSandbox: v['no-sandbox'],
    sandboxNetwork: sandboxNetwork(v['sandbox-network']),
    allowHosts: v['allow-host'],
    sandboxEnv: v['sandbox-env'],
  };
}

/** `--sandbox-network`, spelled for the command line (`allow-list`), as the setting's value (`allowList`). */
function sandboxNetwork(text: string | undefined): SandboxNetwork | undefined {
  if (text === undefined) return undefined;
  const network = oneOf(text, ['none', 'allow-list', 'host'] as const, '--sandbox-network');
  return network === 'allow-list' ? 'allowList' : network;
}

function int(text: string | undefined, flag: string, min = 1): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isInteger(n) || n < min)
    throw new UsageError(`${flag} needs a whole number of at least ${min}, not "${text}"`);
  return n;
}

function num(text: string | undefined, flag: string): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0) throw new UsageError(`${flag} needs a positive number, not "${text}"`);
  return n;
}

function oneOf<T extends string>(text: string, allowed: readonly T[], flag: string): T {
  if ((allowed as readonly string[]).includes(text)) return text as T;
  throw new UsageError(`${flag} must be one of ${allowed.join(', ')}, not "${text}"`);
}

/** `allow:npx tsc` → { decision: 'allow', match: 'npx tsc' }. */
function parseCommandRule(text: string): CommandRule {
  const m = /^\s*(allow|ask|deny)\s*:\s*(\S.*)$/s.exec(text);
  if (!m) throw new UsageError(`--command-rule needs DECISION:PREFIX, e.g. "allow:npx tsc", not "${text}"`);
  return { decision: m[1] as CommandRule['decision'], match: m[2].trim() };
}

function parsePrice(text: string): { input: number; cachedInput: number; output: number } {
  const parts = text.split(',').map(Number);
  if (parts.length !== 3 || parts.some((p) => !Number.isFinite(p) || p < 0)) {
    throw new UsageError(
      `--price needs three numbers per million tokens, input,cached,output (e.g. 0.5,0.05,1.5), not "${text}"`,
    );
  }
  return { input: parts[0], cachedInput: parts[1], output: parts[2] };
}
