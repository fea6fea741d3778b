/**
 * The real gateway as a CHILD PROCESS (`node bin/vitalbridge.js start --config <file>`), for fault
 * tests that must kill it (SIGKILL), stop it (SIGTERM) and start it again on the same config, ports
 * and topics, and read its memory from /proc. Each lifetime logs to a file of its own; logs() reads
 * them all. Optionally runs it in a mount namespace of its own with a small tmpfs (`unshare -m`, as
 * root), so a test can fill that file system through /proc/<pid>/root and free it again.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { devicesSchema } from '../../src/http/routes.ts';
import { freePort } from '../../src/transports/free-port.ts';
import { gatewayTopicNames } from './topics.ts';

const bin = new URL('../../bin/vitalbridge.js', import.meta.url).pathname;
const repoRoot = new URL('../../', import.meta.url).pathname;

export interface ChildGatewayTopics {
  readonly observation: string;
  readonly device: string;
  readonly deadLetter: string;
  readonly events: string;
}

export interface ChildGatewayOptions {
  readonly brokers: readonly string[];
  /** Names the work dir and the topics. */
  readonly name: string;
  /** Merged over the generated config (kafka.topics, ports and brokers are set by the harness). */
  readonly config?: Record<string, unknown>;
  /** Extra environment (e.g. DELIVERY_ACK); the harness sets KAFKA_BROKERS, MLLP_PORT, HTTP_PORT, LOG_LEVEL. */
  readonly env?: Record<string, string>;
  readonly logLevel?: 'debug' | 'info' | 'warn' | 'error';
  /**
   * Run in a private mount namespace (`unshare --mount`, needs root) with a tmpfs of this size
   * mounted at `path` (made if missing). Only this process sees it; the test reaches it through
   * pathInside(). A restart mounts a fresh, empty tmpfs.
   */
  readonly tmpfs?: { readonly path: string; readonly sizeBytes: number };
  /** How long start() waits for /readyz; default 90 s (a loaded 2-core machine). */
  readonly readyTimeoutMs?: number;
  /** The CLI script to run; default bin/vitalbridge.js (e.g. a compiled build's src/cli/main.js). */
  readonly entry?: string;
  /** Flags for node itself, before the script (e.g. the image's gatewayNodeFlags). */
  readonly nodeFlags?: readonly string[];
}

export interface Lifetime {
  readonly index: number;
  readonly pid: number;
  readonly logFile: string;
  readonly startedAt: number;
  readyAt: number | undefined;
  endedAt: number | undefined;
  /** How it ended: 'SIGKILL', 'SIGTERM' (then exitCode), or a crash. */
  end: { code: number | null; signal: NodeJS.Signals | null; by: 'SIGKILL' | 'SIGTERM' | 'crash' } | undefined;
}

export interface ChildGateway {
  readonly name: string;
  readonly dir: string;
  readonly configFile: string;
  readonly topics: ChildGatewayTopics;
  readonly mllpPort: number;
  readonly httpPort: number;
  /** The running process's pid; undefined between lifetimes. */
  readonly pid: number | undefined;
  readonly lifetimes: readonly Lifetime[];
  /** Spawns the gateway and waits until GET /readyz answers 200. */
  start(): Promise<Lifetime>;
  /** Polls /readyz until 200 or the deadline; throws with the log tail if the process died. */
  waitReady(timeoutMs?: number): Promise<void>;
  /** SIGKILL and wait for the exit: no shutdown code runs. */
  kill(): Promise<void>;
  /** SIGTERM (graceful shutdown), SIGKILL after graceMs; resolves with how it ended. */
  stop(graceMs?: number): Promise<NonNullable<Lifetime['end']>>;
  /** kill() if running, then start() on the same config, ports and topics. */
  restart(): Promise<Lifetime>;
  /** All lifetimes' logs, in order. */
  logs(): string;
  /** Every JSON log line of every lifetime, with the lifetime it came from. */
  logEvents(): LogEvent[];
  /** Resident set size of the running process in kB (VmRSS in /proc/<pid>/status). */
  rssKb(): number;
  /** GET a path on the HTTP API (JSON). */
  getJson<T = unknown>(path: string): Promise<{ status: number; body: T }>;
  /** GET /metrics, parsed. */
  metrics(): Promise<PrometheusSamples>;
  /** GET /readyz: its status code and body (the spool's state with delivery.ack: spool). */
  readiness(): Promise<Readiness>;
  /** GET /api/devices, parsed with the API's own schema. */
  devices(): Promise<z.infer<typeof devicesSchema>['devices']>;
  /** A path as the gateway process sees it (its own mount namespace): /proc/<pid>/root/<path>. */
  pathInside(path: string): string;
  /** Stops the process if running (SIGKILL) and removes the work dir. */
  dispose(): Promise<void>;
}

