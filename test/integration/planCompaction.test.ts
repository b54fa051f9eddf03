/**
 * The planner against a model whose context window is smaller than its prompt, from the command
 * line: `foreman plan` as a child process against the scripted server given a context window,
 * which answers a longer prompt with vLLM's HTTP 400 and words, through the real openai SDK. A
 * repository of many files with a long README and conventions file makes a long repository view;
 * the planner asks again with less of it (the spec whole), says so, and plans. A spec that does not
 * fit even with no view fails planning with a sentence naming the window and the spec's size.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Scenario } from '../../src/scripted/scenario';
import type { WireMessage } from '../../src/scripted/server';
import { contentText, renderMessages } from '../../src/scripted/wire';
import { makeRepo, planReply, rawTask, requestsFor, runCli, startServer } from './runHarness';

const WINDOW = 2_000;
const SPEC = 'Add a CHANGES.md that lists every part file of lib/.';

const prose = (title: string) =>
  `# ${title}\n\n` +
  Array.from(
    { length: 80 },
    (_, i) => `Paragraph ${i}: how this project keeps its parts in order, said at length.`,
  ).join('\n');

/** 300 part files, a long README and a long AGENTS.md: a repository view of about 11,000 characters. */
function bigRepoFiles(): Record<string, string> {
  const files: Record<string, string> = { 'README.md': prose('Parts'), 'AGENTS.md': prose('Conventions') };
  for (let i = 0; i < 300; i++) files[`lib/part-${String(i).padStart(3, '0')}.txt`] = `part ${i}\n`;
  return files;
}

const SCENARIO: Scenario = {
  planner: [planReply([rawTask('changes', { files: ['CHANGES.md'], acceptance: ['CHANGES.md lists 300 parts'] })])],
};

const tokensOf = (messages: WireMessage[]) => Math.ceil(renderMessages(messages).length / 4);

test(
  'a repository view too long for the planner window is cut, said, and the spec planned',
  { timeout: 120_000 },
  async () => {
    const repo = makeRepo({ files: bigRepoFiles() });
    const server = await startServer(SCENARIO, { contextWindow: WINDOW });
    try {
      const run = await runCli(['plan', SPEC], { repo, server });
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stdout, /changes/);
      const asked = requestsFor(server, 'planner').map((r) => r.body.messages);
      assert.ok(asked.length >= 2, 'refused, then asked again');
      assert.ok(tokensOf(asked[0]) > WINDOW, 'the first prompt was over the window');
      const last = asked[asked.length - 1];
      assert.ok(tokensOf(last) <= WINDOW, 'the last one fits');
      assert.deepEqual(last[0], asked[0][0], 'the system prompt is sent whole');
      const first = contentText(asked[0][1]);
      const sent = contentText(last[1]);
      assert.ok(sent.startsWith(`# Specification\n\n${SPEC}\n\n# Repository\n\n## Files (302)\n`), 'the spec whole');
      const fullView = first.slice(first.indexOf('# Repository\n\n') + 14).trim();
      assert.ok(fullView.length > 10_000, `a long view (${fullView.length})`);
      assert.match(
        sent,
        /\n\[the repository view cut to fit the model's context window: [\d,]+ characters of [\d,]+ not shown\]\n$/,
      );
      const notes = [
        ...run.stderr.matchAll(
          /^The repository view was too long for the planner model's context window of 2,000 tokens: the planner was shown ([\d,]+) of its ([\d,]+) characters\.$/gm,
        ),
      ];
      assert.equal(notes.length, asked.length - 1, 'each cut is said');
      assert.equal(Number(notes[0][2].replace(/,/g, '')), fullView.length);
      const viewSent = sent.slice(sent.indexOf('# Repository\n\n') + 14);
      const shownChars = viewSent.indexOf('[the repository view cut');
      assert.equal(Number(notes[notes.length - 1][1].replace(/,/g, '')), shownChars, 'the note counts what was shown');
      assert.ok(fullView.startsWith(viewSent.slice(0, shownChars)), 'the head of the view, whole lines');
    } finally {
      await server.close();
      repo.cleanup();
    }
  },
);

test(
  "a spec too long for the planner window fails planning with a sentence naming the window and the spec's size",
  { timeout: 120_000 },
  async () => {
    const repo = makeRepo({ files: bigRepoFiles() });
    const server = await startServer(SCENARIO, { contextWindow: WINDOW });
    const spec = join(repo.tmp, 'spec.md');
    const text = Array.from(
      { length: 200 },
      (_, i) => `Requirement ${String(i).padStart(3, '0')}: list part ${i}.`,
    ).join('\n');
    writeFileSync(spec, `${text}\n`);
    try {
      const run = await runCli(['plan', '--spec-file', spec], { repo, server });
      assert.equal(run.code, 4, run.stderr);
      assert.match(
        run.stderr,
        new RegExp(
          `Planning failed: The spec does not fit the planner model's context window of 2,000 tokens: it is ${text.length.toLocaleString('en-US')} characters \\(about ${Math.ceil(text.length / 4).toLocaleString('en-US')} tokens at four characters a token\\), and with the planner's instructions and no repository view the prompt is still too long \\(the backend said: .*maximum context length is 2000 tokens.*\\)\\. Shorten the spec, or plan with a model whose context window is larger\\.`,
        ),
      );
      assert.doesNotMatch(run.stderr, /\n\s+at /, 'no stack trace');
    } finally {
      await server.close();
      repo.cleanup();
    }
  },
);
