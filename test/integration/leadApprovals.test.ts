/**
 * Approvals in the Lead session: the command policy's asks wait on the tasks' rows, grouped by
 * command; one answer from the panel settles every agent waiting on it; a notification answers
 * too; a refusal's reason reaches the agent; an unanswered ask is refused at the time-out. The
 * real engine, the real scripted server, real git, the real sandbox.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { DeskAnswer } from '../../src/core/approvalDesk';
import type { ApprovalQuestion } from '../../src/app/leadHost';
import { toolCall } from '../../src/scripted/scenario';
import { contentText } from '../../src/scripted/wire';
import { latestRunId, makeRepo, planReply, rawTask, readRun, requestsFor, startServer } from './runHarness';
import type { ScriptedServer } from '../../src/scripted/server';
import { serverBackend, session, settledRun, state, testHost, testSettings, until } from './leadHarness';

const NODE_WRITE = `node -e "require('fs').writeFileSync('ok.txt', 'ok\\n')"`;

/** Every tool result the task's agent was sent, from its last request. */
function toolResults(server: ScriptedServer, taskId: string): string {
  const last = requestsFor(server, 'agent', taskId).at(-1);
  return (last?.body.messages ?? [])
    .filter((m) => m.role === 'tool')
    .map(contentText)
    .join('\n');
}

test(
  'asks wait on the rows, grouped; the panel and a notification answer; the time-out refuses',
  { timeout: 120_000 },
  async () => {
    const repo = makeRepo();
    const server = await startServer({
      planner: [
        planReply([
          rawTask('one', { files: ['ok.txt'] }),
          rawTask('two', { files: ['ok.txt'] }),
          rawTask('three', { files: ['three.txt'] }),
          rawTask('late', { files: ['late.txt'] }),
        ]),
      ],
      agents: {
        one: [toolCall('run_command', { command: NODE_WRITE }), toolCall('finish', { summary: 'wrote ok.txt' })],
        two: [toolCall('run_command', { command: NODE_WRITE }), toolCall('finish', { summary: 'wrote ok.txt' })],
        three: [
          toolCall('run_command', { command: 'npx cowsay moo' }),
          toolCall('write_file', { path: 'three.txt', content: '3\n' }),
          toolCall('finish', { summary: 'did without cowsay' }),
        ],
        late: [
          toolCall('run_command', { command: 'python3 -c "print(1)"' }),
          toolCall('write_file', { path: 'late.txt', content: 'late\n' }),
          toolCall('finish', { summary: 'gave up on python' }),
        ],
      },
    });
    const questions: ApprovalQuestion[] = [];
    const host = testHost(
      repo.root,
      testSettings(repo, { backends: [serverBackend(server.url)], concurrency: 3, approvalTimeoutMs: 8000 }),
    );
    // The notification of `npx cowsay` is answered with a refusal; others are left open.
    host.askApproval = (q: ApprovalQuestion, signal: AbortSignal): Promise<DeskAnswer | undefined> => {
      questions.push(q);
      if (q.command.startsWith('npx'))
        return Promise.resolve({ choice: 'deny', reason: 'no downloads in this repository' });
      return new Promise((resolve) => signal.addEventListener('abort', () => resolve(undefined)));
    };
    const s = await session(host);
    try {
      await s.handle({ type: 'spec/change', spec: 'Four small tasks that need commands.' });
      await s.handle({ type: 'plan/start' });
      await s.handle({ type: 'run/start' });

      const grouped = await until(s, 'one and two waiting on the same command', (st) => {
        const rows = st.run?.tasks.filter((t) => t.ask?.command.startsWith('node -e')) ?? [];
        return rows.length === 2 ? rows : null;
      });
      assert.deepEqual(
        grouped.map((r) => r.ask?.others),
        [['two'], ['one']],
        'each row names the other',
      );
      assert.equal(grouped[0].ask?.key, grouped[1].ask?.key);
      assert.equal(grouped[0].ask?.rule, 'inline-code');
      assert.ok(grouped[0].ask?.answerable && (grouped[0].ask.expiresAt ?? 0) > Date.now());
      assert.ok((state(s).run?.asks.tasks ?? 0) >= 2);
      assert.ok(questions.some((q) => q.command.startsWith('node -e') && q.tasks.length >= 1));

      await s.handle({ type: 'approval/answer', key: grouped[0].ask.key, choice: 'once', reason: '' });
      await until(s, 'the group answered', (st) => st.run?.tasks.every((t) => !t.ask?.command.startsWith('node')));
      await assert.rejects(
        s.handle({ type: 'approval/answer', key: grouped[0].ask.key, choice: 'once', reason: '' }),
        /no longer waits/,
      );

      // `late` asks about python and no one answers: it is refused at the time-out.
      const run = await settledRun(s);
      assert.equal(run.status, 'completed', JSON.stringify(run.tasks.map((t) => [t.id, t.status, t.reason])));
      assert.equal(state(s).run?.asks.tasks, 0);

      const { events } = await readRun(repo, await latestRunId(repo));
      const answers = events.flatMap((e) =>
        e.type === 'approval_answered' ? [`${e.taskId}:${e.by}:${e.approved}`] : [],
      );
      assert.ok(answers.includes('one:user:true') && answers.includes('two:user:true'), answers.join(' '));
      assert.ok(answers.includes('three:user:false'), 'the notification refused npx');
      assert.match(toolResults(server, 'three'), /no downloads in this repository/);
      assert.ok(answers.includes('late:timeout:false'), answers.join(' '));
      assert.match(toolResults(server, 'late'), /No one answered within 8 s/);
    } finally {
      await s.dispose();
      await server.close();
      repo.cleanup();
    }
  },
);