export interface LogEvent {
  readonly lifetime: number;
  readonly time: string;
  readonly level: string;
  readonly event: string;
  readonly [field: string]: unknown;
}

const readinessSchema = z.object({
  status: z.string(),
  checks: z.object({ mllp: z.string(), kafka: z.string(), spool: z.string().optional() }),
  spool: z.object({ bytes: z.number(), maxBytes: z.number(), pendingRecords: z.number(), segments: z.number(), lastWriteError: z.string().optional() }).optional(),
});

export type Readiness = z.infer<typeof readinessSchema> & { readonly httpStatus: number };

const logLineSchema = z.object({ time: z.string(), level: z.string(), event: z.string() }).passthrough();

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/**
 * A shell that waits on a pipe only this process holds and SIGKILLs `pid` (a process group when
 * negative) when the pipe closes: the child never outlives the test worker, however it dies
 * ('exit' handlers do not run when vitest ends a worker or on a crash). Returns a cancel function.
 */
export function killWhenWeDie(pid: number): () => void {
  const watchdog = spawn('/bin/sh', ['-c', `read _ignored; kill -9 ${pid} 2>/dev/null`], { stdio: ['pipe', 'ignore', 'ignore'] });
  watchdog.on('error', () => undefined);
  watchdog.unref();
  const stdin = watchdog.stdin as (NodeJS.WritableStream & { unref?: () => void }) | null;
  stdin?.on('error', () => undefined);
  stdin?.unref?.();
  return () => watchdog.kill('SIGKILL');
}


/** Fails (never skips) with what is missing when the mount-namespace mechanism cannot work here. */
export function assertMountNamespaceAvailable(): void {
  if (process.getuid?.() !== 0) {
    throw new Error('the disk-full test needs root to mount a tmpfs in a private mount namespace (unshare --mount); run the suite as root (CI does)');
  }
  const probe = spawnSync('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', 'mount -t tmpfs -o size=64k tmpfs /mnt && umount /mnt'], { encoding: 'utf8' });
  if (probe.error !== undefined) throw new Error(`\`unshare\` (util-linux) is missing: ${probe.error.message}; apt-get install util-linux mount`);
  if (probe.status !== 0) {
    throw new Error(`cannot mount a tmpfs in a private mount namespace (unshare --mount; a container without CAP_SYS_ADMIN?): exit ${probe.status}: ${probe.stderr.trim()}`);
  }
}

