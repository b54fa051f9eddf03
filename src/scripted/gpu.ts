/**
 * A simulated continuous-batching GPU for the scripted backend's benchmarks and tests: up to
 * `slots` requests decode together, each at the per-request rate of the batch they share (the
 * aggregate rate grows with the batch, as on a real GPU); requests past the batch limit wait in a
 * queue; uncached prompt tokens are prefilled first. Power follows the batch too. The default
 * curve is the shape of a real H200 measurement (../shared/fixtures/gpu-h200/batch-curve.txt:
 * tokens/s and watts at batch 1 to 256) scaled by `speed`, so a benchmark can run it slower than
 * the hardware and still keep its proportions.
 */

/** One point of a batch curve: aggregate decode tokens/s and watts at a batch of `batch`. */
export interface CurvePoint {
  batch: number;
  tokensPerSec: number;
  watts: number;
}

/**
 * An H200's decode-like step of an 8B-shaped model (bf16), batch 1 to 256, measured with NVML's
 * energy counter (the fixture's batch-curve.txt); idle draw 78 W.
 */
export const H200_CURVE: readonly CurvePoint[] = [
  { batch: 1, tokensPerSec: 233, watts: 568 },
  { batch: 2, tokensPerSec: 468, watts: 574 },
  { batch: 4, tokensPerSec: 940, watts: 578 },
  { batch: 8, tokensPerSec: 1915, watts: 597 },
  { batch: 16, tokensPerSec: 3856, watts: 635 },
  { batch: 32, tokensPerSec: 7573, watts: 693 },
  { batch: 64, tokensPerSec: 14511, watts: 695 },
  { batch: 128, tokensPerSec: 25986, watts: 693 },
  { batch: 256, tokensPerSec: 35303, watts: 692 },
];
export const H200_IDLE_WATTS = 78;

export interface GpuOptions {
  /** Requests decoded together at most; the rest wait. Default 64. */
  slots?: number;
  /** Multiplies every rate of the curve (0.25: four times slower than the hardware). Default 1. */
  speed?: number;
  /** Uncached prompt tokens prefilled per second, per request. Default 20,000 × speed. */
  prefillPerSec?: number;
  curve?: readonly CurvePoint[];
  idleWatts?: number;
  /** Milliseconds between simulation steps. Default 10. */
  tickMs?: number;
}

/** Counters in the shape of vLLM's metrics. */
export interface GpuCounters {
  running: number;
  waiting: number;
  /** Output tokens generated so far. */
  generated: number;
  /** Prompt tokens looked up in the prefix cache, and found there. */
  prefixQueried: number;
  prefixHit: number;
  /** Joules drawn so far (idle included), and seconds since the GPU was made. */
  joules: number;
  seconds: number;
}

interface Job {
  prefill: number;
  remaining: number;
  firstToken: () => void;
  done: () => void;
  started: boolean;
}

export class SimulatedGpu {
  readonly slots: number;
  private readonly speed: number;
  private readonly prefillPerSec: number;
  private readonly curve: readonly CurvePoint[];
  private readonly idleWatts: number;
  private readonly tickMs: number;
  private readonly running: Job[] = [];
  private readonly queue: Job[] = [];
  private timer: ReturnType<typeof setInterval> | null = null;
  private last: number;
  private readonly born: number;
  private readonly counters = { generated: 0, prefixQueried: 0, prefixHit: 0, joules: 0 };

  constructor(options: GpuOptions = {}) {
    this.slots = options.slots ?? 64;
    this.speed = options.speed ?? 1;
    this.prefillPerSec = options.prefillPerSec ?? 20_000 * this.speed;
    this.curve = options.curve ?? H200_CURVE;
    this.idleWatts = options.idleWatts ?? H200_IDLE_WATTS;
    this.tickMs = options.tickMs ?? 10;
    this.born = this.last = performance.now();
  }

  /** Aggregate decode tokens/s with `batch` requests decoding (interpolated on the curve, scaled). */
  aggregateRate(batch: number): number {
    return batch <= 0 ? 0 : interpolate(this.curve, batch, 'tokensPerSec') * this.speed;
  }

  /** Watts drawn with `batch` requests decoding; idle draw with none. */
  watts(batch: number): number {
    return batch <= 0 ? this.idleWatts : interpolate(this.curve, batch, 'watts');
  }

  /** The aggregate rate with every slot busy: the most this GPU can generate. */
  get capacity(): number {
    return this.aggregateRate(this.slots);
  }

