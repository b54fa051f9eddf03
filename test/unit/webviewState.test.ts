import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LEAD_ERROR_REASONS, RequestErrorReason } from '../../src/protocol/panel';
import type { PanelState } from '../../src/protocol/panel';
import { announcement, initialModel, reactToHostMessage } from '../../src/webview/hostMessages';
import type { PanelModel } from '../../src/webview/hostMessages';
import { RequestTracker } from '../../src/webview/requests';
import { initialUiState, pruneUiState, restoreUiState } from '../../src/webview/uiState';
import type { UiState } from '../../src/webview/uiState';

const fixture = (name: string): PanelState =>
  JSON.parse(readFileSync(join(__dirname, '../fixtures/panel', `${name}.json`), 'utf8'));
const stateMsg = (state: PanelState) => ({ type: 'state/didChange', state });

function react(model: PanelModel, data: unknown, tracker = new RequestTracker(), specPending = false) {
  return reactToHostMessage(model, data, { tracker, now: 1000, specPending });
}

test('request ids increase; busy and errors go by key prefix', () => {
  const t = new RequestTracker();
  const a = t.start('plan/start', { type: 'plan/start' });
  const b = t.start('task:a:stop', { type: 'task/stop', taskId: 'a' });
  assert.equal(b.id, a.id + 1);
  assert.deepEqual(a.request, { type: 'plan/start' });
  assert.equal(t.isBusy('plan/start'), true);
  assert.equal(t.isBusy('task:a:'), true);
  assert.equal(t.isBusy('task:ab:'), false);
  assert.equal(t.finish(999, true, null), undefined, 'an unknown id settles nothing');
  const done = t.finish(b.id, false, { message: 'Task a is not running.', reason: 'refused' });
  assert.equal(done?.key, 'task:a:stop');
  assert.equal(t.isBusy('task:a:'), false);
  assert.deepEqual(t.errorsFor(['task:a:']), ['Task a is not running.']);
  assert.deepEqual(t.errorsFor(['task:ab:']), []);
  t.start('task:a:stop', { type: 'task/stop', taskId: 'a' });
  assert.deepEqual(t.errorsFor(['task:a:']), [], 'sending again clears the old error');
  const c = t.start('x', { type: 'plan/cancel' });
  t.finish(c.id, false, { message: '  ', reason: 'busy' });
  assert.deepEqual(t.errorsFor(['x']), ['The request failed.']);
  assert.equal(t.inFlight, 2);
});

test('saved UI state is read field by field; garbage gives defaults', () => {
  assert.deepEqual(restoreUiState(undefined), initialUiState());
  assert.deepEqual(restoreUiState('nonsense'), initialUiState());
  const saved = restoreUiState({
    expanded: ['a', 7, 'b'],
    editing: { taskId: 'a', draft: { id: 'a', title: 'T', dependsOn: ['b', 3] } },
    adding: { title: 'no id' },
    specDraft: 'typed',
    changeRequests: { a: 'fix it', b: 5 },
    backendForm: { name: 'box', baseUrl: 7 },
    historyOpen: false,
    scrollY: -3,
  });
  assert.deepEqual(saved.expanded, ['a', 'b']);
  assert.deepEqual(saved.editing, {
    taskId: 'a',
    draft: { id: 'a', title: 'T', instructions: '', acceptance: '', files: '', dependsOn: ['b'] },
  });
  assert.equal(saved.adding, null);
  assert.equal(saved.specDraft, 'typed');
  assert.deepEqual(saved.changeRequests, { a: 'fix it' });
  assert.deepEqual(saved.backendForm, { name: 'box', baseUrl: '', model: '' });
  assert.equal(saved.historyOpen, false);
  assert.equal(saved.scrollY, 0);
});

test('UI state for tasks and forms that are gone is dropped', () => {
  const board = fixture('board-100');
  const id = board.run?.tasks[0].id ?? '';
  const ui: UiState = {
    ...initialUiState(),
    expanded: [id, 'gone'],
    changeRequests: { [id]: 'x', gone: 'y' },
    editing: {
      taskId: 'json-output',
      draft: { id: 'json-output', title: '', instructions: '', acceptance: '', files: '', dependsOn: [] },
    },
    replanComment: 'c',
  };
  const pruned = pruneUiState(ui, board);
  assert.deepEqual(pruned.expanded, [id]);
  assert.deepEqual(pruned.changeRequests, { [id]: 'x' });
  assert.equal(pruned.editing, null, 'no plan on a board');
  assert.equal(pruned.replanComment, '');
  const plan = fixture('plan-valid');
  const kept = { ...initialUiState(), editing: ui.editing, replanComment: 'c' };
  assert.equal(pruneUiState(kept, plan), kept, 'nothing to drop: the same object');
});

