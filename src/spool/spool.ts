/**
 * A local durable spool: append-only segment files of checksummed, sequence-numbered records, and
 * a checkpoint saying how far they have been delivered to Kafka.
 *
 * - append() resolves only once its records are on disk (fdatasync). Appends that arrive while a
 *   write+fsync is running are written together and covered by the next single fsync (group
 *   commit), so many concurrent senders cost one fsync per batch, not one each.
 * - The spool holds at most maxBytes of segment files; an append that does not fit waits (up to
 *   its timeout) for the drainer to free space, then fails with spool_full. Nothing is dropped.
 * - A failed write (ENOSPC, EACCES, EROFS, EIO) fails its appends with spool_write_failed, the
 *   segment is truncated back to its last durable size, and the next append (or a periodic probe)
 *   tries again: there is no permanently broken state.
 * - open() fails with spool_unusable when the directory cannot be made or written (read-only, no
 *   permission, a file in its path, disk full): the gateway does not start on a spool it cannot keep.
 * - open() recovers after a crash: a torn or corrupt record at the end of the last segment was
 *   never acknowledged and is cut off (spool_torn_record_discarded); a bad record with data after
 *   it is corruption of acknowledged data: the segment is copied to quarantine/ for forensics, the
 *   readable prefix is kept, and the loss is reported (spool_segment_corrupt). Older segments are
 *   checked when the drainer reads them, with the same treatment.
 * - markDelivered() records the delivered position (checkpoint.json, written tmp + fsync + rename)
 *   and deletes segments whose records are all delivered.
 */
