/**
 * A pipeline worker thread (started by pipeline-workers.ts): runs the message pipeline on the raw bytes
 * it is sent and posts back the records and the activity summary, or the error as plain data. Posts
 * `{ ready: true }` once the adapter is loaded; a load failure ends the thread with that error.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { loadAdapter } from '../adapter-kit/load-adapter.ts';
import { gatewayErrorData } from '../errors/catalogue.ts';
import { createMessagePipeline } from './message-pipeline.ts';
import type { PipelineJob, PipelineReply, PipelineWorkerData } from './pipeline-workers.ts';

const port = parentPort;
if (port === null) throw new Error('pipeline-worker.ts runs only as a worker thread');
// Our own data, posted by pipeline-workers.ts.
const data = workerData as PipelineWorkerData;
const adapter = await loadAdapter(data.adapter.name, data.adapter.module);
const pipeline = createMessagePipeline({ adapter, adapterConfig: data.adapterConfig, topics: data.topics });

port.on('message', (job: PipelineJob) => {
  const outcome = pipeline(Buffer.from(job.raw.buffer, job.raw.byteOffset, job.raw.byteLength), {
    traceId: job.traceId,
    receivedAt: new Date(job.receivedAt),
  });
  const reply: PipelineReply = outcome.ok ? { id: job.id, ok: true, result: outcome.result } : { id: job.id, ok: false, error: gatewayErrorData(outcome.error) };
  port.postMessage(reply);
});
port.postMessage({ ready: true } satisfies PipelineReply);