test('an invalid message is counted and changes nothing else', () => {
  const model = initialModel(initialUiState());
  for (const bad of [null, 'hello', { type: 'state/didChange', state: { phase: 'nowhere' } }, { type: 'unknown' }]) {
    const r = react(model, bad);
    assert.equal(r.render, false);
    assert.deepEqual(r.posts, []);
    assert.equal(r.model.state, null);
    assert.equal(r.model.invalid, 1);
  }
});

test('a state is kept and rendered with the time it arrived', () => {
  const state = fixture('compose-no-backend');
  const r = react(initialModel(initialUiState()), stateMsg(state));
  assert.equal(r.render, true);
  assert.deepEqual(r.model.state, state);
  assert.equal(r.model.receivedAt, 1000);
  assert.equal(r.announce, null);
});

test('typing the host never got is sent again after the view is rebuilt', () => {
  const state = { ...fixture('compose-no-backend'), spec: 'old' };
  const model = initialModel({ ...initialUiState(), specDraft: 'typed before the view was hidden' });
  const r = react(model, stateMsg(state));
  assert.deepEqual(r.posts, [
    { key: 'spec', request: { type: 'spec/change', spec: 'typed before the view was hidden' } },
  ]);
  assert.equal(r.model.ui.specDraft, 'typed before the view was hidden', 'still shown until the host has it');
  const echoed = react(
    r.model,
    stateMsg({ ...state, spec: 'typed before the view was hidden' }),
    new RequestTracker(),
    true,
  );
  assert.equal(echoed.model.ui.specDraft, null, 'the host has it: its spec is the truth again');
});

test('a stale echo does not replace typing still on its way; a settled one does', () => {
  const state = fixture('compose-no-backend');
  const first = react(initialModel(initialUiState()), stateMsg({ ...state, spec: 'a' }));
  const typing = { ...first.model, ui: { ...first.model.ui, specDraft: 'abc' } };
  const stale = react(typing, stateMsg({ ...state, spec: 'ab' }), new RequestTracker(), true);
  assert.equal(stale.model.ui.specDraft, 'abc');
  assert.deepEqual(stale.posts, []);
  const reset = react(typing, stateMsg({ ...state, spec: '' }), new RequestTracker(), false);
  assert.equal(reset.model.ui.specDraft, null, 'New spec cleared it on the host, nothing of ours in flight');
});

test('request/didFinish settles the request, keeps its error and calls back', () => {
  const tracker = new RequestTracker();
  const calls: boolean[] = [];
  const env = tracker.start('run/start', { type: 'run/start' }, (ok) => calls.push(ok));
  const model = initialModel(initialUiState());
  const error = { message: 'The plan has errors.', reason: 'invalid' as const };
  const r = react(model, { type: 'request/didFinish', id: env.id, ok: false, error }, tracker);
  assert.equal(r.render, true);
  assert.equal(r.finished?.key, 'run/start');
  assert.deepEqual(r.finished?.error, error, 'the typed reason reaches the panel');
  r.finished?.onDone?.(r.finished.ok);
  assert.deepEqual(calls, [false]);
  assert.deepEqual(tracker.errorsFor(['run/']), ['The plan has errors.']);
  const again = react(model, { type: 'request/didFinish', id: env.id, ok: true, error: null }, tracker);
  assert.equal(again.render, false, 'an answer to nothing in flight changes nothing');
});

