/**
 * The message pipeline (parse -> normalize -> validate -> records) on worker threads, so that the main
 * thread only frames, acknowledges and publishes. `mllp.workerThreads` of them; each message goes to
 * the worker with the fewest messages in hand. Order needs no care here: a connection's next message
 * is read only after the previous one was answered (transports/mllp/server.ts).
 *
 * A worker that dies answers every message it held with `pipeline_worker_failed` (the processor
 * answers AR/CR, so the senders resend) and is started again: at once if it had been serving, after a
 * growing delay if it died before it was ready. A worker still on one message after `timeoutMs` is
 * ended the same way, but that message, the one it was working on (a worker takes its messages in
 * order), gets `pipeline_timeout`: it is dead-lettered and answered AE/CE, since resending it would
 * only stop the next worker too. Errors cross the thread as plain data and come back as
 * the same GatewayError (code, location, text).
 */
import { Worker } from 'node:worker_threads';
import { GatewayError, gatewayErrorFromData, type GatewayErrorData } from '../errors/catalogue.ts';
import type { Logger } from '../observability/log.ts';
import type { PipelineOutcome, PipelineResult } from './message-pipeline.ts';
import type { GatewayConfig } from '../../schemas/config.ts';

export interface PipelineWorkerData {
  /** The adapter by registry name, or from a module (as `--adapter-module` loads one). */
  readonly adapter: { readonly name: string; readonly module?: string };
  readonly adapterConfig: unknown;
  readonly topics: GatewayConfig['kafka']['topics'];
}

export interface PipelineJob {
  readonly id: number;
  /** An exact copy of the message's bytes, whose buffer is transferred, not copied again. */
  readonly raw: Uint8Array;
  readonly traceId: string;
  readonly receivedAt: number;
}

export type PipelineReply =
  | { readonly ready: true }
  | { readonly id: number; readonly ok: true; readonly result: PipelineResult }
  | { readonly id: number; readonly ok: false; readonly error: GatewayErrorData };

export interface PipelineWorkersOptions extends PipelineWorkerData {
  readonly threads: number;
  /** Longest a worker may take over one message before it is ended (mllp.pipelineTimeoutSeconds). */
  readonly timeoutMs: number;
  readonly log: Logger;
  /** Delay before restarting a worker that died before it was ready: doubles from initial up to max. */
  readonly restartDelayMs?: { readonly initial: number; readonly max: number };
}

export interface PipelineWorkers {
  /** Starts every worker; rejects (and stops them) if one cannot load the adapter. */
  start(): Promise<void>;
  run(raw: Buffer, context: { traceId: string; receivedAt: Date }): Promise<PipelineOutcome>;
  /** Messages in the workers' hands. */
  inFlight(): number;
  stop(): Promise<void>;
}

interface Slot {
  readonly index: number;
  worker: Worker | undefined;
  ready: boolean;
  /** Consecutive deaths before ready: the restart delay's exponent. */
  failedStarts: number;
  restartTimer: NodeJS.Timeout | undefined;
  /** In the order posted, which is the order the worker takes them: the first is the one in hand. */
  readonly waiting: Map<number, { readonly answer: (outcome: PipelineOutcome) => void; readonly postedAt: number }>;
  /** Why we ended the worker ourselves, for its exit's log line. */
  endedFor: string | undefined;
  /**
   * When the worker last made progress: became ready, or answered a message. The message at the head
   * of its queue has been in hand no earlier (loading the adapter, or the messages before it, is not its time).
   */
  progressAt: number;
}

/** The worker module: compiled JavaScript in dist/, else the TypeScript sources through tsx. */
const workerUrl = new URL(import.meta.url.endsWith('.ts') ? './pipeline-worker-from-source.mjs' : './pipeline-worker.js', import.meta.url);

