/**
 * Compaction on a context-length error, in a real run: `foreman run` as a child process against the
 * scripted server given a context window, which answers a longer prompt with vLLM's HTTP 400 and
 * words, through the real openai SDK. The task's agent reads a large file three times, so its
 * conversation outgrows the window; the agent compacts it (older tool output elided) and asks again,
 * and the task merges. The request after compaction keeps the shared prefix and the task byte for
 * byte and every tool result answering its call; the journal, the CLI and the transcript say what
 * happened. A window smaller than the task itself fails the task with a sentence naming the window.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { JournalEvent } from '../../src/core/journal';
import { toolCall } from '../../src/scripted/scenario';
import type { Scenario } from '../../src/scripted/scenario';
import type { WireMessage } from '../../src/scripted/server';
import { contentText, renderMessages } from '../../src/scripted/wire';
import { latestRunId, makeRepo, planReply, rawTask, readRun, requestsFor, runCli, startServer } from './runHarness';

/** About 6,000 tokens (the server counts 4 characters a token), under read_file's 32 KiB cap. */
const BIG = Array.from({ length: 600 }, (_, i) => `row ${String(i).padStart(4, '0')} ${'z'.repeat(30)}`).join('\n');
const WINDOW = 16_000;

const TASK = rawTask('notes', {
  title: 'Summarise the data file',
  files: ['notes.txt'],
  acceptance: ['notes.txt says how many rows data.txt has'],
});

const SCENARIO: Scenario = {
  planner: [planReply([TASK])],
  agents: {
    notes: [
      toolCall('read_file', { path: 'data.txt' }),
      toolCall('read_file', { path: 'data.txt' }),
      toolCall('read_file', { path: 'data.txt' }),
      toolCall('write_file', { path: 'notes.txt', content: 'data.txt has 600 rows\n' }),
      toolCall('finish', { summary: 'Wrote notes.txt.' }),
    ],
  },
};

function ofType<T extends JournalEvent['type']>(events: JournalEvent[], type: T): Extract<JournalEvent, { type: T }>[] {
  return events.filter((e): e is Extract<JournalEvent, { type: T }> => e.type === type);
}

const tokensOf = (messages: WireMessage[]) => Math.ceil(renderMessages(messages).length / 4);

test(
  'a conversation that outgrows the context window is compacted and the task merges',
  { timeout: 120_000 },
  async () => {
    const repo = makeRepo({ files: { 'data.txt': `${BIG}\n`, 'README.md': '# data\n' } });
    const server = await startServer(SCENARIO, { contextWindow: WINDOW });
    try {
      const run = await runCli(['run', 'Summarise data.txt', '--no-review', '--no-checks'], { repo, server });
      assert.equal(run.code, 0, run.stderr);
      const runId = await latestRunId(repo);
      const { events, state } = await readRun(repo, runId);
      assert.equal(state.tasks.get('notes')?.status, 'merged');

      const refused = ofType(events, 'model_request').filter((e) => !e.ok);
      assert.ok(refused.length >= 1, 'the backend refused at least one request');
      for (const r of refused) assert.match(r.error ?? '', /^context_length: .*maximum context length is 16000 tokens/);
      const compactions = ofType(events, 'compacted');
      assert.ok(compactions.length >= 1);
      for (const c of compactions) {
        assert.equal(c.taskId, 'notes');
        assert.equal(c.contextWindow, WINDOW);
        assert.ok(c.tokensAfter < c.tokensBefore, `${c.tokensBefore} → ${c.tokensAfter}`);
        assert.ok(c.elided >= 1);
      }

      const requests = requestsFor(server, 'agent', 'notes').map((r) => r.body.messages);
      const tooLong = requests.filter((m) => tokensOf(m) > WINDOW);
      assert.equal(tooLong.length, refused.length, 'each refusal was a prompt over the window');
      const first = requests[0];
      const after = requests[requests.indexOf(tooLong[0]) + 1];
      assert.ok(tokensOf(after) <= WINDOW, 'the request after compaction fits');
      assert.deepEqual(after.slice(0, 2), first.slice(0, 2), 'system prompt and task byte for byte');
      assert.equal(after.length, tooLong[0].length, 'no message removed');
      const calls = new Set<string>();
      for (const m of after) {
        for (const c of m.tool_calls ?? []) calls.add(c.id);
        if (m.role === 'tool') assert.ok(calls.has(m.tool_call_id ?? ''), 'every tool result answers a call');
      }
      const elided = after.filter((m) => m.role === 'tool' && contentText(m).includes('elided to fit'));
      assert.ok(elided.length >= 1);
      for (const m of elided)
        assert.match(
          contentText(m),
          /^\[read_file data\.txt: \d+ lines, [\d,]+ characters, elided to fit the context window\]$/,
        );
      const last = requests[requests.length - 1];
      const lastResult = [...last].reverse().find((m) => m.role === 'tool');
      assert.match(
        lastResult ? contentText(lastResult) : '',
        /wrote notes\.txt|notes\.txt/i,
        'the recent turn is whole',
      );

      assert.match(
        run.stdout + run.stderr,
        /notes\s+conversation compacted: ~[\d.k]+ → ~[\d.k]+ tokens, estimated \(\d+ older messages shortened; the context window is 16000 tokens\)/,
      );
      const transcript = await runCli(['transcript', runId, 'notes'], { repo });
      assert.equal(transcript.code, 0, transcript.stderr);
      assert.match(
        transcript.stdout,
        /── Conversation compacted ──\nThe backend refused the next request as too long for the model's context window of 16000 tokens/,
      );
    } finally {
      await server.close();
      repo.cleanup();
    }
  },
);

test(
  'a task that does not fit even with nothing left to elide fails with a sentence naming the window',
  { timeout: 120_000 },
  async () => {
    const repo = makeRepo({ files: { 'README.md': '# tiny\n' } });
    const server = await startServer(SCENARIO, { contextWindow: 300 });
    // From a plan file: the planner's own prompt would not fit 300 tokens either.
    const plan = join(repo.tmp, 'plan.json');
    writeFileSync(plan, JSON.stringify({ version: 1, spec: 'Summarise data.txt', tasks: [TASK] }));
    try {
      const run = await runCli(['run', '--plan', plan, '--no-review', '--no-checks'], { repo, server });
      assert.equal(run.code, 1, run.stderr);
      const { state } = await readRun(repo, await latestRunId(repo));
      const task = state.tasks.get('notes');
      assert.equal(task?.status, 'failed');
      assert.match(
        task?.reason ?? '',
        /^the conversation no longer fits the model's context window of 300 tokens, even with every older tool output elided \(the backend said: .*maximum context length is 300 tokens/,
      );
      assert.doesNotMatch(run.stderr, /\n\s+at /, 'no stack trace');
    } finally {
      await server.close();
      repo.cleanup();
    }
  },
);