import { constants as fsConstants } from 'node:fs';
import { copyFile, mkdir, open, readdir, readFile, rename, stat, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { GatewayError } from '../errors/catalogue.ts';
import type { Logger } from '../observability/log.ts';
import type { OutboundRecord } from '../publishing/publisher.ts';
import { declaredRecordBytes, decodePayload, encodePayload, parseRecord, recordHeaderBytes, writeRecord } from './record-format.ts';

export interface SpoolOptions {
  readonly dir: string;
  /** Most bytes of segment files on disk; appends beyond wait, then fail with spool_full. */
  readonly maxBytes: number;
  /** A segment is closed and a new one started when the next write would pass this size. */
  readonly segmentBytes: number;
  readonly log: Logger;
  readonly events?: SpoolEvents;
  /** How often a spool that failed to write checks whether the disk is writable again; default 1 s. */
  readonly probeIntervalMs?: number;
  /** Opens segment files; tests of write-error branches wrap the real one. Default: fs.promises.open. */
  readonly openFile?: (path: string, flags: string) => Promise<FileHandle>;
}

/** Counters the spool reports to (the gateway's metrics). */
export interface SpoolEvents {
  tornRecordDiscarded?(): void;
  segmentQuarantined?(): void;
  writeError?(errno: string): void;
}

export interface SpoolStatus {
  /** False after a failed write until a write or a probe succeeds again. */
  readonly writable: boolean;
  /** The errno of the last failed write (ENOSPC, EACCES, ...) while not writable. */
  readonly lastWriteError: string | undefined;
  /** True from an append that found no space until space is freed (or an append fits again). */
  readonly full: boolean;
  readonly bytes: number;
  readonly maxBytes: number;
  /** Records appended and not yet marked delivered. */
  readonly pendingRecords: number;
  readonly segments: number;
}

export interface SpooledBatch {
  readonly records: readonly OutboundRecord[];
  readonly firstSeq: bigint;
  readonly lastSeq: bigint;
}

export interface Spool {
  /** Resolves when every record is on disk; rejects with spool_full or spool_write_failed. */
  append(records: readonly OutboundRecord[], options: { timeoutMs: number }): Promise<void>;
  /** The next durable records after the last read, in append order; undefined when there are none yet. */
  read(limits: { maxRecords: number; maxBytes: number }): Promise<SpooledBatch | undefined>;
  /** Resolves when read() has something, or when `signal` aborts. */
  waitForRecords(signal: AbortSignal): Promise<void>;
  /** Every record up to `seq` is in Kafka: checkpoint it and delete fully delivered segments. */
  markDelivered(seq: bigint): Promise<void>;
  /** Makes the next read() start again after the last delivered record (after a failed delivery). */
  rewind(): void;
  /**
   * Keeps a record Kafka refused for good (publish_refused) in quarantine/refused-<seq>.json, durably,
   * so the drain can go past it without losing it. Returns the file's path.
   */
  setAside(seq: bigint, record: OutboundRecord, reason: { code: string; detail: string }): Promise<string>;
  status(): SpoolStatus;
  /** Fails queued appends, waits for the running write, closes files. */
  close(): Promise<void>;
}

const segmentPattern = /^segment-(\d{20})\.log$/;
const checkpointFile = 'checkpoint.json';
const lockFile = 'spool.lock';
/** Lock files this process holds (a pid check cannot tell two owners in one process apart). */
const lockedHere = new Set<string>();
const quarantineDir = 'quarantine';
/** Largest single write (and read) the spool does at once. */
const maxWriteBatchBytes = 4 * 1024 * 1024;
const readChunkBytes = 1024 * 1024;
/** A fully delivered active segment is replaced by a fresh one once it is this big (or when space is needed). */
const rollDeliveredActiveBytes = 1024 * 1024;

const checkpointSchema = z.strictObject({ version: z.literal(1), deliveredThrough: z.string().regex(/^\d+$/) });

interface Segment {
  readonly firstSeq: bigint;
  readonly path: string;
  /** Durable bytes: everything below was fsynced. */
  size: number;
}

interface PendingAppend {
  readonly payloads: readonly Buffer[];
  readonly bytes: number;
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
  settled: boolean;
  timer: NodeJS.Timeout | undefined;
}

export function segmentName(firstSeq: bigint): string {
  return `segment-${firstSeq.toString().padStart(20, '0')}.log`;
}

export async function openSpool(options: SpoolOptions): Promise<Spool> {
  const { dir, log } = options;
  const openFile = options.openFile ?? ((path: string, flags: string) => open(path, flags));
  try {
    await mkdir(dir, { recursive: true });
    await takeLock(dir); // the first write: a read-only or full disk fails here
  } catch (error) {
    // A lock held by another gateway says so itself; a file-system refusal gets the code and what to do.
    if (errnoOf(error) === 'unknown') throw error;
    throw new GatewayError('spool_unusable', `(${describe(error)})`, { cause: error });
  }
  await unlink(join(dir, `${checkpointFile}.tmp`)).catch(() => undefined);

  let deliveredThrough = await readCheckpoint(dir, log);
  const segments: Segment[] = [];
  for (const name of (await readdir(dir)).filter((entry) => segmentPattern.test(entry)).sort()) {
    const path = join(dir, name);
    segments.push({ firstSeq: BigInt((segmentPattern.exec(name) as RegExpExecArray)[1] as string), path, size: (await stat(path)).size });
  }
  // Older segments whose every record was delivered before the crash.
  while (segments.length > 1 && (segments[1] as Segment).firstSeq - 1n <= deliveredThrough) {
    await unlink((segments.shift() as Segment).path);
  }

  let nextSeq = deliveredThrough + 1n;
  let activeHandle: FileHandle | undefined;
  const last = segments.at(-1);
  if (last !== undefined) {
    const recovered = await recoverLastSegment(last, options);
    nextSeq = recovered.nextSeq > nextSeq ? recovered.nextSeq : nextSeq;
    activeHandle = await openFile(last.path, 'r+');
  }
  let diskBytes = segments.reduce((sum, segment) => sum + segment.size, 0);
  log.info('spool_opened', {
    dir,
    segments: segments.length,
    bytes: diskBytes,
    deliveredThrough: deliveredThrough.toString(),
    pendingRecords: Number(nextSeq - 1n - deliveredThrough),
  });

  // ---- state
  const queue: PendingAppend[] = [];
  let flushing = false;
  let closed = false;
  let full = false;
  let writable = true;
  let lastWriteError: string | undefined;
  /** The active segment may hold bytes past its durable size (a failed write): cut them before writing. */
  let needsRepair = false;
  /** Start a new segment before the next write (after the active one was quarantined). */
  let rollRequired = false;
  let probeTimer: NodeJS.Timeout | undefined;
  const cursor = { nextSeq: deliveredThrough + 1n, segment: undefined as Segment | undefined, offset: 0 };
  let readHandle: { segment: Segment; handle: FileHandle } | undefined;
  const recordWaiters = new Set<() => void>();
  const spaceWaiters = new Set<() => void>();

  let chain: Promise<unknown> = Promise.resolve();
  /** Writes, rolls, deletions and quarantines run one at a time. */
  function exclusive<T>(task: () => Promise<T>): Promise<T> {
    const run = chain.then(task);
    chain = run.catch(() => undefined);
    return run;
  }

  function activeSegment(): Segment | undefined {
    return activeHandle === undefined ? undefined : segments.at(-1);
  }

  function lastSeqOf(index: number): bigint {
    const following = segments[index + 1];
    return following === undefined ? nextSeq - 1n : following.firstSeq - 1n;
  }

  function wake(waiters: Set<() => void>): void {
    for (const waiter of [...waiters]) waiter();
    waiters.clear();
  }

  // ---- writing

  function append(records: readonly OutboundRecord[], { timeoutMs }: { timeoutMs: number }): Promise<void> {
    if (records.length === 0) return Promise.resolve();
    if (closed) return Promise.reject(new GatewayError('spool_write_failed', 'The spool is closed (the gateway is stopping).'));
    const payloads = records.map(encodePayload);
    const bytes = payloads.reduce((sum, payload) => sum + recordHeaderBytes + payload.length, 0);
    if (bytes > options.maxBytes) {
      return Promise.reject(new GatewayError('spool_full', `The message needs ${bytes} bytes, more than delivery.spool.maxBytes (${options.maxBytes}).`));
    }
    return new Promise<void>((resolve, reject) => {
      const pending: PendingAppend = { payloads, bytes, resolve, reject, settled: false, timer: undefined };
      pending.timer = setTimeout(() => {
        settle(
          pending,
          full
            ? new GatewayError('spool_full', `No space in the spool within ${timeoutMs} ms (${diskBytes} of ${options.maxBytes} bytes used).`)
            : new GatewayError('spool_write_failed', `The records were not on disk within ${timeoutMs} ms.`),
        );
      }, timeoutMs);
      queue.push(pending);
      void runWriter();
    });
  }

  function settle(pending: PendingAppend, error?: Error): void {
    if (pending.settled) return;
    pending.settled = true;
    clearTimeout(pending.timer);
    if (error === undefined) pending.resolve();
    else pending.reject(error);
  }

  async function runWriter(): Promise<void> {
    if (flushing) return;
    flushing = true;
    try {
      while (!closed) {
        // Appends that timed out while queued are gone; nothing was written for them.
        while (queue.length > 0 && (queue[0] as PendingAppend).settled) queue.shift();
        if (queue.length === 0) break;
        let batch = takeBatch();
        if (batch.length === 0) {
          await exclusive(() => reclaim({ needSpace: true }));
          batch = takeBatch();
        }
        if (batch.length === 0) {
          full = true;
          await waitForSpace(250);
          continue;
        }
        full = false;
        await exclusive(() => writeBatch(batch)).then(
          () => {
            for (const pending of batch) settle(pending);
          },
          (error: unknown) => {
            for (const pending of batch) settle(pending, asWriteFailure(error));
          },
        );
      }
    } finally {
      flushing = false;
    }
  }

  /** The queued appends (in order) that fit in the free space and in one write. */
  function takeBatch(): PendingAppend[] {
    const batch: PendingAppend[] = [];
    let bytes = 0;
    while (queue.length > 0) {
      const next = queue[0] as PendingAppend;
      if (next.settled) {
        queue.shift();
        continue;
      }
      if (diskBytes + bytes + next.bytes > options.maxBytes) break;
      if (batch.length > 0 && bytes + next.bytes > maxWriteBatchBytes) break;
      batch.push(next);
      bytes += next.bytes;
      queue.shift();
    }
    return batch;
  }

  function waitForSpace(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        spaceWaiters.delete(done);
        resolve();
      }
      spaceWaiters.add(done);
    });
  }

  async function writeBatch(batch: readonly PendingAppend[]): Promise<void> {
    const live = batch.filter((pending) => !pending.settled);
    if (live.length === 0) return;
    const bytes = live.reduce((sum, pending) => sum + pending.bytes, 0);
    try {
      await repair();
      let segment = activeSegment();
      if (segment === undefined || rollRequired || (segment.size > 0 && segment.size + bytes > options.segmentBytes)) {
        segment = await roll();
      }
      const buffer = Buffer.allocUnsafe(bytes);
      let offset = 0;
      let seq = nextSeq;
      for (const pending of live) {
        for (const payload of pending.payloads) {
          offset += writeRecord(buffer, offset, seq, payload);
          seq += 1n;
        }
      }
      const handle = activeHandle as FileHandle;
      needsRepair = true;
      let written = 0;
      while (written < buffer.length) {
        const { bytesWritten } = await handle.write(buffer, written, buffer.length - written, segment.size + written);
        written += bytesWritten;
      }
      await handle.datasync();
      needsRepair = false;
      segment.size += buffer.length;
      diskBytes += buffer.length;
      nextSeq = seq;
      if (!writable) log.info('spool_writable_again', { dir });
      writable = true;
      lastWriteError = undefined;
      wake(recordWaiters);
    } catch (error) {
      onWriteError(error);
      // Cut what the failed write left at once; if that fails too, the next write tries first.
      await repair().catch(() => undefined);
      throw error;
    }
  }

  function onWriteError(error: unknown): void {
    const errno = errnoOf(error);
    options.events?.writeError?.(errno);
    if (writable) log.error('spool_write_failed', { code: 'spool_write_failed', errno, dir, detail: describe(error) });
    writable = false;
    lastWriteError = errno;
    startProbe();
  }

  /** Cuts bytes a failed write may have left past the durable size. */
  async function repair(): Promise<void> {
    const segment = activeSegment();
    if (!needsRepair || segment === undefined || activeHandle === undefined) return;
    try {
      await activeHandle.truncate(segment.size);
      await activeHandle.datasync();
    } catch {
      // The handle itself may be broken (EIO): reopen the file and try once more.
      await activeHandle.close().catch(() => undefined);
      activeHandle = undefined;
      const handle = await openFile(segment.path, 'r+');
      activeHandle = handle;
      await handle.truncate(segment.size);
      await handle.datasync();
    }
    needsRepair = false;
  }

  async function roll(): Promise<Segment> {
    const previous = activeSegment();
    if (activeHandle !== undefined) {
      await activeHandle.close().catch(() => undefined);
      activeHandle = undefined;
    }
    const last = segments.at(-1);
    if (previous !== undefined && previous.size === 0 && previous.firstSeq === nextSeq && !rollRequired) {
      // An empty segment that already starts at the next record: keep using it.
      activeHandle = await openFile(previous.path, 'r+');
      return previous;
    }
    const segment: Segment = { firstSeq: nextSeq, path: join(dir, segmentName(nextSeq)), size: 0 };
    if (last !== undefined && last.firstSeq === segment.firstSeq) {
      // A leftover empty file with this name (e.g. the quarantined active segment, truncated to 0).
      segments.pop();
      diskBytes -= last.size;
    }
    const handle = await openFile(segment.path, 'w');
    try {
      await syncDirectory(dir);
    } catch (error) {
      await handle.close().catch(() => undefined);
      await unlink(segment.path).catch(() => undefined);
      throw error;
    }
    activeHandle = handle;
    segments.push(segment);
    rollRequired = false;
    return segment;
  }

  function startProbe(): void {
    if (probeTimer !== undefined || closed) return;
    probeTimer = setInterval(() => {
      if (writable || closed) {
        clearInterval(probeTimer);
        probeTimer = undefined;
        return;
      }
      void exclusive(async () => {
        if (writable) return;
        await repair();
        const probePath = join(dir, '.write-probe');
        const handle = await openFile(probePath, 'w');
        try {
          await handle.write(Buffer.alloc(4096));
          await handle.datasync();
        } finally {
          await handle.close();
          await unlink(probePath).catch(() => undefined);
        }
        log.info('spool_writable_again', { dir, via: 'probe' });
        writable = true;
        lastWriteError = undefined;
      }).catch(() => undefined);
    }, options.probeIntervalMs ?? 1_000);
    probeTimer.unref();
  }

  // ---- delivery bookkeeping

  async function markDelivered(seq: bigint): Promise<void> {
    // After close, a late delivery is simply not checkpointed: it is re-sent after the restart.
    if (closed || seq <= deliveredThrough) return;
    deliveredThrough = seq;
    // Deleting delivered segments needs no checkpoint first: what is gone was delivered. So space is
    // freed even when the disk is too full to write the checkpoint.
    await exclusive(() => reclaim({ needSpace: false }));
    await writeCheckpoint(dir, deliveredThrough);
  }

  /** Deletes segments whose records are all delivered; the active one too when it is worth it. */
  async function reclaim({ needSpace }: { needSpace: boolean }): Promise<void> {
    let freed = false;
    while (segments.length > 1 && lastSeqOf(0) <= deliveredThrough) {
      const segment = segments.shift() as Segment;
      await dropSegmentFile(segment);
      freed = true;
    }
    const active = activeSegment();
    if (
      active !== undefined &&
      segments.length === 1 &&
      active.size > 0 &&
      nextSeq - 1n <= deliveredThrough &&
      (needSpace || active.size >= Math.min(options.segmentBytes, rollDeliveredActiveBytes))
    ) {
      await (activeHandle as FileHandle).close().catch(() => undefined);
      activeHandle = undefined;
      segments.pop();
      await dropSegmentFile(active);
      freed = true;
    }
    if (freed) {
      full = false;
      wake(spaceWaiters);
    }
  }

  async function dropSegmentFile(segment: Segment): Promise<void> {
    if (readHandle?.segment === segment) {
      await readHandle.handle.close().catch(() => undefined);
      readHandle = undefined;
    }
    await unlink(segment.path).catch((error: unknown) => {
      if (errnoOf(error) !== 'ENOENT') throw error;
    });
    diskBytes -= segment.size;
  }

  // ---- reading

  function locateCursor(): Segment | undefined {
    if (cursor.segment !== undefined && segments.includes(cursor.segment)) return cursor.segment;
    // The last segment starting at or before the next record to read (or the first one after it).
    let found: Segment | undefined;
    for (const segment of segments) if (segment.firstSeq <= cursor.nextSeq) found = segment;
    found ??= segments.find((segment) => segment.firstSeq > cursor.nextSeq);
    cursor.segment = found;
    cursor.offset = 0;
    return found;
  }

  async function readAt(segment: Segment, position: number, length: number): Promise<Buffer> {
    if (readHandle?.segment !== segment) {
      await readHandle?.handle.close().catch(() => undefined);
      readHandle = { segment, handle: await open(segment.path, fsConstants.O_RDONLY) };
    }
    const buffer = Buffer.allocUnsafe(length);
    let filled = 0;
    while (filled < length) {
      const { bytesRead } = await readHandle.handle.read(buffer, filled, length - filled, position + filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    return buffer.subarray(0, filled);
  }

  async function read(limits: { maxRecords: number; maxBytes: number }): Promise<SpooledBatch | undefined> {
    const records: OutboundRecord[] = [];
    let firstSeq: bigint | undefined;
    let lastSeq = 0n;
    let bytes = 0;
    while (records.length < limits.maxRecords && bytes < limits.maxBytes) {
      const segment = locateCursor();
      if (segment === undefined) break;
      if (cursor.offset >= segment.size) {
        const index = segments.indexOf(segment);
        const following = segments[index + 1];
        if (following === undefined) break;
        cursor.segment = following;
        cursor.offset = 0;
        continue;
      }
      const available = segment.size - cursor.offset;
      let chunk = await readAt(segment, cursor.offset, Math.min(available, Math.max(readChunkBytes, limits.maxBytes - bytes)));
      const declared = declaredRecordBytes(chunk, 0);
      if (declared !== undefined && declared > chunk.length && declared <= available) {
        chunk = await readAt(segment, cursor.offset, declared);
      }
      let position = 0;
      let progressed = false;
      while (position < chunk.length && records.length < limits.maxRecords && (bytes < limits.maxBytes || records.length === 0)) {
        const parsed = parseRecord(chunk, position);
        if (parsed.kind === 'incomplete') break;
        const record = parsed.kind === 'record' ? decodePayload(parsed.payload) : undefined;
        if (parsed.kind === 'corrupt' || record === undefined) {
          const reason = parsed.kind === 'corrupt' ? parsed.reason : 'payload is not a spooled record';
          if (records.length > 0) {
            // Deliver what came before; the next read meets the bad record first and quarantines it.
            cursor.offset += position;
            return { records, firstSeq: firstSeq as bigint, lastSeq };
          }
          await exclusive(() => quarantine(segment, cursor.offset + position, reason));
          progressed = true;
          break;
        }
        position += parsed.bytes;
        progressed = true;
        if (parsed.seq < cursor.nextSeq) continue; // delivered before a restart
        records.push(record);
        firstSeq ??= parsed.seq;
        lastSeq = parsed.seq;
        bytes += parsed.bytes;
        cursor.nextSeq = parsed.seq + 1n;
      }
      if (cursor.segment === segment) cursor.offset += position;
      if (!progressed) {
        // Durable bytes that do not hold a whole record: corruption of the size field.
        await exclusive(() => quarantine(segment, cursor.offset, 'record extends past the durable end of the segment'));
      }
    }
    return records.length === 0 ? undefined : { records, firstSeq: firstSeq as bigint, lastSeq };
  }

  /** Acknowledged records from `offset` on are unreadable: keep a copy, cut them off, report, skip them. */
  async function quarantine(segment: Segment, offset: number, reason: string): Promise<void> {
    if (!segments.includes(segment) || offset >= segment.size) return;
    const index = segments.indexOf(segment);
    const lostThrough = lastSeqOf(index);
    const lostRecords = lostThrough >= cursor.nextSeq ? Number(lostThrough - cursor.nextSeq + 1n) : 0;
    const copy = await quarantineCopy(dir, segment.path);
    const isActive = segment === activeSegment();
    if (isActive) {
      await repair().catch(() => undefined);
      await (activeHandle as FileHandle).truncate(offset);
      await (activeHandle as FileHandle).datasync();
      rollRequired = true;
    } else {
      await truncateDurably(segment.path, offset);
    }
    diskBytes -= segment.size - offset;
    segment.size = offset;
    options.events?.segmentQuarantined?.();
    log.error('spool_segment_corrupt', {
      code: 'spool_segment_corrupt',
      segment: segment.path,
      offset,
      reason,
      quarantinedCopy: copy,
      lostRecordsAtMost: lostRecords,
    });
    // Skip what was lost: continue with the next segment (or the next record appended).
    cursor.nextSeq = lostThrough + 1n;
    cursor.segment = segments[index + 1];
    cursor.offset = 0;
  }

  function waitForRecords(signal: AbortSignal): Promise<void> {
    if (nextSeq > cursor.nextSeq || signal.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        signal.removeEventListener('abort', done);
        recordWaiters.delete(done);
        resolve();
      };
      recordWaiters.add(done);
      signal.addEventListener('abort', done, { once: true });
    });
  }

  return {
    append,
    read,
    waitForRecords,
    markDelivered,
    async setAside(seq, record, reason) {
      const target = join(dir, quarantineDir);
      await mkdir(target, { recursive: true });
      const name = `refused-${seq.toString().padStart(20, '0')}.json`;
      const refused = { version: 1, seq: seq.toString(), refusedAt: new Date().toISOString(), reason, record };
      await writeDurably(target, name, `${JSON.stringify(refused)}\n`);
      return join(target, name);
    },
    rewind() {
      cursor.nextSeq = deliveredThrough + 1n;
      cursor.segment = undefined;
      cursor.offset = 0;
    },
    status: () => ({
      writable,
      lastWriteError,
      full,
      bytes: diskBytes,
      maxBytes: options.maxBytes,
      pendingRecords: nextSeq - 1n > deliveredThrough ? Number(nextSeq - 1n - deliveredThrough) : 0,
      segments: segments.length,
    }),
    async close() {
      closed = true;
      if (probeTimer !== undefined) clearInterval(probeTimer);
      for (const pending of queue.splice(0)) {
        settle(pending, new GatewayError('spool_write_failed', 'The spool is closed (the gateway is stopping).'));
      }
      wake(spaceWaiters);
      wake(recordWaiters);
      await exclusive(async () => {
        await activeHandle?.close().catch(() => undefined);
        activeHandle = undefined;
        await readHandle?.handle.close().catch(() => undefined);
        readHandle = undefined;
        await unlink(join(dir, lockFile)).catch(() => undefined);
        lockedHere.delete(join(dir, lockFile));
      });
    },
  };
}

