/**
 * The Backends section's figures (src/app/telemetryView.ts) from journal events: readings become
 * series for the charts with what a server does not say left out, energy is attributed to the
 * tasks, and the attribution is not redone on every snapshot while figures keep coming.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TelemetryTracker } from '../../src/app/telemetryView';
import type { JournalEvent, NewEvent } from '../../src/core/journal';
import { TelemetryView } from '../../src/protocol/panel';

let seq = 0;
function ev(e: NewEvent, t: number): JournalEvent {
  return { ...e, seq: ++seq, t };
}

const reading = (atMs: number, running: number, hit: number | null) =>
  ev(
    {
      type: 'backend_metrics',
      endpoint: 'http://gpu/v1',
      reading: {
        atMs,
        server: 'dynamo',
        running,
        waiting: 1,
        kvCacheUse: null,
        prefixHitRate: hit,
        tokensPerSecond: 10 * running,
      },
    },
    atMs,
  );

test('readings become chart series; a figure the server does not give is left out, never 0', () => {
  const t = new TelemetryTracker();
  t.observe(reading(1000, 2, 0.5));
  t.observe(reading(3000, 4, null));
  const view = t.view(3000);
  assert.doesNotThrow(() => TelemetryView.parse(view), 'a valid protocol value');
  const [b] = view.backends;
  assert.equal(b.server, 'Dynamo');
  assert.deepEqual(b.series.running, [2, 4]);
  assert.deepEqual(b.series.prefixHitRate, [0.5]);
  assert.deepEqual(b.series.kvCacheUse, []);
  assert.equal(b.last?.running, 4);
  assert.deepEqual(b.energy, { measured: false, reason: 'no reading of GPU power was recorded for this backend' });
  assert.equal(view.run, null);
});

test('energy per task in the view, recomputed when an interval or a request comes (at most once a second)', () => {
  const t = new TelemetryTracker();
  const request = (taskId: string, end: number, tokens: number) =>
    ev(
      {
        type: 'model_request',
        role: 'agent',
        taskId,
        model: 'm',
        endpoint: 'http://gpu/v1',
        ok: true,
        usage: {
          promptTokens: 1,
          completionTokens: tokens,
          cachedTokens: null,
          reasoningTokens: null,
          estimated: false,
        },
        timing: { ttftMs: 0, durationMs: 1000, outputTokensPerSec: null },
        attempts: 1,
        cost: null,
      },
      end,
    );
  const energy = (fromMs: number, toMs: number, joules: number) =>
    ev(
      {
        type: 'energy',
        endpoint: 'http://gpu/v1',
        source: 'nvidia-smi',
        fromMs,
        toMs,
        gpus: [{ gpu: '0', joules, method: 'integrated' }],
      },
      toMs,
    );
  t.observe(request('a', 1000, 300));
  t.observe(request('b', 1000, 100));
  t.observe(energy(0, 1000, 40));
  const first = t.view(10_000);
  assert.deepEqual(
    first.tasks.map((x) => [x.task, x.joules, x.tokensPerJoule]),
    [
      ['a', 30, 10],
      ['b', 10, 10],
    ],
  );
  const b = first.backends[0].energy;
  assert.ok(b.measured);
  assert.equal(b.how, 'integrated power, nvidia-smi, 1 GPU');
  t.observe(energy(1000, 2000, 78));
  assert.equal(t.view(10_500).run?.idleJoules, 0, 'within the second: the last figures stand');
  assert.equal(t.view(11_000).run?.idleJoules, 78, 'a second on: recomputed, the idle interval counted apart');
});
