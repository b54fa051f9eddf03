/**
 * `foreman transcript`'s text: the same reading of a conversation as the panel's Markdown
 * (src/core/conversationView.ts) laid out for a terminal, with long texts cut as in the panel and
 * nothing a model or a command wrote able to drive the terminal.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChatMessage } from '../../src/core/model';
import type { Plan } from '../../src/core/plan';
import { DEFAULT_TRANSCRIPT_LIMITS, UNLIMITED_TRANSCRIPT } from '../../src/core/conversationView';
import { changesRequestedPrompt, openingMessages, repairPrompt, RESUMED_NOTE } from '../../src/core/prompts';
import { transcriptText } from '../../src/cli/transcriptText';

const plan: Plan = {
  version: 1,
  spec: 'Add a greeting',
  warnings: [],
  tasks: [
    {
      id: 'greet',
      title: 'Say hello',
      instructions: 'Write greet.js.',
      acceptance: ['prints hi'],
      files: ['greet.js'],
      dependsOn: [],
    },
  ],
};

const header = { runId: 'r1', taskId: 'greet', title: 'Say hello', status: 'merged' };
const cut = { limits: DEFAULT_TRANSCRIPT_LIMITS, systemPrompt: false };

function conversation(): ChatMessage[] {
  return [
    ...openingMessages(plan, 'tree: README.md', plan.tasks[0], "the run's base commit abc"),
    {
      role: 'assistant',
      content: 'Reading first.',
      toolCalls: [{ id: 'c1', name: 'read_file', arguments: '{"path":"README.md"}' }],
    },
    { role: 'tool', toolCallId: 'c1', content: 'hello \u001b]0;pwned\u0007\u001b[2Jworld\n' },
    {
      role: 'assistant',
      content: null,
      toolCalls: [
        {
          id: 'c2',
          name: 'write_file',
          arguments: JSON.stringify({ path: 'greet.js', content: `line one\n${'x'.repeat(2000)}` }),
        },
      ],
    },
    { role: 'tool', toolCallId: 'c2', content: 'Wrote 2009 bytes to greet.js (created).' },
    { role: 'user', content: repairPrompt(1, 2, 'Check "test" failed.') },
    { role: 'user', content: changesRequestedPrompt('developer', 'Also export it.') },
    { role: 'user', content: RESUMED_NOTE },
    { role: 'assistant', content: null, toolCalls: [{ id: 'c3', name: 'finish', arguments: 'not json' }] },
  ];
}

test('a conversation reads as steps with their calls and results, and Foreman notes in between', () => {
  const text = transcriptText(conversation(), header, cut);
  const lines = text.split('\n');
  assert.equal(lines[0], 'Transcript of task greet (Say hello), run r1: merged, 3 model turns, 3 tool calls.');
  for (const heading of [
    '── The task ──',
    '── Step 1 ──',
    '── Step 2 ──',
    '── Verification failed (repair round 1 of 2) ──',
    '── Changes requested by the developer ──',
    '── Resumed ──',
    '── Step 3 ──',
  ])
    assert.ok(lines.includes(heading), heading);
  assert.ok(lines.includes('Reading first.'));
  assert.ok(lines.includes('  → read_file  path: "README.md"'));
  assert.ok(lines.includes('  → write_file  path: "greet.js"'), 'short arguments on the call line');
  assert.ok(lines.includes('      │ line one'), 'a long argument as a block');
  assert.match(text, /… \[cut: 509 more characters not shown\]/, 'cut as in the panel');
  assert.ok(lines.includes('│ Also export it.'));
  assert.ok(lines.includes('      │ not json'), 'arguments that are not JSON are shown as sent');
  assert.ok(lines.includes('    (no result yet)'));
  assert.doesNotMatch(text, /System prompt/, 'the shared prompt only on request');
  assert.ok(text.endsWith('\n'));
});

test('escape sequences in what an agent read or wrote are shown, never sent to the terminal', () => {
  const text = transcriptText(conversation(), header, cut);
  // eslint-disable-next-line no-control-regex -- no control character may reach the terminal
  assert.doesNotMatch(text, /[\u0000-\u0008\u000b-\u001f\u007f]/);
  assert.match(text, /hello ␛\]0;pwned␇␛\[2Jworld/);
});

test('--full: nothing cut and the system prompt shown', () => {
  const text = transcriptText(conversation(), header, { limits: UNLIMITED_TRANSCRIPT, systemPrompt: true });
  assert.match(text, /── System prompt \(shared by the run's agents\) ──/);
  assert.doesNotMatch(text, /\[cut:/);
  assert.match(text, new RegExp(`│ ${'x'.repeat(2000)}\\n`));
});

test('a task with no conversation says so', () => {
  assert.equal(
    transcriptText([], { ...header, status: 'queued' }, cut),
    'Transcript of task greet (Say hello), run r1: queued, 0 model turns, 0 tool calls.\n\nThe task has no conversation yet: its agent has not started.\n',
  );
});