/**
 * One gateway per spool dir: two writers would interleave records and corrupt both. The lock file
 * holds the owner's pid; one left by a process that no longer runs (a crash) is taken over.
 */
async function takeLock(dir: string): Promise<void> {
  const path = join(dir, lockFile);
  if (lockedHere.has(path)) throw new Error(`the spool directory ${dir} is already open in this process; each gateway needs its own delivery.spool.dir`);
  for (let attempt = 0; attempt < 2; attempt += 1) {
    try {
      const handle = await open(path, 'wx');
      try {
        await handle.writeFile(`${process.pid}\n`);
        await handle.datasync();
      } finally {
        await handle.close();
      }
      lockedHere.add(path);
      return;
    } catch (error) {
      if (errnoOf(error) !== 'EEXIST') throw error;
    }
    const owner = Number.parseInt(await readFile(path, 'utf8').catch(() => ''), 10);
    if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && processRuns(owner)) {
      throw new Error(
        `the spool directory ${dir} is in use by process ${owner} (${path}); each gateway needs its own delivery.spool.dir`,
      );
    }
    // Left behind by a process that is gone (or by this pid in an earlier life, e.g. pid 1 in a container).
    await unlink(path).catch(() => undefined);
  }
  throw new Error(`could not take the spool lock ${path}`);
}

