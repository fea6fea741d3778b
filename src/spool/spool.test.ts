/**
 * The spool against the real filesystem, in a temp dir: what goes in comes back in order across
 * restarts, group commit shares fsyncs, torn and corrupt bytes left by a crash are found by their
 * checksum, the checkpoint and segment deletion work, a full spool pushes back, and a failed write
 * leaves no broken state.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, mkdir, open, readdir, readFile, rm, rmdir, stat, truncate, writeFile, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { GatewayError } from '../errors/catalogue.ts';
import { createLogger } from '../observability/log.ts';
import type { OutboundRecord } from '../publishing/publisher.ts';
import { recordHeaderBytes } from './record-format.ts';
import { openSpool, segmentName, type Spool, type SpoolOptions } from './spool.ts';

let dir: string;
let logLines: string[];
const opened: Spool[] = [];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vitalbridge-spool-'));
  logLines = [];
});

afterEach(async () => {
  for (const spool of opened.splice(0)) await spool.close();
  await rm(dir, { recursive: true, force: true });
});

function record(index: number, size = 40): OutboundRecord {
  return {
    topic: 'fhir.observation',
    key: `device-${index % 3}`,
    value: JSON.stringify({ resourceType: 'Observation', id: `obs-${index}`, pad: 'x'.repeat(size) }),
    headers: { 'source-message-id': `MSG-${index}` },
  };
}

const counts = { torn: 0, quarantined: 0, writeErrors: [] as string[] };

async function openTestSpool(overrides: Partial<SpoolOptions> = {}): Promise<Spool> {
  counts.torn = 0;
  counts.quarantined = 0;
  counts.writeErrors = [];
  const spool = await openSpool({
    dir,
    maxBytes: 8 * 1024 * 1024,
    segmentBytes: 1024 * 1024,
    log: createLogger({ level: 'debug', write: (line) => logLines.push(line) }),
    probeIntervalMs: 50,
    events: {
      tornRecordDiscarded: () => (counts.torn += 1),
      segmentQuarantined: () => (counts.quarantined += 1),
      writeError: (errno) => counts.writeErrors.push(errno),
    },
    ...overrides,
  });
  opened.push(spool);
  return spool;
}

async function closeSpool(spool: Spool): Promise<void> {
  opened.splice(opened.indexOf(spool), 1);
  await spool.close();
}

/** Everything readable now, in order. */
async function readEverything(spool: Spool): Promise<{ records: OutboundRecord[]; lastSeq: bigint | undefined }> {
  const records: OutboundRecord[] = [];
  let lastSeq: bigint | undefined;
  for (;;) {
    const batch = await spool.read({ maxRecords: 7, maxBytes: 64 * 1024 });
    if (batch === undefined) return { records, lastSeq };
    records.push(...batch.records);
    lastSeq = batch.lastSeq;
  }
}

async function segmentFiles(): Promise<string[]> {
  return (await readdir(dir)).filter((name) => name.startsWith('segment-')).sort();
}

/** The on-disk size of record(index) as spooled. */
function spooledSize(index: number, size = 40): number {
  const r = record(index, size);
  return recordHeaderBytes + Buffer.byteLength(JSON.stringify({ topic: r.topic, key: r.key, value: r.value, headers: r.headers }));
}

function logged(event: string): Record<string, unknown>[] {
  return logLines.map((line) => JSON.parse(line) as Record<string, unknown>).filter((entry) => entry.event === event);
}

describe('spool: append and read back', () => {
  it('returns every appended record, in append order, before and after a reopen', async () => {
    const spool = await openTestSpool();
    await spool.append([record(0), record(1)], { timeoutMs: 5_000 });
    await spool.append([record(2)], { timeoutMs: 5_000 });
    expect(spool.status().pendingRecords).toBe(3);
    expect((await readEverything(spool)).records).toEqual([record(0), record(1), record(2)]);
    await closeSpool(spool);

    const reopened = await openTestSpool();
    expect(reopened.status().pendingRecords).toBe(3);
    expect((await readEverything(reopened)).records).toEqual([record(0), record(1), record(2)]);
    expect(counts.torn).toBe(0);
  });

  it('group commit: 200 concurrent appends are covered by a handful of fsyncs, each resolved only after one', async () => {
    let syncs = 0;
    const spool = await openTestSpool({
      openFile: async (path, flags) => instrument(await open(path, flags), { onDatasync: () => (syncs += 1) }),
    });
    const appends = Array.from({ length: 200 }, (_, index) => spool.append([record(index)], { timeoutMs: 10_000 }));
    await Promise.all(appends);
    // The first append starts a write on its own; the 199 that arrive during its fsync share the next.
    expect(syncs).toBeGreaterThanOrEqual(1);
    expect(syncs).toBeLessThanOrEqual(4);
    const { records } = await readEverything(spool);
    expect(records.map((r) => r.headers['source-message-id'])).toEqual(Array.from({ length: 200 }, (_, index) => `MSG-${index}`));
  });
});

