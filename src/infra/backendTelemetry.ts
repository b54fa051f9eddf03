/**
 * The backend watch (core/telemetry.ts `BackendWatch`): while a run is driven, every `intervalMs`
 * it reads each backend's Prometheus `/metrics` (core/backendMetrics.ts) and, where configured, its
 * GPUs' energy (infra/gpuEnergy.ts), and records what it read as journal events. It is cheap (one
 * small GET and at most one nvidia-smi or exporter read per backend per poll, never two at once)
 * and tolerant: a server without `/metrics` (404, or another 4xx) is said once to expose none and
 * not asked again; one that cannot be reached is said once and asked again at the next poll;
 * nothing is invented. Each reading's waiting queue is also noted for the choice of replica
 * (`QueueReadings`, infra/modelRouter.ts): a new task goes where the server's queue is shortest.
 */
import { deriveReading, readScrape } from '../core/backendMetrics';
import type { MetricsScrape } from '../core/backendMetrics';
import type { BackendWatch, EnergySetting, TelemetryEvent } from '../core/telemetry';
import { errorMessage } from '../core/errors';
import { createEnergyMeter, dcgmExporterSource, nvidiaSmiSource } from './gpuEnergy';
import type { EnergyMeter, EnergySnapshot } from './gpuEnergy';
import { createNodeFetch } from './nodeFetch';
import { SERVER_QUEUES } from './modelRouter';
import type { QueueReadings } from './modelRouter';
import { parsePrometheusText } from './prometheusText';

/** How a backend's GPU energy is read; `command` (tests and benchmarks only) stands in for nvidia-smi. */
export type EnergySource = EnergySetting | { source: 'nvidia-smi'; command: string };

/** One backend to watch. */
export interface TelemetryTarget {
  /** The endpoint as the ledger records it (the model client's `endpoint`). */
  endpoint: string;
  /** Its Prometheus text; null: not read. */
  metricsUrl: string | null;
  /** Null: energy is not measured (said once, with how to configure it). */
  energy: EnergySource | null;
}

/** Options of a watch. */
export interface WatchOptions {
  /** Between polls, ms; default 2000. */
  intervalMs?: number;
  now?: () => number;
  /** Where each reading's waiting queue is noted for the choice of replica (default SERVER_QUEUES). */
  queues?: QueueReadings;
}

/** What a backend's settings say about energy when they say nothing, as the recorded reason. */
export const ENERGY_NOT_CONFIGURED =
  'no energy source is configured for this backend (give it "energy": {"source": "nvidia-smi"} for a GPU on this machine, or {"source": "dcgm", "url": "http://<host>:9400/metrics"} for a dcgm-exporter)';

/**
 * The `/metrics` URL of an OpenAI-compatible base URL: vLLM, SGLang, llama.cpp's server and
 * Dynamo's frontend serve it at the root of the API's host and port (`http://h:8000/v1` →
 * `http://h:8000/metrics`). Null for a URL that does not parse.
 */
export function defaultMetricsUrl(baseUrl: string): string | null {
  try {
    const url = new URL(baseUrl);
    url.pathname = `${url.pathname.replace(/\/+$/, '').replace(/\/v1$/, '')}/metrics`;
    url.search = '';
    url.hash = '';
    return url.toString();
  } catch {
    return null;
  }
}

/** A watch over `targets`. */
export function createBackendWatch(targets: readonly TelemetryTarget[], options: WatchOptions = {}): BackendWatch {
  const intervalMs = options.intervalMs ?? 2000;
  const now = options.now ?? Date.now;
  const queues = options.queues ?? SERVER_QUEUES;
  return {
    start(recordEvent) {
      const record = (event: TelemetryEvent): void => {
        if (event.type === 'backend_metrics') queues.note(event.endpoint, event.reading.waiting);
        recordEvent(event);
      };
      const fetch = createNodeFetch({ maxSockets: 1 });
      const watchers = targets.map((t) => new TargetWatcher(t, record, now, fetch, Math.min(5000, intervalMs * 2)));
      let timer: ReturnType<typeof setTimeout> | null = null;
      let stopped = false;
      let polling: Promise<void> = Promise.resolve();
      // The readers answer reasons rather than throwing; should one throw anyway, the run goes on
      // and the next poll tries again: watching must never fail the work it watches.
      const poll = () =>
        Promise.all(watchers.map((w) => w.poll())).then(
          () => undefined,
          () => undefined,
        );
      const loop = () => {
        polling = poll().finally(() => {
          if (stopped) return;
          timer = setTimeout(loop, intervalMs);
          timer.unref?.();
        });
      };
      loop();
      return {
        async stop() {
          stopped = true;
          if (timer) clearTimeout(timer);
          await polling;
          await poll();
          fetch.close();
        },
      };
    },
  };
}