function processRuns(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return errnoOf(error) === 'EPERM';
  }
}

/** Scans the last segment after a crash: truncates a torn tail, quarantines corruption before it. */
async function recoverLastSegment(segment: Segment, options: SpoolOptions): Promise<{ nextSeq: bigint }> {
  const bytes = await readFile(segment.path);
  /** Byte ranges of intact records to keep, in order. */
  const kept: [number, number][] = [];
  let rangeStart = 0;
  let offset = 0;
  let nextSeq = segment.firstSeq;
  let damaged = false;
  while (offset < bytes.length) {
    const parsed = parseRecord(bytes, offset);
    if (parsed.kind === 'record' && decodePayload(parsed.payload) !== undefined) {
      nextSeq = parsed.seq + 1n;
      offset += parsed.bytes;
      continue;
    }
    // Torn means nothing valid follows. A damaged length field can make a record in the middle look
    // like it runs to the end of the file, so look for an intact later record before calling it torn.
    const resume = findIntactRecord(bytes, offset + 1, nextSeq);
    if (resume === undefined) {
      options.events?.tornRecordDiscarded?.();
      options.log.warn('spool_torn_record_discarded', {
        code: 'spool_torn_record_discarded',
        segment: segment.path,
        offset,
        bytes: bytes.length - offset,
      });
      break;
    }
    // Damage to acknowledged data: keep what is intact on both sides, report what is skipped.
    damaged = true;
    options.events?.segmentQuarantined?.();
    options.log.error('spool_segment_corrupt', {
      code: 'spool_segment_corrupt',
      segment: segment.path,
      offset,
      reason: parsed.kind === 'corrupt' ? parsed.reason : 'payload is not a spooled record',
      skippedBytes: resume - offset,
      lostRecords: Number(bytes.readBigUInt64BE(resume + 8) - nextSeq),
    });
    kept.push([rangeStart, offset]);
    rangeStart = resume;
    offset = resume;
  }
  kept.push([rangeStart, offset]);
  const size = kept.reduce((sum, [from, to]) => sum + (to - from), 0);
  if (damaged) {
    const copy = await quarantineCopy(options.dir, segment.path);
    options.log.error('spool_segment_quarantined', { code: 'spool_segment_corrupt', segment: segment.path, quarantinedCopy: copy });
    // Rewrite the segment with the intact records only: tmp file, fsync, rename, directory fsync.
    const temporary = `${segment.path}.rewrite`;
    const handle = await open(temporary, 'w');
    try {
      await handle.writeFile(Buffer.concat(kept.map(([from, to]) => bytes.subarray(from, to))));
      await handle.datasync();
    } finally {
      await handle.close();
    }
    await rename(temporary, segment.path);
    await syncDirectory(options.dir);
  } else if (size < bytes.length) {
    await truncateDurably(segment.path, size);
  }
  segment.size = size;
  return { nextSeq };
}