describe('spool: recovery after a crash', () => {
  it('cuts off a torn last record (file cut mid-record) and counts it', async () => {
    const spool = await openTestSpool();
    for (let index = 0; index < 3; index += 1) await spool.append([record(index)], { timeoutMs: 5_000 });
    await closeSpool(spool);
    const [segment] = await segmentFiles();
    const path = join(dir, segment as string);
    const full = (await stat(path)).size;
    await truncate(path, full - 10);

    const reopened = await openTestSpool();
    expect(counts.torn).toBe(1);
    expect(logged('spool_torn_record_discarded')).toHaveLength(1);
    expect(logged('spool_torn_record_discarded')[0]?.code).toBe('spool_torn_record_discarded');
    expect((await readEverything(reopened)).records).toEqual([record(0), record(1)]);
    expect((await stat(path)).size).toBe(spooledSize(0) + spooledSize(1));
    // The next record continues the sequence where the torn one would have been.
    await reopened.append([record(9)], { timeoutMs: 5_000 });
    await closeSpool(reopened);
    const again = await openTestSpool();
    expect(counts.torn).toBe(0);
    expect((await readEverything(again)).records).toEqual([record(0), record(1), record(9)]);
  });

  it('cuts off a last record whose bytes were corrupted, and a zero-filled tail', async () => {
    const spool = await openTestSpool();
    for (let index = 0; index < 3; index += 1) await spool.append([record(index)], { timeoutMs: 5_000 });
    await closeSpool(spool);
    const path = join(dir, (await segmentFiles())[0] as string);
    const bytes = await readFile(path);
    flip(bytes, bytes.length - 5); // inside the last record's payload
    await writeFile(path, Buffer.concat([bytes]));

    const reopened = await openTestSpool();
    expect(counts.torn).toBe(1);
    expect((await readEverything(reopened)).records).toEqual([record(0), record(1)]);
    await closeSpool(reopened);

    // A filesystem may leave a zero-filled extension after a power cut.
    await writeFile(path, Buffer.concat([await readFile(path), Buffer.alloc(300)]));
    const again = await openTestSpool();
    expect(counts.torn).toBe(1);
    expect((await readEverything(again)).records).toEqual([record(0), record(1)]);
  });

  it('reports corruption before the end as spool_segment_corrupt, keeps a quarantine copy, delivers every intact record around it, keeps working', async () => {
    const spool = await openTestSpool();
    for (let index = 0; index < 4; index += 1) await spool.append([record(index)], { timeoutMs: 5_000 });
    await closeSpool(spool);
    const path = join(dir, (await segmentFiles())[0] as string);
    const bytes = await readFile(path);
    flip(bytes, spooledSize(0) + recordHeaderBytes + 5); // inside record 1 of 4
    await writeFile(path, bytes);

    const reopened = await openTestSpool();
    expect(counts.quarantined).toBe(1);
    expect(counts.torn).toBe(0);
    const report = logged('spool_segment_corrupt');
    expect(report).toHaveLength(1);
    expect(report[0]?.code).toBe('spool_segment_corrupt');
    const quarantined = await readdir(join(dir, 'quarantine'));
    expect(quarantined).toHaveLength(1);
    expect(await readFile(join(dir, 'quarantine', quarantined[0] as string))).toEqual(bytes);
    // Only the damaged record is lost; the ones after it were acknowledged and are kept.
    expect((await readEverything(reopened)).records).toEqual([record(0), record(2), record(3)]);
    await reopened.append([record(7)], { timeoutMs: 5_000 });
    expect((await readEverything(reopened)).records).toEqual([record(7)]);
    await closeSpool(reopened);
    // The rewritten segment is clean: a second open reports nothing.
    const again = await openTestSpool();
    expect(counts.quarantined + counts.torn).toBe(0);
    expect((await readEverything(again)).records).toEqual([record(0), record(2), record(3), record(7)]);
  });

  it('a damaged length field in the middle (claiming the record runs past the end) is corruption, not a torn tail', async () => {
    const spool = await openTestSpool();
    for (let index = 0; index < 4; index += 1) await spool.append([record(index)], { timeoutMs: 5_000 });
    await closeSpool(spool);
    const path = join(dir, (await segmentFiles())[0] as string);
    const bytes = await readFile(path);
    bytes.writeUInt32BE(0x00ffffff, spooledSize(0)); // record 1's length
    await writeFile(path, bytes);

    const reopened = await openTestSpool();
    expect(counts.torn).toBe(0);
    expect(counts.quarantined).toBe(1);
    expect(logged('spool_segment_corrupt')).toHaveLength(1);
    expect((await readEverything(reopened)).records).toEqual([record(0), record(2), record(3)]);
  });

  it('reports corruption in an older segment when the drainer reaches it, and continues with the next segment', async () => {
    const small = { segmentBytes: 4096, maxBytes: 1024 * 1024 };
    const spool = await openTestSpool(small);
    for (let index = 0; index < 40; index += 1) await spool.append([record(index)], { timeoutMs: 5_000 });
    await closeSpool(spool);
    const files = await segmentFiles();
    expect(files.length).toBeGreaterThanOrEqual(3);
    const firstPath = join(dir, files[0] as string);
    const secondFirstSeq = BigInt(/(\d{20})/.exec(files[1] as string)?.[1] as string);
    const bytes = await readFile(firstPath);
    flip(bytes, spooledSize(0) * 2 + recordHeaderBytes + 3); // record 2 of the first segment
    await writeFile(firstPath, bytes);

    const reopened = await openTestSpool(small);
    expect(counts.quarantined).toBe(0); // only the last segment is scanned at open
    const { records } = await readEverything(reopened);
    expect(counts.quarantined).toBe(1);
    const ids = records.map((r) => r.headers['source-message-id']);
    // Records 0 and 1, then everything from the second segment on.
    const expected = ['MSG-0', 'MSG-1', ...Array.from({ length: 40 - Number(secondFirstSeq - 1n) }, (_, i) => `MSG-${Number(secondFirstSeq - 1n) + i}`)];
    expect(ids).toEqual(expected);
  });
});

