/**
 * The pipeline on real worker threads: same outcome as on the main thread, errors that keep their
 * code and location, and a worker that dies (test/support/crashing-adapter.ts ends its thread) answers
 * what it held with pipeline_worker_failed, which the message processor turns into CR, and comes back.
 */
import { afterEach, describe, expect, it } from 'vitest';
import hl7v2Pcd from '../../adapters/hl7v2-pcd/index.ts';
import { GatewayError } from '../errors/catalogue.ts';
import { readAcknowledgement } from '../hl7/read-ack.ts';
import { createLogger } from '../observability/log.ts';
import { createMetrics } from '../observability/metrics.ts';
import { createConfiguredPublisher } from '../publishing/create-publisher.ts';
import { gatewayConfigSchema } from '../../schemas/config.ts';
import { crashingAdapter, crashingAdapterModule, crashMarker, hangMarker, slowMarker, slowMarkerMs } from '../../test/support/crashing-adapter.ts';
import { waitFor } from '../../test/support/wait-for.ts';
import { kafkaBrokers, readAll } from '../../test/support/kafka.ts';
import { pcd01Message } from '../../test/support/messages.ts';
import { gatewayTopicNames } from '../../test/support/topics.ts';
import { createMessagePipeline, type PipelineOutcome } from './message-pipeline.ts';
import { createMessageProcessor } from './message-processor.ts';
import { createPipelineWorkers, type PipelineWorkers } from './pipeline-workers.ts';

const topics = gatewayTopicNames(`workers.${process.pid}`);
const adapterConfig = hl7v2Pcd.config.parse({});
const context = { traceId: '7d1f0c1e-0000-4000-8000-000000000001', receivedAt: new Date('2024-05-01T10:30:00Z') };
const started: PipelineWorkers[] = [];

function logged() {
  const lines: string[] = [];
  return { lines, log: createLogger({ level: 'debug', write: (line) => lines.push(line) }) };
}

function workersOf(options: { threads: number; adapter: { name: string; module?: string }; timeoutMs?: number }, log = logged().log): PipelineWorkers {
  const workers = createPipelineWorkers({ timeoutMs: 10_000, ...options, adapterConfig, topics, log });
  started.push(workers);
  return workers;
}

/** Runs the message until it comes back ok (a restarting worker answers pipeline_worker_failed meanwhile). */
function firstOk(workers: PipelineWorkers, message: string): Promise<PipelineOutcome> {
  return waitFor('a restarted worker to handle a message', async () => {
    const outcome = await workers.run(Buffer.from(message), context);
    return outcome.ok ? outcome : undefined;
  }, 20_000, 50);
}

afterEach(async () => {
  await Promise.all(started.splice(0).map((workers) => workers.stop()));
});

