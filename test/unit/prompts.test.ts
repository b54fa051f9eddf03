import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Plan } from '../../src/core/plan';
import { findRole, findTask } from '../../src/core/promptMarkers';
import { openingMessages } from '../../src/core/prompts';

const plan: Plan = {
  version: 1,
  spec: 'Add rate limiting and audit logging to the login API',
  warnings: [],
  tasks: [
    {
      id: 'rate-limit',
      title: 'Rate limit',
      instructions: 'Limit logins.',
      acceptance: ['429 after 5 tries'],
      files: ['src/login.ts'],
      dependsOn: [],
    },
    {
      id: 'audit',
      title: 'Audit log',
      instructions: 'Log logins.',
      acceptance: ['each login logged'],
      files: ['src/audit.ts'],
      dependsOn: [],
    },
  ],
};

test('every agent of a run opens with the same system message; only the task part differs', () => {
  const a = openingMessages(plan, 'tree: src/login.ts', plan.tasks[0], 'base abc');
  const b = openingMessages(plan, 'tree: src/login.ts', plan.tasks[1], 'base abc');
  assert.deepEqual(a[0], b[0]);
  assert.notDeepEqual(a[1], b[1]);
  assert.equal(findRole(a[0].content as string), 'agent');
  assert.equal(findTask(a[0].content as string), null, 'the shared prefix must not name a task');
  assert.equal(findTask(a[1].content as string), 'rate-limit');
  assert.match(a[1].content as string, /429 after 5 tries/);
});