export function createPipelineWorkers(options: PipelineWorkersOptions): PipelineWorkers {
  const { log } = options;
  const restartDelay = options.restartDelayMs ?? { initial: 100, max: 5_000 };
  const workerData: PipelineWorkerData = { adapter: options.adapter, adapterConfig: options.adapterConfig, topics: options.topics };
  const slots: Slot[] = Array.from({ length: options.threads }, (_, index) => ({
    index,
    worker: undefined,
    ready: false,
    failedStarts: 0,
    restartTimer: undefined,
    waiting: new Map(),
    endedFor: undefined,
    progressAt: 0,
  }));
  let nextJobId = 0;
  let stopping = false;
  let watchdog: NodeJS.Timeout | undefined;

  function failWaiting(slot: Slot, detail: string): number {
    const count = slot.waiting.size;
    for (const { answer } of slot.waiting.values()) answer({ ok: false, error: new GatewayError('pipeline_worker_failed', detail) });
    slot.waiting.clear();
    return count;
  }

  /** Starts the slot's worker; resolves when it is ready, rejects if it dies first. */
  function spawn(slot: Slot): Promise<void> {
    slot.restartTimer = undefined;
    const worker = new Worker(workerUrl, { workerData });
    worker.unref();
    slot.worker = worker;
    slot.ready = false;
    slot.endedFor = undefined;
    let crash: Error | undefined;
    return new Promise<void>((resolve, reject) => {
      worker.on('message', (reply: PipelineReply) => {
        if ('ready' in reply) {
          slot.ready = true;
          slot.progressAt = Date.now();
          slot.failedStarts = 0;
          resolve();
          return;
        }
        slot.progressAt = Date.now();
        const job = slot.waiting.get(reply.id);
        slot.waiting.delete(reply.id);
        job?.answer(reply.ok ? { ok: true, result: reply.result } : { ok: false, error: gatewayErrorFromData(reply.error) });
      });
      worker.on('error', (error) => {
        crash = error;
      });
      worker.on('exit', (exitCode) => {
        if (slot.worker === worker) slot.worker = undefined;
        const wasReady = slot.ready;
        slot.ready = false;
        if (!wasReady) reject(crash ?? new Error(`the pipeline worker exited (code ${exitCode}) before it was ready`));
        // The error's name and code only: its text could quote message content.
        const reason = slot.endedFor ?? (crash === undefined ? `exit code ${exitCode}` : `${crash.name}${'code' in crash ? ` ${String(crash.code)}` : ''}`);
        const messages = failWaiting(slot, reason);
        if (stopping) return;
        if (!wasReady) slot.failedStarts += 1;
        const delayMs = slot.failedStarts === 0 ? 0 : Math.min(restartDelay.max, restartDelay.initial * 2 ** (slot.failedStarts - 1));
        log.error('pipeline_worker_failed', { code: 'pipeline_worker_failed', worker: slot.index, reason, messages, restartInMs: delayMs });
        slot.restartTimer = setTimeout(() => {
          spawn(slot).catch(() => undefined); // a failed restart is logged by its own exit
        }, delayMs);
        slot.restartTimer.unref();
      });
    });
  }

  /** The live worker with the fewest messages in hand (a starting one queues them). */
  function pick(): Slot | undefined {
    let best: Slot | undefined;
    for (const slot of slots) {
      if (slot.worker !== undefined && (best === undefined || slot.waiting.size < best.waiting.size)) best = slot;
    }
    return best;
  }

  /** Ends a worker that has been on one message longer than timeoutMs; that message gets pipeline_timeout. */
  function checkTimeouts(): void {
    const now = Date.now();
    for (const slot of slots) {
      const first = slot.waiting.entries().next();
      if (first.done === true || slot.worker === undefined || !slot.ready || slot.endedFor !== undefined) continue;
      const [id, job] = first.value;
      if (now - Math.max(job.postedAt, slot.progressAt) <= options.timeoutMs) continue;
      slot.waiting.delete(id);
      job.answer({ ok: false, error: new GatewayError('pipeline_timeout', `(${options.timeoutMs} ms)`) });
      slot.endedFor = `pipeline_timeout after ${options.timeoutMs} ms`;
      void slot.worker.terminate();
    }
  }

  async function stop(): Promise<void> {
    stopping = true;
    clearInterval(watchdog);
    for (const slot of slots) clearTimeout(slot.restartTimer);
    await Promise.all(slots.map((slot) => slot.worker?.terminate()));
    for (const slot of slots) failWaiting(slot, 'the gateway is stopping');
  }

  return {
    async start() {
      try {
        await Promise.all(slots.map((slot) => spawn(slot)));
      } catch (error) {
        await stop();
        throw new Error(`a pipeline worker could not start: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
      }
      watchdog = setInterval(checkTimeouts, Math.max(50, Math.min(1_000, options.timeoutMs / 4)));
      watchdog.unref();
      log.info('pipeline_workers_started', { threads: slots.length, adapter: options.adapter.name, timeoutMs: options.timeoutMs });
    },

    run(raw, context) {
      const slot = pick();
      const worker = slot?.worker;
      if (slot === undefined || worker === undefined) {
        return Promise.resolve({ ok: false, error: new GatewayError('pipeline_worker_failed', 'no pipeline worker is running (restarting)') });
      }
      const id = nextJobId++;
      const copy = new Uint8Array(raw);
      return new Promise<PipelineOutcome>((resolve) => {
        slot.waiting.set(id, { answer: resolve, postedAt: Date.now() });
        const job: PipelineJob = { id, raw: copy, traceId: context.traceId, receivedAt: context.receivedAt.getTime() };
        worker.postMessage(job, [copy.buffer]);
      });
    },

    inFlight: () => slots.reduce((total, slot) => total + slot.waiting.size, 0),

    stop,
  };
}