describe('spool: one owner per directory', () => {
  it('refuses a directory already open in this process', async () => {
    await openTestSpool();
    await expect(openTestSpool()).rejects.toThrow(/already open in this process/);
  });

  it('refuses a directory locked by another running process, and takes over the lock once that process is gone (SIGKILL)', async () => {
    const other = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60_000)'], { stdio: 'ignore' });
    try {
      await writeFile(join(dir, 'spool.lock'), `${other.pid}\n`);
      await expect(openTestSpool()).rejects.toThrow(new RegExp(`in use by process ${other.pid}`));
    } finally {
      const exited = new Promise((resolve) => other.once('exit', resolve));
      other.kill('SIGKILL');
      await exited;
    }
    const spool = await openTestSpool();
    await spool.append([record(0)], { timeoutMs: 5_000 });
    expect((await readFile(join(dir, 'spool.lock'), 'utf8')).trim()).toBe(String(process.pid));
    await closeSpool(spool);
    await expect(stat(join(dir, 'spool.lock'))).rejects.toThrow(/ENOENT/);
  });
});

describe('spool: a directory it cannot use', () => {
  it('a spool dir under a regular file (real ENOTDIR) fails open with spool_unusable, naming the errno and the path', async () => {
    await writeFile(join(dir, 'a-file'), 'not a directory');
    const under = join(dir, 'a-file', 'spool');
    const failure = await openTestSpool({ dir: under }).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(GatewayError);
    expect(failure).toMatchObject({ code: 'spool_unusable', retryable: false });
    expect((failure as GatewayError).message).toMatch(/SPOOL_DIR/);
    expect((failure as GatewayError).message).toContain('ENOTDIR');
    expect((failure as GatewayError).message).toContain(join(dir, 'a-file'));
  });
});