describe('pipeline workers', () => {
  it('give the same records, activity and errors as the pipeline on this thread; errors keep their class, code, location and text', async () => {
    const workers = workersOf({ threads: 2, adapter: { name: 'hl7v2-pcd' } });
    await workers.start();
    const here = createMessagePipeline({ adapter: hl7v2Pcd, adapterConfig, topics });
    const messages = [
      pcd01Message({ controlId: 'W-1' }),
      pcd01Message({ controlId: 'W-2', eui64: '0012340000000002', patientId: 'MRN-W2', spo2: '95' }),
      // Non-ASCII text in the records (the patient id, declared UTF-8 in MSH-18) crosses the thread intact.
      pcd01Message({ controlId: 'W-UTF8', patientId: 'MRN-Ü-µ' }).replace('|AL|NE||', '|AL|NE||UNICODE UTF-8'),
      pcd01Message({ controlId: 'W-BAD', spo2: '9x7' }),
      'THIS IS NOT HL7\r',
    ];
    const outcomes = await Promise.all(messages.map(async (message) => ({ there: await workers.run(Buffer.from(message), context), here: here(Buffer.from(message), context) })));

    const [accepted, , utf8, badNumber, notHl7] = outcomes;
    expect(utf8?.there.ok && utf8.there.result.records.filter(({ value }) => value.includes('"MRN-Ü-µ"'))).toHaveLength(3);
    expect(accepted?.there.ok && accepted.there.result.activity).toMatchObject({ observations: 3, byDevice: [{ observations: 3, patient: { identifier: 'MRN12345' } }] });
    expect(accepted?.there.ok && accepted.there.result.records.map(({ topic }) => topic)).toEqual([topics.device, topics.observation, topics.observation, topics.observation]);
    expect(badNumber?.there.ok === false && badNumber.there.error.location).toMatchObject({ segment: 'OBX', sequence: 2, field: 5 });
    expect(notHl7?.there.ok === false && notHl7.there.error.code).toBe('hl7_missing_msh');
    for (const { there, here: inProcess } of outcomes) {
      if (inProcess.ok) {
        expect(there).toEqual(inProcess);
      } else {
        expect(there.ok).toBe(false);
        if (there.ok) continue;
        expect(there.error).toBeInstanceOf(GatewayError);
        const { code, stage, retryable, location, message } = inProcess.error;
        expect({ code: there.error.code, stage: there.error.stage, retryable: there.error.retryable, location: there.error.location, message: there.error.message }).toEqual({ code, stage, retryable, location, message });
      }
    }
  });

  it('answer the messages a dying worker held with pipeline_worker_failed, log why without content, and start it again', async () => {
    const { lines, log } = logged();
    const workers = workersOf({ threads: 1, adapter: { name: crashingAdapter.name, module: crashingAdapterModule } }, log);
    await workers.start();
    const held = await Promise.all([
      workers.run(Buffer.from(pcd01Message({ controlId: crashMarker })), context),
      workers.run(Buffer.from(pcd01Message({ controlId: 'QUEUED-BEHIND-CRASH' })), context),
    ]);
    for (const outcome of held) {
      expect(outcome.ok).toBe(false);
      if (!outcome.ok) expect(outcome.error).toMatchObject({ code: 'pipeline_worker_failed', retryable: true });
    }
    const failures = lines.map((line) => JSON.parse(line) as Record<string, unknown>).filter((entry) => entry.event === 'pipeline_worker_failed');
    expect(failures).toEqual([expect.objectContaining({ level: 'error', code: 'pipeline_worker_failed', reason: 'exit code 7', messages: 2, restartInMs: 0 })]);

    const after = await firstOk(workers, pcd01Message({ controlId: 'AFTER-RESTART' }));
    expect(after.ok && after.result.activity.observations).toBe(3);
    expect(workers.inFlight()).toBe(0);
    for (const secret of ['MRN12345', 'DOE', crashMarker, 'QUEUED-BEHIND-CRASH']) expect(lines.join('')).not.toContain(secret);
  });

  it('end a worker stuck on one message past timeoutMs: that message gets pipeline_timeout, those queued behind it pipeline_worker_failed, and the worker comes back', async () => {
    const { lines, log } = logged();
    const workers = workersOf({ threads: 1, adapter: { name: crashingAdapter.name, module: crashingAdapterModule }, timeoutMs: 500 }, log);
    await workers.start();
    const [stuck, queued] = await Promise.all([
      workers.run(Buffer.from(pcd01Message({ controlId: hangMarker })), context),
      workers.run(Buffer.from(pcd01Message({ controlId: 'QUEUED-BEHIND-HANG' })), context),
    ]);
    expect(stuck?.ok === false && stuck.error).toMatchObject({ code: 'pipeline_timeout', retryable: false });
    expect(queued?.ok === false && queued.error).toMatchObject({ code: 'pipeline_worker_failed', retryable: true });
    const failures = lines.map((line) => JSON.parse(line) as Record<string, unknown>).filter((entry) => entry.event === 'pipeline_worker_failed');
    expect(failures).toEqual([expect.objectContaining({ reason: 'pipeline_timeout after 500 ms', messages: 1, restartInMs: 0 })]);
    const after = await firstOk(workers, pcd01Message({ controlId: 'AFTER-HANG' }));
    expect(after.ok && after.result.activity.observations).toBe(3);
  });

  it('count a message\'s time from when the worker reached it: slow messages queued behind each other, each within timeoutMs, all finish', async () => {
    const { lines, log } = logged();
    const timeoutMs = 1_000;
    const workers = workersOf({ threads: 1, adapter: { name: crashingAdapter.name, module: crashingAdapterModule }, timeoutMs }, log);
    await workers.start();
    // Five messages posted at once, each keeping the worker busy slowMarkerMs: the last ones wait longer than timeoutMs in all.
    const count = 5;
    expect(count * slowMarkerMs).toBeGreaterThan(timeoutMs);
    const outcomes = await Promise.all(Array.from({ length: count }, () => workers.run(Buffer.from(pcd01Message({ controlId: slowMarker })), context)));
    expect(outcomes.map((outcome) => (outcome.ok ? 'ok' : outcome.error.code))).toEqual(Array.from({ length: count }, () => 'ok'));
    expect(lines.filter((line) => line.includes('"pipeline_worker_failed"'))).toEqual([]);
  });

  it('refuse to start when a worker cannot load the adapter, and say why', async () => {
    const workers = workersOf({ threads: 1, adapter: { name: 'no-such-adapter', module: crashingAdapterModule } });
    await expect(workers.start()).rejects.toThrow(/a pipeline worker could not start: .*exports no adapter named "no-such-adapter"/);
  });

  it('make the message processor answer CR (ERR-3 207, pipeline_worker_failed) for a message a worker died on, CE with a dead letter (pipeline_timeout) for one it never finished, and CA once it is back (real Kafka)', async () => {
    const { log } = logged();
    const workers = workersOf({ threads: 1, adapter: { name: crashingAdapter.name, module: crashingAdapterModule }, timeoutMs: 1_000 }, log);
    await workers.start();
    const config = gatewayConfigSchema.parse({ kafka: { brokers: kafkaBrokers(), topicPartitions: 1, topics } });
    const publisher = createConfiguredPublisher(config.kafka, { brokers: kafkaBrokers(), log });
    await publisher.start([topics.observation, topics.device, topics.deadLetter, topics.events]);
    try {
      const metrics = createMetrics();
      const processor = createMessageProcessor({
        adapter: crashingAdapter,
        adapterConfig,
        publisher,
        topics,
        publishTimeoutMs: 10_000,
        ackSender: { application: 'VITALBRIDGE', facility: '' },
        log,
        metrics,
        workers,
      });
      const connection = { id: 'mllp-test' };
      const crashed = readAcknowledgement((await processor.onMessage(Buffer.from(pcd01Message({ controlId: crashMarker })), connection)) ?? '');
      expect(crashed).toMatchObject({ code: 'CR', ackedControlId: crashMarker });
      expect(crashed?.errors[0]).toMatchObject({ hl7Code: '207', applicationCode: 'pipeline_worker_failed' });
      expect(await metrics.registry.getSingleMetricAsString('vitalbridge_errors_total')).toContain('code="pipeline_worker_failed"} 1');

      // Answers come at once while no worker runs: waitFor's pause gives the restart timer its turn.
      const untilAccepted = (controlId: string) =>
        waitFor(`CA for ${controlId} from a restarted worker`, async () => {
          const code = readAcknowledgement((await processor.onMessage(Buffer.from(pcd01Message({ controlId })), connection)) ?? '')?.code;
          return code === 'CA' ? code : undefined;
        }, 20_000, 50);
      expect(await untilAccepted('AFTER-CRASH')).toBe('CA');

      // A message the worker never finishes: dead-lettered with its raw bytes and answered CE, not CR (resending would stop the next worker too).
      const hung = readAcknowledgement((await processor.onMessage(Buffer.from(pcd01Message({ controlId: hangMarker })), connection)) ?? '');
      expect(hung).toMatchObject({ code: 'CE', ackedControlId: hangMarker });
      expect(hung?.errors[0]).toMatchObject({ hl7Code: '207', applicationCode: 'pipeline_timeout' });
      const letters = await readAll(kafkaBrokers(), topics.deadLetter, { expected: 1, timeoutMs: 15_000, where: (record) => record.headers['source-message-id'] === hangMarker });
      expect(letters.map((record) => record.headers['error-code'])).toEqual(['pipeline_timeout']);
      expect(await untilAccepted('AFTER-HANG')).toBe('CA');
    } finally {
      await publisher.stop({ graceMs: 2_000 });
    }
  });
});