test('errors keep their reason: left out by reason, forgotten by reason', () => {
  const t = new RequestTracker();
  const plan = t.start('plan/start', { type: 'plan/start' });
  const stop = t.start('task:a:stop', { type: 'task/stop', taskId: 'a' });
  const apply = t.start('run/apply', { type: 'run/apply', mode: 'squash' });
  t.finish(plan.id, false, { message: 'This workspace is not trusted.', reason: 'blocked' });
  t.finish(stop.id, false, { message: 'Nothing is running.', reason: 'refused' });
  t.finish(apply.id, false, null);
  const all = ['plan/', 'task:', 'run/'];
  assert.deepEqual(t.errorsFor(all), ['This workspace is not trusted.', 'Nothing is running.', 'The request failed.']);
  assert.deepEqual(t.errorsFor(all, new Set(['blocked'])), ['Nothing is running.', 'The request failed.']);
  assert.deepEqual(
    t.errorsFor(all, new Set(['unexpected'])),
    ['This workspace is not trusted.', 'Nothing is running.'],
    'a failure without an error is unexpected',
  );
  assert.equal(t.clearErrorsOf('blocked'), true);
  assert.equal(t.clearErrorsOf('blocked'), false, 'nothing left to forget');
  assert.deepEqual(t.errorsFor(all), ['Nothing is running.', 'The request failed.']);
});

test('request/didFinish errors are validated: a bare string or an unknown reason is ignored', () => {
  const model = initialModel(initialUiState());
  for (const error of ['Nothing is running.', { message: 'x', reason: 'whatever' }, { reason: 'busy' }]) {
    const tracker = new RequestTracker();
    const env = tracker.start('run/start', { type: 'run/start' });
    const r = react(model, { type: 'request/didFinish', id: env.id, ok: false, error }, tracker);
    assert.equal(r.finished, null, JSON.stringify(error));
    assert.equal(r.model.invalid, 1);
    assert.equal(tracker.isBusy('run/start'), true, 'still waiting for a valid answer');
  }
});

test('the error reasons are the session refusals and unexpected', () => {
  assert.deepEqual(RequestErrorReason.options, [...LEAD_ERROR_REASONS, 'unexpected']);
  assert.deepEqual(
    new Set(LEAD_ERROR_REASONS),
    new Set(['blocked', 'busy', 'invalid', 'backend', 'refused', 'notFound']),
  );
});

test('focus/spec asks for focus', () => {
  const r = react(initialModel(initialUiState()), { type: 'focus/spec' });
  assert.equal(r.focusSpec, true);
  assert.equal(r.render, false);
});

test('run status changes and a new plan are announced; the first state is not', () => {
  const board = fixture('board-100');
  const run = board.run;
  assert.ok(run);
  assert.equal(announcement(null, board), null);
  assert.equal(announcement(board, board), null);
  const stopped = { ...board, run: { ...run, status: 'stopped' as const, message: 'Stopped by you.' } };
  assert.equal(announcement(board, stopped), `Run ${run.runId}: Stopped. Stopped by you.`);
  assert.equal(announcement(fixture('planning'), fixture('plan-valid')), 'Plan ready: 4 tasks.');
});

test("a request's error carries the host's time, so the line can tell it from older notices", () => {
  const tracker = new RequestTracker();
  const state = fixture('run-finished');
  const shown = react(initialModel(initialUiState()), stateMsg(state), tracker).model;
  const apply = tracker.start('run/apply', { type: 'run/apply', mode: 'squash' });
  const resume = tracker.start('run/resume', { type: 'run/resume', runId: 'r' });
  const dirty = { message: 'Dirty.', reason: 'refused' as const };
  reactToHostMessage(
    shown,
    { type: 'request/didFinish', id: apply.id, ok: false, error: dirty },
    {
      tracker,
      now: 1250,
      specPending: false,
    },
  );
  assert.deepEqual(tracker.latestError(['run/apply', 'run/resume']), {
    key: 'run/apply',
    at: state.now + 250,
    message: 'Dirty.',
    reason: 'refused',
  });
  const busy = { message: 'Busy.', reason: 'busy' as const };
  reactToHostMessage(
    shown,
    { type: 'request/didFinish', id: resume.id, ok: false, error: busy },
    {
      tracker,
      now: 1500,
      specPending: false,
    },
  );
  assert.equal(tracker.latestError(['run/apply', 'run/resume'])?.message, 'Busy.', 'the latest wins');
  assert.equal(tracker.latestError(['run/apply', 'run/resume'], new Set(['busy']))?.message, 'Dirty.');
  assert.equal(tracker.latestError(['task:']), null);
});