describe('spool: checkpoint and segments', () => {
  it('resumes after the checkpoint on reopen', async () => {
    const spool = await openTestSpool();
    for (let index = 0; index < 10; index += 1) await spool.append([record(index)], { timeoutMs: 5_000 });
    const batch = await spool.read({ maxRecords: 4, maxBytes: 1024 * 1024 });
    expect(batch?.records).toEqual([0, 1, 2, 3].map((i) => record(i)));
    await spool.markDelivered(batch?.lastSeq as bigint);
    expect(spool.status().pendingRecords).toBe(6);
    await closeSpool(spool);
    expect(JSON.parse(await readFile(join(dir, 'checkpoint.json'), 'utf8'))).toEqual({ version: 1, deliveredThrough: '4' });

    const reopened = await openTestSpool();
    expect(reopened.status().pendingRecords).toBe(6);
    expect((await readEverything(reopened)).records).toEqual([4, 5, 6, 7, 8, 9].map((i) => record(i)));
  });

  it('rolls segments at segmentBytes and deletes the ones fully delivered', async () => {
    const spool = await openTestSpool({ segmentBytes: 4096, maxBytes: 1024 * 1024 });
    for (let index = 0; index < 60; index += 1) await spool.append([record(index)], { timeoutMs: 5_000 });
    const files = await segmentFiles();
    expect(files.length).toBeGreaterThanOrEqual(4);
    for (const file of files) expect((await stat(join(dir, file))).size).toBeLessThanOrEqual(4096);
    expect(files[0]).toBe(segmentName(1n));

    const half = await spool.read({ maxRecords: 30, maxBytes: 1024 * 1024 });
    await spool.markDelivered(half?.lastSeq as bigint);
    const remaining = await segmentFiles();
    expect(remaining.length).toBeLessThan(files.length);
    // Nothing undelivered was deleted.
    expect((await readEverything(spool)).records).toEqual(Array.from({ length: 30 }, (_, i) => record(30 + i)));
    await closeSpool(spool);
    const reopened = await openTestSpool({ segmentBytes: 4096, maxBytes: 1024 * 1024 });
    const after = await readEverything(reopened);
    expect(after.records).toEqual(Array.from({ length: 30 }, (_, i) => record(30 + i)));
    await reopened.markDelivered(after.lastSeq as bigint);
    expect((await segmentFiles()).length).toBeLessThanOrEqual(1);
    expect(reopened.status().pendingRecords).toBe(0);
  });
});