/**
 * The offset of the first intact record at or after `from` whose sequence number could follow
 * `expectedSeq` (checksum verified), or undefined. Byte by byte: only run when a record was bad.
 */
function findIntactRecord(bytes: Buffer, from: number, expectedSeq: bigint): number | undefined {
  const highestSeq = expectedSeq + 1_000_000n;
  for (let offset = from; offset + recordHeaderBytes <= bytes.length; offset += 1) {
    const seq = bytes.readBigUInt64BE(offset + 8);
    if (seq < expectedSeq || seq > highestSeq) continue;
    if (parseRecord(bytes, offset).kind === 'record') return offset;
  }
  return undefined;
}

async function quarantineCopy(dir: string, path: string): Promise<string> {
  const target = join(dir, quarantineDir);
  await mkdir(target, { recursive: true });
  const copy = join(target, `${path.split('/').at(-1) as string}.${new Date().toISOString().replaceAll(':', '-')}`);
  await copyFile(path, copy);
  return copy;
}

async function readCheckpoint(dir: string, log: Logger): Promise<bigint> {
  let text: string;
  try {
    text = await readFile(join(dir, checkpointFile), 'utf8');
  } catch (error) {
    if (errnoOf(error) === 'ENOENT') return 0n;
    throw error;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  const result = checkpointSchema.safeParse(parsed);
  if (!result.success) {
    // Written atomically, so this is outside damage. Starting over re-sends records (duplicates
    // with identical ids), which loses nothing.
    log.error('spool_checkpoint_unreadable', { code: 'spool_checkpoint_unreadable', dir });
    return 0n;
  }
  return BigInt(result.data.deliveredThrough);
}

function writeCheckpoint(dir: string, deliveredThrough: bigint): Promise<void> {
  return writeDurably(dir, checkpointFile, `${JSON.stringify({ version: 1, deliveredThrough: deliveredThrough.toString() })}\n`);
}

/** Cuts a closed segment file to `size` bytes, durably. */
async function truncateDurably(path: string, size: number): Promise<void> {
  const handle = await open(path, 'r+');
  try {
    await handle.truncate(size);
    await handle.datasync();
  } finally {
    await handle.close();
  }
}

/** Whole or not at all, and durable once it resolves: a temporary file, fsync, rename, fsync of the directory. */
async function writeDurably(dir: string, name: string, text: string): Promise<void> {
  const path = join(dir, name);
  const temporary = `${path}.tmp`;
  const handle = await open(temporary, 'w');
  try {
    await handle.writeFile(text);
    await handle.datasync();
  } finally {
    await handle.close();
  }
  await rename(temporary, path);
  await syncDirectory(dir);
}

/** fsync of the directory makes a created, renamed or deleted entry itself durable. */
async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, fsConstants.O_RDONLY | fsConstants.O_DIRECTORY);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

function asWriteFailure(error: unknown): GatewayError {
  if (error instanceof GatewayError) return error;
  return new GatewayError('spool_write_failed', `${errnoOf(error)}: ${describe(error)}`, { cause: error });
}

export function errnoOf(error: unknown): string {
  if (typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string') return error.code;
  return 'unknown';
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