  /**
   * Generate `completion` tokens for a prompt of `prompt` tokens of which `cached` were in the
   * prefix cache. `firstToken` resolves when its decoding starts (after the queue and the
   * prefill), `done` when its last token is out.
   */
  generate(prompt: number, cached: number, completion: number): { firstToken: Promise<void>; done: Promise<void> } {
    this.step();
    this.counters.prefixQueried += prompt;
    this.counters.prefixHit += Math.min(cached, prompt);
    let firstToken!: () => void;
    let done!: () => void;
    const first = new Promise<void>((r) => (firstToken = r));
    const finished = new Promise<void>((r) => (done = r));
    const job: Job = {
      prefill: Math.max(0, prompt - cached) / this.prefillPerSec,
      remaining: Math.max(1, completion),
      firstToken,
      done,
      started: false,
    };
    this.queue.push(job);
    this.admit();
    this.ensureTimer();
    return { firstToken: first, done: finished };
  }

  /** The counters now. */
  snapshot(): GpuCounters {
    this.step();
    return {
      running: this.running.length,
      waiting: this.queue.length,
      ...this.counters,
      seconds: (performance.now() - this.born) / 1000,
    };
  }

  /** The counters as a Prometheus text exposition with vLLM's metric names. */
  metricsText(model: string): string {
    const c = this.snapshot();
    const label = `{model_name="${model}"}`;
    const line = (name: string, type: string, value: number) => `# TYPE ${name} ${type}\n${name}${label} ${value}`;
    return (
      [
        line('vllm:num_requests_running', 'gauge', c.running),
        line('vllm:num_requests_waiting', 'gauge', c.waiting),
        line('vllm:kv_cache_usage_perc', 'gauge', c.running / this.slots),
        line('vllm:prefix_cache_queries_total', 'counter', c.prefixQueried),
        line('vllm:prefix_cache_hits_total', 'counter', c.prefixHit),
        line('vllm:generation_tokens_total', 'counter', c.generated),
      ].join('\n') + '\n'
    );
  }

  /**
   * The GPU's power and energy in a dcgm-exporter's text format (its default counters'
   * names, units and labels): `DCGM_FI_DEV_POWER_USAGE` in watts (the draw at the current batch)
   * and `DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION` in millijoules since the GPU was made.
   */
  dcgmText(): string {
    const c = this.snapshot();
    const labels = `{gpu="0", UUID="GPU-00000000-0000-0000-0000-000000000000", device="nvidia0", modelName="Simulated H200", Hostname="localhost"}`;
    return [
      '# HELP DCGM_FI_DEV_POWER_USAGE Power draw (in W).',
      '# TYPE DCGM_FI_DEV_POWER_USAGE gauge',
      `DCGM_FI_DEV_POWER_USAGE${labels} ${this.watts(c.running).toFixed(3)}`,
      '# HELP DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION Total energy consumption since boot (in mJ).',
      '# TYPE DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION counter',
      `DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION${labels} ${Math.round(c.joules * 1000)}`,
      '',
    ].join('\n');
  }

  /** Stop the simulation clock (pending requests never finish). */
  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private admit(): void {
    while (this.running.length < this.slots) {
      const next = this.queue.shift();
      if (!next) return;
      this.running.push(next);
    }
  }

  private ensureTimer(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.step(), this.tickMs);
    this.timer.unref?.();
  }

  /** Advance the simulation to now. */
  private step(): void {
    const now = performance.now();
    let dt = (now - this.last) / 1000;
    this.last = now;
    // Integrate in small pieces so a batch that changes mid-interval is followed.
    while (dt > 0) {
      const piece = Math.min(dt, this.tickMs / 1000);
      dt -= piece;
      const decoding = this.running.filter((j) => j.prefill <= 0);
      this.counters.joules += this.watts(this.running.length) * piece;
      const perRequest = decoding.length > 0 ? this.aggregateRate(decoding.length) / decoding.length : 0;
      for (const job of this.running) {
        if (job.prefill > 0) {
          job.prefill -= piece;
          continue;
        }
        if (!job.started) {
          job.started = true;
          job.firstToken();
        }
        const made = Math.min(job.remaining, perRequest * piece);
        job.remaining -= made;
        this.counters.generated += made;
      }
      for (let i = this.running.length - 1; i >= 0; i--) {
        const job = this.running[i];
        if (job.remaining <= 1e-9) {
          this.running.splice(i, 1);
          job.done();
        }
      }
      this.admit();
    }
    if (this.running.length === 0 && this.queue.length === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = null;
    }
  }
}

/** Linear interpolation of `key` at `batch` over the curve (held flat past its ends). */
function interpolate(curve: readonly CurvePoint[], batch: number, key: 'tokensPerSec' | 'watts'): number {
  if (batch <= curve[0].batch) return (curve[0][key] * batch) / curve[0].batch;
  for (let i = 1; i < curve.length; i++) {
    const a = curve[i - 1];
    const b = curve[i];
    if (batch <= b.batch) return a[key] + ((b[key] - a[key]) * (batch - a.batch)) / (b.batch - a.batch);
  }
  return curve[curve.length - 1][key];
}