describe('spool: back-pressure and write errors', () => {
  it('when full, an append waits for the drainer to free space, then completes; with no drainer it fails with spool_full', async () => {
    const limits = { maxBytes: 64 * 1024, segmentBytes: 8 * 1024 };
    const spool = await openTestSpool(limits);
    let appended = 0;
    // Fill it: stop at the first append that cannot be placed at once.
    for (;;) {
      const attempt = spool.append([record(appended, 400)], { timeoutMs: 60_000 });
      const placed = await Promise.race([attempt.then(() => true), new Promise<false>((resolve) => setTimeout(() => resolve(false), 300))]);
      if (!placed) {
        expect(spool.status().full).toBe(true);
        expect(spool.status().bytes).toBeLessThanOrEqual(limits.maxBytes);
        // Drain (as Kafka would): the waiting append goes through.
        const { lastSeq } = await readEverything(spool);
        await spool.markDelivered(lastSeq as bigint);
        await attempt;
        appended += 1;
        break;
      }
      appended += 1;
      if (appended > 1000) throw new Error('the spool never filled up');
    }
    expect(spool.status().full).toBe(false);
    expect((await readEverything(spool)).records).toEqual([record(appended - 1, 400)]);

    // Fill again with nobody draining: the append fails with spool_full after its timeout, nothing written.
    while (spool.status().bytes + spooledSize(0, 400) <= limits.maxBytes) await spool.append([record(0, 400)], { timeoutMs: 5_000 });
    const pendingBefore = spool.status().pendingRecords;
    const refused = await spool.append([record(1, 400)], { timeoutMs: 400 }).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(refused).toBeInstanceOf(GatewayError);
    expect((refused as GatewayError).code).toBe('spool_full');
    expect(spool.status().pendingRecords).toBe(pendingBefore);
  });

  it('a segment file that cannot be created (real EISDIR) fails the append with spool_write_failed; the next append works once it clears', async () => {
    const spool = await openTestSpool({ segmentBytes: 4096, maxBytes: 1024 * 1024 });
    let index = 0;
    while ((await segmentFiles()).length < 1 || (await stat(join(dir, (await segmentFiles())[0] as string))).size + spooledSize(index) <= 4096) {
      await spool.append([record(index)], { timeoutMs: 5_000 });
      index += 1;
    }
    // The next append must start segment <index + 1>: put a directory where its file goes.
    const blocker = join(dir, segmentName(BigInt(index + 1)));
    await mkdir(blocker);
    const failed = await spool.append([record(index)], { timeoutMs: 5_000 }).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect((failed as GatewayError).code).toBe('spool_write_failed');
    expect(spool.status().writable).toBe(false);
    expect(spool.status().lastWriteError).toBe('EISDIR');
    expect(counts.writeErrors).toEqual(['EISDIR']);
    expect(logged('spool_write_failed')[0]?.code).toBe('spool_write_failed');

    await rmdir(blocker);
    await spool.append([record(index)], { timeoutMs: 5_000 });
    expect(spool.status().writable).toBe(true);
    const { records } = await readEverything(spool);
    expect(records).toEqual(Array.from({ length: index + 1 }, (_, i) => record(i)));
  });

  it('a write cut short by ENOSPC leaves no torn bytes behind and the spool recovers (disk full simulated on the file handle)', async () => {
    // Real parts cannot fill a disk on demand here, so the handle writes half the batch for real, then fails.
    let failWrites = false;
    const spool = await openTestSpool({
      openFile: async (path, flags) =>
        instrument(await open(path, flags), {
          beforeWrite: (handle, buffer, offset, length, position) => {
            if (!failWrites) return undefined;
            return handle.write(buffer, offset, Math.floor(length / 2), position).then(() => {
              throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
            });
          },
        }),
    });
    await spool.append([record(0)], { timeoutMs: 5_000 });
    failWrites = true;
    const failed = await spool.append([record(1), record(2)], { timeoutMs: 5_000 }).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect((failed as GatewayError).code).toBe('spool_write_failed');
    expect(spool.status()).toMatchObject({ writable: false, lastWriteError: 'ENOSPC', pendingRecords: 1 });
    const path = join(dir, (await segmentFiles())[0] as string);
    expect((await stat(path)).size).toBe(spooledSize(0)); // the half-written batch was cut off

    failWrites = false;
    await spool.append([record(3)], { timeoutMs: 5_000 });
    expect(spool.status().writable).toBe(true);
    await closeSpool(spool);
    const reopened = await openTestSpool();
    expect(counts.torn).toBe(0);
    expect((await readEverything(reopened)).records).toEqual([record(0), record(3)]);
  });

  it('refuses a checkpoint file it cannot parse loudly, and re-delivers from the start (duplicates, no loss)', async () => {
    const spool = await openTestSpool();
    for (let index = 0; index < 3; index += 1) await spool.append([record(index)], { timeoutMs: 5_000 });
    await spool.markDelivered(2n);
    await closeSpool(spool);
    await writeFile(join(dir, 'checkpoint.json'), '{"version":1,"delivered');
    const reopened = await openTestSpool();
    expect(logged('spool_checkpoint_unreadable')[0]?.code).toBe('spool_checkpoint_unreadable');
    expect((await readEverything(reopened)).records).toEqual([record(0), record(1), record(2)]);
  });
});

/** Inverts one byte, as disk damage would. */
function flip(bytes: Buffer, index: number): void {
  bytes.writeUInt8((bytes.readUInt8(index) ^ 0xff) & 0xff, index);
}

/** The real file handle, with its datasync counted or its write replaced for one test. */
function instrument(
  handle: FileHandle,
  hooks: {
    onDatasync?: () => void;
    beforeWrite?: (handle: FileHandle, buffer: Buffer, offset: number, length: number, position: number) => Promise<never> | undefined;
  },
): FileHandle {
  return new Proxy(handle, {
    get(target, property, receiver) {
      if (property === 'datasync' && hooks.onDatasync !== undefined) {
        return () => {
          hooks.onDatasync?.();
          return target.datasync();
        };
      }
      if (property === 'write' && hooks.beforeWrite !== undefined) {
        return (buffer: Buffer, offset: number, length: number, position: number) =>
          hooks.beforeWrite?.(target, buffer, offset, length, position) ?? target.write(buffer, offset, length, position);
      }
      const value: unknown = Reflect.get(target, property, receiver);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}
