/**
 * The review step against a model whose context window is smaller than the review's prompt, in a
 * real run: `foreman run` as a child process against the scripted server given a context window,
 * which answers a longer prompt with vLLM's HTTP 400 and words, through the real openai SDK. The
 * task's agent writes a large file with one short command, so its own conversation stays small
 * while the diff is large. The reviewer is asked again with less of the diff (the system prompt,
 * the task, its acceptance criteria and the summary whole), its verdict is recorded and the task
 * merges. When even the task and the summary do not fit, the review is skipped with a sentence
 * naming the window, and the checks' verdict stands.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { JournalEvent } from '../../src/core/journal';
import { text, toolCall } from '../../src/scripted/scenario';
import type { Scenario } from '../../src/scripted/scenario';
import type { WireMessage } from '../../src/scripted/server';
import { contentText, renderMessages } from '../../src/scripted/wire';
import { latestRunId, makeRepo, planReply, rawTask, readRun, requestsFor, runCli, startServer } from './runHarness';

const WINDOW = 4_000;

/** 2,000 rows of 40 characters: an 82,000-character diff, about 20,000 tokens, cut to 40,000 by the repository. */
const GEN = `require('fs').writeFileSync('big.txt', Array.from({ length: 2000 }, (_, i) => 'row ' + String(i).padStart(4, '0') + ' ' + 'z'.repeat(30)).join('\\n') + '\\n');\n`;
const FILES = { 'README.md': '# table\n', 'gen.js': GEN };

const TASK = rawTask('big', {
  title: 'Write the big table',
  files: ['big.txt'],
  acceptance: ['big.txt has 2000 rows', 'each row is numbered'],
});

function scenario(summary: string): Scenario {
  return {
    planner: [planReply([TASK])],
    agents: { big: [toolCall('run_command', { command: 'node gen.js' }), toolCall('finish', { summary })] },
    reviewer: [text(JSON.stringify({ approved: true, comments: 'the table is there' }))],
  };
}

function ofType<T extends JournalEvent['type']>(events: JournalEvent[], type: T): Extract<JournalEvent, { type: T }>[] {
  return events.filter((e): e is Extract<JournalEvent, { type: T }> => e.type === type);
}

const tokensOf = (messages: WireMessage[]) => Math.ceil(renderMessages(messages).length / 4);

test(
  'a diff too long for the reviewer window is cut, the review recorded and the task merged',
  { timeout: 120_000 },
  async () => {
    const repo = makeRepo({ files: FILES });
    const server = await startServer(scenario('Wrote big.txt with 2000 numbered rows.'), { contextWindow: WINDOW });
    try {
      const run = await runCli(['run', 'Write the big table', '--no-checks'], { repo, server });
      assert.equal(run.code, 0, run.stderr);
      const { events, state } = await readRun(repo, await latestRunId(repo));
      assert.equal(state.tasks.get('big')?.status, 'merged');
      const reviews = ofType(events, 'review');
      assert.deepEqual(
        reviews.map((r) => [r.taskId, r.approved, r.comments]),
        [['big', true, 'the table is there']],
      );

      const refused = ofType(events, 'model_request').filter((e) => e.role === 'reviewer' && !e.ok);
      assert.ok(refused.length >= 1, 'the reviewer was refused at least once');
      for (const r of refused) assert.match(r.error ?? '', /^context_length: .*maximum context length is 4000 tokens/);
      const notes = ofType(events, 'note').filter((n) => n.taskId === 'big');
      const cuts = notes.filter((n) => n.message.startsWith('review: '));
      assert.equal(cuts.length, refused.length, 'each refusal is answered by one cut, said in a note');
      for (const n of cuts)
        assert.match(
          n.message,
          /^review: the diff was too long for the reviewer model's context window of 4,000 tokens; asking again with [\d,]+ of its 8\d,\d{3} characters$/,
        );
      assert.ok(!notes.some((n) => n.message.startsWith('review skipped')), 'the review was not skipped');

      const asked = requestsFor(server, 'reviewer').map((r) => r.body.messages);
      assert.equal(asked.length, refused.length + 1);
      assert.ok(tokensOf(asked[0]) > WINDOW, 'the first review prompt was over the window');
      const last = asked[asked.length - 1];
      assert.ok(tokensOf(last) <= WINDOW, 'the last one fits');
      assert.deepEqual(last[0], asked[0][0], 'the system prompt is sent whole');
      const firstAsk = contentText(asked[0][1]);
      const lastAsk = contentText(last[1]);
      const head = firstAsk.slice(0, firstAsk.indexOf('The diff:\n'));
      assert.ok(lastAsk.startsWith(head), 'the task, its criteria and the summary are sent whole');
      const diffSent = lastAsk.slice(head.length + 'The diff:\n'.length);
      const shownChars = diffSent.indexOf('[the diff cut');
      const lastCut = cuts[cuts.length - 1].message.match(/with ([\d,]+) of/);
      assert.equal(Number(lastCut?.[1].replace(/,/g, '')), shownChars, 'the note counts what was shown');
      assert.match(head, /- big\.txt has 2000 rows\n- each row is numbered\n/);
      assert.match(head, /The agent's summary: Wrote big\.txt with 2000 numbered rows\./);
      assert.match(
        lastAsk,
        /\+row 0000 z+\n[\s\S]*\n\[the diff cut to fit the model's context window: [\d,]+ characters of 8\d,\d{3} not shown\]\n$/,
      );
    } finally {
      await server.close();
      repo.cleanup();
    }
  },
);

test(
  'a review that cannot fit the window at all is skipped with a sentence naming it',
  { timeout: 120_000 },
  async () => {
    const repo = makeRepo({ files: FILES });
    // The summary alone is about 5,000 tokens: no diff, however short, fits beside it.
    const summary = `Wrote big.txt. ${'Every row was checked by hand. '.repeat(650)}`;
    const server = await startServer(scenario(summary), { contextWindow: WINDOW });
    try {
      const run = await runCli(['run', 'Write the big table', '--no-checks'], { repo, server });
      assert.equal(run.code, 0, run.stderr);
      const { events, state } = await readRun(repo, await latestRunId(repo));
      assert.equal(state.tasks.get('big')?.status, 'merged', "the checks' verdict stands");
      assert.equal(ofType(events, 'review').length, 0);
      const skipped = ofType(events, 'note').filter(
        (n) => n.taskId === 'big' && n.message.startsWith('review skipped'),
      );
      assert.equal(skipped.length, 1);
      assert.match(
        skipped[0].message,
        /^review skipped: the reviewer model's context window of 4,000 tokens is too small for the review: the task, its acceptance criteria and the agent's summary with [\d,]+ of the diff's 8\d,\d{3} characters did not fit \(the backend said: .*maximum context length is 4000 tokens/,
      );
      assert.doesNotMatch(run.stderr, /\n\s+at /, 'no stack trace');
    } finally {
      await server.close();
      repo.cleanup();
    }
  },
);