/** One backend's polling state. */
class TargetWatcher {
  private previous: MetricsScrape | null = null;
  private metricsOff: boolean;
  private readonly said = { metrics: false, energy: false };
  private readonly meter: EnergyMeter | null;
  private lastSnapshot: EnergySnapshot | null = null;

  constructor(
    private readonly target: TelemetryTarget,
    private readonly record: (event: TelemetryEvent) => void,
    private readonly now: () => number,
    private readonly fetch: ReturnType<typeof createNodeFetch>,
    private readonly timeoutMs: number,
  ) {
    this.metricsOff = target.metricsUrl === null;
    const energy = target.energy;
    this.meter =
      energy === null
        ? null
        : createEnergyMeter(
            [
              energy.source === 'dcgm'
                ? dcgmExporterSource(energy.url)
                : nvidiaSmiSource({ command: 'command' in energy ? energy.command : undefined }),
            ],
            { now },
          );
  }

  async poll(): Promise<void> {
    await Promise.all([this.pollMetrics(), this.pollEnergy()]);
  }

  private say(what: 'metrics' | 'energy', reason: string): void {
    if (this.said[what]) return;
    this.said[what] = true;
    this.record({ type: 'telemetry_unavailable', endpoint: this.target.endpoint, what, reason });
  }

  private async pollMetrics(): Promise<void> {
    const url = this.target.metricsUrl;
    if (url === null) {
      this.say('metrics', 'reading its metrics is turned off ("metricsUrl": null)');
      return;
    }
    if (this.metricsOff) return;
    let text: string;
    try {
      const res = await this.fetch(url, { signal: AbortSignal.timeout(this.timeoutMs) });
      text = await res.text();
      if (res.status >= 400 && res.status < 500) {
        // 404, or 401/403 on a hosted API: nothing there for Foreman; a server error may pass.
        this.metricsOff = true;
        this.say('metrics', `not exposed (${url} answered HTTP 404)`);
        return;
      }
      if (!res.ok) {
        this.say('metrics', `${url} answered HTTP ${res.status}`);
        return;
      }
    } catch (e) {
      this.say('metrics', `${url} could not be reached (${errorMessage(e)})`);
      return;
    }
    const atMs = this.now();
    const scrape = readScrape(parsePrometheusText(text).samples, atMs);
    if (scrape === null) {
      this.metricsOff = true;
      this.say('metrics', `${url} has none of the metric names of vLLM, SGLang, llama.cpp or Dynamo`);
      return;
    }
    this.record({
      type: 'backend_metrics',
      endpoint: this.target.endpoint,
      reading: deriveReading(this.previous, scrape),
    });
    this.previous = scrape;
  }

  private async pollEnergy(): Promise<void> {
    if (this.meter === null) {
      this.say('energy', ENERGY_NOT_CONFIGURED);
      return;
    }
    const snapshot = await this.meter.read();
    if (!snapshot.readable) {
      this.say('energy', snapshot.reason);
      return;
    }
    const before = this.lastSnapshot;
    this.lastSnapshot = snapshot;
    if (before === null || !before.readable) return;
    const span = this.meter.joulesBetween(before, snapshot);
    if (!span.readable || span.figures.length === 0) return;
    this.record({
      type: 'energy',
      endpoint: this.target.endpoint,
      source: snapshot.source,
      fromMs: before.atMs,
      toMs: snapshot.atMs,
      gpus: span.figures.map((f) => ({ gpu: f.gpu, joules: f.joules, method: f.method })),
    });
  }
}
