/**
 * The durable spool alone (no Kafka): how many messages per second reach the disk with an fsync
 * behind every acknowledgement, at 1..256 concurrent senders, and how many fsyncs group commit
 * needed for them. Prints a Markdown table; asserts nothing.
 *
 *   npx tsx bench/spool-append.ts                 # 3 s per step, in a temp dir
 *   SPOOL_BENCH_DIR=/var/lib/x SPOOL_BENCH_SECONDS=10 npx tsx bench/spool-append.ts
 *
 * A message is 4 records of ~1.2 KB (an ORU^R01's Observations and Device, as the gateway spools them).
 */
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../src/observability/log.ts';
import type { OutboundRecord } from '../src/publishing/publisher.ts';
import { openSpool } from '../src/spool/spool.ts';

const seconds = Number(process.env.SPOOL_BENCH_SECONDS ?? 3);
const steps = (process.env.SPOOL_BENCH_CONCURRENCY ?? '1,16,64,256').split(',').map(Number);
const baseDir = process.env.SPOOL_BENCH_DIR ?? tmpdir();

function message(index: number): OutboundRecord[] {
  return Array.from({ length: 4 }, (_, part) => ({
    topic: 'fhir.observation',
    key: `device-${index % 50}`,
    value: JSON.stringify({ resourceType: 'Observation', id: `${index}-${part}`, text: 'x'.repeat(1_100) }),
    headers: { 'content-type': 'application/fhir+json; fhirVersion=4.0', 'source-message-id': `M${index}` },
  }));
}

const rows: string[] = [];
for (const concurrency of steps) {
  const dir = await mkdtemp(join(baseDir, 'vitalbridge-spool-bench-'));
  let fsyncs = 0;
  const spool = await openSpool({
    dir,
    maxBytes: 8 * 1024 * 1024 * 1024,
    segmentBytes: 64 * 1024 * 1024,
    log: silentLogger,
    openFile: async (path, flags) => {
      const handle = await open(path, flags);
      const datasync = handle.datasync.bind(handle);
      handle.datasync = () => {
        fsyncs += 1;
        return datasync();
      };
      return handle;
    },
  });
  const latencies: number[] = [];
  let sent = 0;
  const deadline = Date.now() + seconds * 1000;
  const started = Date.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (Date.now() < deadline) {
        const at = performance.now();
        await spool.append(message(sent++), { timeoutMs: 30_000 });
        latencies.push(performance.now() - at);
      }
    }),
  );
  const elapsed = (Date.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const p = (q: number) => (latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0).toFixed(2);
  rows.push(
    `| ${concurrency} | ${Math.round(latencies.length / elapsed)} | ${(spool.status().bytes / elapsed / 1024 / 1024).toFixed(1)} | ${fsyncs} | ${(latencies.length / Math.max(1, fsyncs)).toFixed(1)} | ${p(0.5)} | ${p(0.99)} |`,
  );
  await spool.close();
  await rm(dir, { recursive: true, force: true });
}

process.stdout.write(
  `Spool append (fsync before resolve), ${seconds} s per step, dir ${baseDir}\n\n` +
    '| senders | messages/s | MiB/s | fsyncs | messages per fsync | p50 ms | p99 ms |\n|---|---|---|---|---|---|---|\n' +
    `${rows.join('\n')}\n`,
);
