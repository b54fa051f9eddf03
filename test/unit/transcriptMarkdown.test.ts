/**
 * The transcript and checks renderers. The Markdown is parsed with markdown-it (html enabled, as in
 * VS Code's Markdown preview), so the tests check what a reader sees: which blocks are headings,
 * what a fence holds, and that nothing a model wrote turns into HTML, an image or a heading of ours.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CheckResult } from '../../src/core/journal';
import type { ChatMessage } from '../../src/core/model';
import type { Plan } from '../../src/core/plan';
import {
  changesRequestedPrompt,
  NUDGE_USE_TOOLS,
  openingMessages,
  repairPrompt,
  RESUMED_NOTE,
} from '../../src/core/prompts';
import { INTERRUPTED_TOOL_RESULT } from '../../src/core/transcript';
import { clipText, DEFAULT_TRANSCRIPT_LIMITS } from '../../src/core/conversationView';
import {
  checksText,
  codeSpan,
  escapeInline,
  fenced,
  neutralizeProse,
  noChecksText,
  transcriptMarkdown,
} from '../../src/app/transcriptMarkdown';

/** The part of markdown-it's token the tests read. */
interface Token {
  type: string;
  tag: string;
  content: string;
  info: string;
  children: Token[] | null;
}
type Parser = { parse(src: string, env: object): Token[] };
// markdown-it (the parser of VS Code's Markdown preview) ships without types; @vscode/vsce brings it.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const MarkdownIt = require('markdown-it') as new (options: { html: boolean; linkify: boolean }) => Parser;
const md = new MarkdownIt({ html: true, linkify: true });

const parse = (text: string): Token[] => md.parse(text, {});
const all = (tokens: Token[]): Token[] => tokens.flatMap((t) => [t, ...all(t.children ?? [])]);
/** What a reader sees of an inline token: its text and code, without markup. */
const textOf = (inline: Token): string =>
  (inline.children ?? []).map((c) => (c.type === 'text' || c.type === 'code_inline' ? c.content : '')).join('');
const headings = (tokens: Token[]): string[] =>
  tokens.flatMap((t, i) => (t.type === 'heading_open' ? [`${t.tag} ${textOf(tokens[i + 1])}`] : []));
const fences = (tokens: Token[]): Token[] => tokens.filter((t) => t.type === 'fence');
/** HTML the renderer did not write itself (it writes only the <details> around the system prompt). */
const foreignHtml = (tokens: Token[]): string[] =>
  all(tokens)
    .filter((t) => t.type === 'html_block' || t.type === 'html_inline')
    .map((t) => t.content.trim())
    .filter((c) => !/^(<details>\n<summary>[^<]*<\/summary>|<\/details>)$/.test(c));

const plan: Plan = {
  version: 1,
  spec: 'Add a greeting',
  warnings: [],
  tasks: [
    {
      id: 'greet',
      title: 'Say *hello* <b>now</b>',
      instructions: 'Write greet.ts.\n# Not a heading of ours',
      acceptance: ['prints hi'],
      files: ['greet.ts'],
      dependsOn: [],
    },
  ],
};

function conversation(): ChatMessage[] {
  const longContent = 'x'.repeat(5000);
  return [
    ...openingMessages(plan, 'tree: README.md', plan.tasks[0], "the run's base commit abc"),
    {
      role: 'assistant',
      content: 'I will read the README first.',
      toolCalls: [{ id: 'c1', name: 'read_file', arguments: '{"path":"README.md"}' }],
    },
    { role: 'tool', toolCallId: 'c1', content: 'hello\n```\nnot a fence end\n````\n' },
    {
      role: 'assistant',
      content: null,
      toolCalls: [
        { id: 'c2', name: 'write_file', arguments: JSON.stringify({ path: 'greet.ts', content: longContent }) },
      ],
    },
    { role: 'tool', toolCallId: 'c2', content: 'wrote greet.ts' },
    {
      role: 'user',
      content: repairPrompt(
        1,
        2,
        'Check "test" failed: `npm test` exited with code 1.\nRelevant output:\n```\nFAIL greet\n```',
      ),
    },
    {
      role: 'assistant',
      content: 'Fixing.',
      toolCalls: [{ id: 'c3', name: 'finish', arguments: '{"summary":"done"}' }],
    },
    { role: 'tool', toolCallId: 'c3', content: 'ok' },
    { role: 'user', content: changesRequestedPrompt('reviewer', 'Name the function greet.') },
    { role: 'user', content: changesRequestedPrompt('developer', 'Also export it.') },
    { role: 'user', content: RESUMED_NOTE },
    { role: 'user', content: NUDGE_USE_TOOLS },
    {
      role: 'assistant',
      content: 'Done.',
      toolCalls: [{ id: 'c4', name: 'run_command', arguments: '{"command":"npm test"}' }],
    },
    { role: 'tool', toolCallId: 'c4', content: INTERRUPTED_TOOL_RESULT },
  ];
}