export async function createChildGateway(options: ChildGatewayOptions): Promise<ChildGateway> {
  const suffix = `${options.name}.${randomUUID().slice(0, 8)}`;
  const topics: ChildGatewayTopics = gatewayTopicNames(`faults.${suffix}`);
  const dir = await mkdtemp(join(tmpdir(), `vb-child-${options.name}-`));
  const mllpPort = await freePort();
  let httpPort = await freePort();
  while (httpPort === mllpPort) httpPort = await freePort();
  const extra = options.config ?? {};
  const config = {
    ...extra,
    mllp: { host: '127.0.0.1', idleTimeoutSeconds: 3600, ...(extra.mllp as object | undefined) },
    http: { host: '127.0.0.1', ...(extra.http as object | undefined) },
    kafka: { topicPartitions: 1, ...(extra.kafka as object | undefined), brokers: [...options.brokers], topics },
  };
  const configFile = join(dir, 'gateway.json');
  await writeFile(configFile, `${JSON.stringify(config, null, 2)}\n`);
  if (options.tmpfs !== undefined) await mkdir(options.tmpfs.path, { recursive: true });

  const lifetimes: Lifetime[] = [];
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  let endingBy: 'SIGKILL' | 'SIGTERM' | undefined;

  function spawnChild(logFile: string): ChildProcess {
    const env = {
      ...process.env,
      ...options.env,
      KAFKA_BROKERS: options.brokers.join(','),
      MLLP_HOST: '127.0.0.1',
      MLLP_PORT: String(mllpPort),
      HTTP_HOST: '127.0.0.1',
      HTTP_PORT: String(httpPort),
      LOG_LEVEL: options.logLevel ?? 'info',
    };
    const gatewayArgs = [...(options.nodeFlags ?? []), options.entry ?? bin, 'start', '--config', configFile];
    const logFd = openSync(logFile, 'a');
    try {
      if (options.tmpfs === undefined) {
        return spawn(process.execPath, gatewayArgs, { cwd: repoRoot, env, stdio: ['ignore', logFd, logFd] });
      }
      // unshare and sh exec in place, so the pid we get is the gateway's own.
      const { path, sizeBytes } = options.tmpfs;
      const script = 'mount -t tmpfs -o "size=$1" tmpfs "$2" || exit 97; shift 2; exec "$@"';
      return spawn('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', script, 'sh', String(sizeBytes), path, process.execPath, ...gatewayArgs], {
        cwd: repoRoot,
        env,
        stdio: ['ignore', logFd, logFd],
      });
    } finally {
      closeSync(logFd);
    }
  }

  function logTail(lines = 40): string {
    const last = lifetimes.at(-1);
    if (last === undefined) return '(not started)';
    try {
      return readFileSync(last.logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return '(no log)';
    }
  }

  async function getJson<T>(path: string): Promise<{ status: number; body: T }> {
    const response = await fetch(`http://127.0.0.1:${httpPort}${path}`, { signal: AbortSignal.timeout(10_000) });
    const text = await response.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // not JSON: the caller gets the text
    }
    return { status: response.status, body: body as T };
  }

  const handle: ChildGateway = {
    name: options.name,
    dir,
    configFile,
    topics,
    mllpPort,
    httpPort,
    get pid() {
      return child?.pid;
    },
    lifetimes,

    async start() {
      if (child !== undefined) throw new Error(`gateway ${options.name} is already running (pid ${child.pid})`);
      const index = lifetimes.length;
      const logFile = join(dir, `gateway-${index}.log`);
      const spawned = spawnChild(logFile);
      const pid = spawned.pid;
      if (pid === undefined) {
        const error = await new Promise<Error>((resolve) => spawned.once('error', resolve));
        throw new Error(`could not start the gateway process (${options.tmpfs ? 'unshare' : process.execPath}): ${error.message}`);
      }
      spawned.on('error', () => undefined);
      const cancelWatchdog = killWhenWeDie(pid);
      const lifetime: Lifetime = { index, pid, logFile, startedAt: Date.now(), readyAt: undefined, endedAt: undefined, end: undefined };
      lifetimes.push(lifetime);
      child = spawned;
      running.add(spawned);
      endingBy = undefined;
      exited = new Promise<void>((resolve) => {
        spawned.once('exit', (code, signal) => {
          running.delete(spawned);
          cancelWatchdog();
          lifetime.endedAt = Date.now();
          lifetime.end = { code, signal, by: endingBy ?? 'crash' };
          if (child === spawned) child = undefined;
          resolve();
        });
      });
      try {
        await handle.waitReady(options.readyTimeoutMs ?? 90_000);
      } catch (error) {
        // A gateway that never got ready must not keep running (and holding its ports) behind the failure.
        await handle.kill();
        throw error;
      }
      lifetime.readyAt = Date.now();
      return lifetime;
    },

    async waitReady(timeoutMs = 90_000) {
      const deadline = Date.now() + timeoutMs;
      let last = 'no answer yet';
      for (;;) {
        const current = child;
        if (current === undefined) throw new Error(`gateway ${options.name} exited while waiting for /readyz (last: ${last}); log tail:\n${logTail()}`);
        try {
          const response = await fetch(`http://127.0.0.1:${httpPort}/readyz`, { signal: AbortSignal.timeout(2_000) });
          if (response.status === 200) return;
          last = `${response.status} ${await response.text()}`;
        } catch (error) {
          last = error instanceof Error ? error.message : String(error);
        }
        if (Date.now() > deadline) throw new Error(`gateway ${options.name} not ready within ${timeoutMs} ms (last: ${last}); log tail:\n${logTail()}`);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    },

    async kill() {
      const current = child;
      if (current === undefined) return;
      endingBy = 'SIGKILL';
      current.kill('SIGKILL');
      await exited;
    },

    async stop(graceMs = 20_000) {
      const current = child;
      const lifetime = lifetimes.at(-1);
      if (current === undefined || lifetime === undefined) throw new Error(`gateway ${options.name} is not running`);
      endingBy = 'SIGTERM';
      current.kill('SIGTERM');
      const escalation = setTimeout(() => current.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(escalation);
      return lifetime.end as NonNullable<Lifetime['end']>;
    },

    async restart() {
      await handle.kill();
      return handle.start();
    },

    logs() {
      return lifetimes.map((lifetime) => readFileSync(lifetime.logFile, 'utf8')).join('');
    },

    logEvents() {
      const events: LogEvent[] = [];
      for (const lifetime of lifetimes) {
        for (const line of readFileSync(lifetime.logFile, 'utf8').split('\n')) {
          if (!line.startsWith('{')) continue;
          let parsed: unknown;
          try {
            parsed = JSON.parse(line);
          } catch {
            continue; // a line cut by SIGKILL
          }
          const event = logLineSchema.safeParse(parsed);
          if (event.success) events.push({ ...event.data, lifetime: lifetime.index });
        }
      }
      return events;
    },

    rssKb() {
      const pid = child?.pid;
      if (pid === undefined) throw new Error(`gateway ${options.name} is not running`);
      const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      if (match === null) throw new Error(`no VmRSS in /proc/${pid}/status`);
      return Number(match[1]);
    },

    getJson,

    async metrics() {
      const response = await fetch(`http://127.0.0.1:${httpPort}/metrics`, { signal: AbortSignal.timeout(10_000) });
      return parsePrometheus(await response.text());
    },

    async readiness() {
      const { status, body } = await getJson('/readyz');
      return { ...readinessSchema.parse(body), httpStatus: status };
    },

    async devices() {
      const { status, body } = await getJson('/api/devices');
      if (status !== 200) throw new Error(`GET /api/devices answered ${status}`);
      return devicesSchema.parse(body).devices;
    },

    pathInside(path) {
      const pid = child?.pid;
      if (pid === undefined) throw new Error(`gateway ${options.name} is not running`);
      return join(`/proc/${pid}/root`, path);
    },

    async dispose() {
      await handle.kill();
      // KEEP_GATEWAY_LOGS=1 keeps the work dir and its gateway-<lifetime>.log files, to read after a failure.
      if (process.env.KEEP_GATEWAY_LOGS === '1') console.log(`[child-gateway] ${options.name}: logs kept in ${dir}`);
      else await rm(dir, { recursive: true, force: true });
    },
  };
  return handle;
}

export interface PrometheusSample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

export interface PrometheusSamples {
  readonly samples: readonly PrometheusSample[];
  /** Sum of the samples of `name` whose labels include `labels`; 0 when there is none. */
  sum(name: string, labels?: Record<string, string>): number;
}

export function parsePrometheus(text: string): PrometheusSamples {
  const samples: PrometheusSample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (match === null) continue;
    const labels: Record<string, string> = {};
    for (const pair of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[pair[1] as string] = pair[2] as string;
    samples.push({ name: match[1] as string, labels, value: Number(match[3]) });
  }
  return {
    samples,
    sum(name, wanted = {}) {
      return samples
        .filter((sample) => sample.name === name && Object.entries(wanted).every(([key, value]) => sample.labels[key] === value))
        .reduce((total, sample) => total + sample.value, 0);
    },
  };
}

/** The last lines of a file, for failure messages. */
export async function fileTail(path: string, lines = 30): Promise<string> {
  try {
    return (await readFile(path, 'utf8')).trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return `(no ${path})`;
  }
}