test('a whole conversation reads as sections: the task, each step, every note Foreman sent back', () => {
  const out = transcriptMarkdown(conversation(), {
    runId: 'r1',
    taskId: 'greet',
    title: plan.tasks[0].title,
    status: 'verified',
  });
  const tokens = parse(out);
  assert.deepEqual(headings(tokens), [
    'h1 Transcript: Say *hello* <b>now</b>',
    'h2 The task',
    'h3 Your task: Say hello <b>now</b>',
    'h3 Not a heading of ours',
    'h4 Acceptance criteria',
    'h4 Files you are expected to touch',
    'h2 Step 1',
    'h2 Step 2',
    'h2 Verification failed (repair round 1 of 2)',
    'h2 Step 3',
    'h2 Changes requested by the reviewer',
    'h2 Changes requested by the developer',
    'h2 Resumed',
    'h2 Step 4',
  ]);
  assert.deepEqual(foreignHtml(tokens), [], 'the title and task text stay text');
  assert.match(out, /Run `r1` · task `greet` · verified · 4 model turns · 4 tool calls/);
  assert.doesNotMatch(out, /\[foreman:task=greet\]/, 'the routing marker is left out');
  assert.match(out, /Foreman asked the agent to continue with tool calls/);
  const blocks = fences(tokens);
  const system = blocks[0];
  assert.match(system.content, /^\[foreman:agent\]/, 'the shared system prompt comes first, in a fence');
  assert.ok(
    blocks.some((f) => f.info === 'json' && JSON.parse(f.content).path === 'README.md'),
    'arguments are pretty JSON',
  );
  assert.ok(
    blocks.some((f) => f.content === 'hello\n```\nnot a fence end\n````\n'),
    'a result holding fences is shown whole, in a longer fence',
  );
  assert.ok(
    blocks.some((f) => f.content === 'FAIL greet\n'),
    'the failure tail keeps its own code block',
  );
  assert.ok(blocks.some((f) => f.content === `${INTERRUPTED_TOOL_RESULT}\n`));
  assert.match(out, /> Name the function greet\./);
  assert.match(out, /> Also export it\./);
});

test('long tool arguments, results and notes are cut with a marker saying how much is left out', () => {
  const limits = { ...DEFAULT_TRANSCRIPT_LIMITS, toolResult: 100, argumentString: 50 };
  const messages: ChatMessage[] = [
    {
      role: 'assistant',
      content: null,
      toolCalls: [
        { id: 'a', name: 'write_file', arguments: JSON.stringify({ path: 'big.txt', content: 'y'.repeat(500) }) },
      ],
    },
    { role: 'tool', toolCallId: 'a', content: 'z'.repeat(1000) },
  ];
  const tokens = parse(transcriptMarkdown(messages, { runId: 'r1', taskId: 't', title: null }, limits));
  const [args, result] = fences(tokens);
  const parsed = JSON.parse(args.content) as { path: string; content: string };
  assert.equal(parsed.path, 'big.txt');
  assert.equal(parsed.content, `${'y'.repeat(50)}… [cut: 450 more characters not shown]`);
  assert.equal(result.content, `${'z'.repeat(100)}\n… [cut: 900 more characters not shown]\n`);
  assert.equal(clipText('abc', 3), 'abc');
  assert.equal(clipText('abcd', 3), 'abc\n… [cut: 1 more character not shown]');
});

test('arguments that are not JSON are shown as sent; calls without results and stray results are marked', () => {
  const messages: ChatMessage[] = [
    { role: 'assistant', content: '', toolCalls: [{ id: 'a', name: 'edit_file', arguments: '{"path": "a.ts", oops' }] },
    { role: 'tool', toolCallId: 'ghost', content: 'from nowhere' },
  ];
  const out = transcriptMarkdown(messages, { runId: 'r1', taskId: 't', title: null });
  const blocks = fences(parse(out));
  assert.deepEqual(
    blocks.map((f) => [f.info, f.content]),
    [
      ['text', '{"path": "a.ts", oops\n'],
      ['text', 'from nowhere\n'],
    ],
  );
  assert.match(out, /_No result yet\._/);
  assert.match(out, /\*\*Result of an unknown call\*\* `ghost`/);
  assert.match(transcriptMarkdown([], { runId: 'r1', taskId: 't', title: null }), /no conversation yet/);
});

test("a model's prose keeps its Markdown but cannot inject HTML, load images, or swallow the next section", () => {
  const prose = [
    '# Plan',
    'I will use `<div>` in code and **bold**.',
    '<script>alert(1)</script>',
    '<img src="http://evil.example/x.png">',
    '![tracker](http://evil.example/t.png)',
    '```ts',
    'const a = "<b>inside code</b>";',
  ].join('\n');
  const messages: ChatMessage[] = [
    { role: 'assistant', content: prose, toolCalls: [] },
    { role: 'assistant', content: 'Second turn.', toolCalls: [] },
  ];
  const tokens = parse(transcriptMarkdown(messages, { runId: 'r1', taskId: 't', title: null }));
  assert.deepEqual(foreignHtml(tokens), []);
  assert.equal(all(tokens).filter((t) => t.type === 'image').length, 0);
  assert.deepEqual(
    headings(tokens),
    ['h1 Transcript: t', 'h2 Step 1', 'h4 Plan', 'h2 Step 2'],
    "the model's heading sits below ours; its open fence is closed",
  );
  const inline = all(tokens)
    .filter((t) => t.type === 'code_inline')
    .map((t) => t.content);
  assert.deepEqual(inline, ['r1', 't', '<div>'], 'code spans keep their text as written');
  assert.equal(fences(tokens).find((f) => f.info === 'ts')?.content, 'const a = "<b>inside code</b>";\n');
  const text = all(tokens)
    .filter((t) => t.type === 'text')
    .map((t) => t.content)
    .join('');
  assert.match(text, /<script>alert\(1\)<\/script>/, 'the HTML is shown as text');
});

test('fences, code spans and inline text survive any backticks and punctuation', () => {
  for (const body of ['plain', '```', 'a ```` b', '`', 'ends with `', '~~~\nx']) {
    const [f] = fences(parse(fenced(body, 'text')));
    assert.equal(f.content, `${body}\n`, `fence of ${JSON.stringify(body)}`);
    const span = all(parse(`x ${codeSpan(body)} y`)).find((t) => t.type === 'code_inline');
    assert.equal(span?.content, body.replace(/\n/g, ' '), `span of ${JSON.stringify(body)}`);
  }
  assert.equal(fenced('a', 'not a language!'), '```\na\n```', 'an unsafe info string is dropped');
  const title = '*x* _y_ [l](u) <b>#1</b> & `c` | ~z~ \\ !';
  const inline = parse(escapeInline(title))[1];
  assert.deepEqual(
    inline.children?.map((t) => t.type),
    ['text'],
    'escaped text is one text run',
  );
  assert.equal(inline.content.length > 0, true);
  assert.equal(inline.children?.[0].content, title);
  assert.equal(neutralizeProse('~~~\n<b>\n'), '~~~\n<b>\n\n~~~', 'a tilde fence is closed too, its content untouched');
});

test('check output: every check with its command, outcome and output tail; an empty list says so', () => {
  const checks: CheckResult[] = [
    {
      name: 'test',
      command: 'npm test',
      status: 'failed',
      exitCode: 1,
      timedOut: false,
      durationMs: 2345,
      output: 'FAIL greet.test.ts\n  expected hi\n',
    },
    {
      name: 'lint',
      command: 'npm run lint',
      status: 'failed',
      exitCode: null,
      timedOut: true,
      durationMs: 60000,
      output: '',
      reason: 'timed out after 60 s',
    },
    {
      name: 'types',
      command: 'tsc --noEmit',
      status: 'passed',
      exitCode: 0,
      timedOut: false,
      durationMs: 800,
      output: '',
    },
  ];
  const out = checksText(
    { runId: 'r1', target: 'task greet (Say hello)', round: 2, status: 'failed', at: Date.UTC(2025, 0, 2, 3, 4, 5) },
    checks,
  );
  assert.match(
    out,
    /^Verification of task greet \(Say hello\): failed\nRun r1, round 2 at 2025-01-02 03:04:05 UTC; 1 of 3 checks passed\./,
  );
  assert.match(out, /━━ test: failed, exit 1, 2\.3 s ━━\n\$ npm test\n\nFAIL greet\.test\.ts\n {2}expected hi\n/);
  assert.match(
    out,
    /━━ lint: failed, timed out, 60\.0 s ━━\n\$ npm run lint\n\(timed out after 60 s\)\n\n\(no output\)/,
  );
  assert.match(out, /━━ types: passed, exit 0, 0\.8 s ━━/);
  assert.ok(
    out.indexOf('test:') < out.indexOf('lint:') && out.indexOf('lint:') < out.indexOf('types:'),
    'in the order they ran',
  );
  assert.match(
    checksText({ runId: 'r1', target: 'the integration branch', round: 1, status: 'skipped', at: null }, []),
    /No checks are configured/,
  );
  assert.equal(noChecksText('r1', 'task greet'), 'No verification of task greet has run yet in run r1.\n');
});
