/**
 * A real single-node Apache Kafka 3.9.1 broker (KRaft, combined broker+controller) run as a child
 * JVM from jars that Maven fetches from Maven Central on first use. Used by the test suite, by
 * `vitalbridge start` when no brokers are configured, and by benchmarks. Needs only Java and Maven.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, existsSync, openSync, rmSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, open, readdir, readFile, realpath, rename, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Kafka } from 'kafkajs';
import { kafkaClientConfig, type KafkaSecurity } from '../publishing/kafka-client-config.ts';
import { freePort } from '../transports/free-port.ts';

export const KAFKA_VERSION = '3.9.1';

const POM_PATH = fileURLToPath(new URL('./kafka-pom.xml', import.meta.url));
/** Written into the libs dir last, so its presence means the download completed for this pom. */
const POM_STAMP_FILE = '.vitalbridge-pom.sha256';
const READY_TIMEOUT_MS = 90_000;
const STOP_GRACE_MS = 15_000;
const DEFAULT_HEAP_MB = 512;
const LOCK_WAIT_MS = 15 * 60_000;

export interface EnsureKafkaJarsOptions {
  /** Cache root; the jars go to `<cacheDir>/kafka-3.9.1/libs`. Default: $VITALBRIDGE_CACHE_DIR or ~/.cache/vitalbridge. */
  cacheDir?: string;
  onProgress?: (line: string) => void;
}

export interface LocalKafkaOptions extends EnsureKafkaJarsOptions {
  /** Default: a fresh temp dir, removed when this process exits (kept until then so restart() works after stop()). */
  dataDir?: string;
  /** Broker port on 127.0.0.1. Default (or 0): a free port. */
  port?: number;
  /** Maximum JVM heap; default 512. */
  heapMb?: number;
  /**
   * Clients must authenticate with SASL: the client listener becomes SASL_PLAINTEXT with SCRAM-SHA-256,
   * SCRAM-SHA-512 and PLAIN enabled, and these users exist from the start (SCRAM credentials are
   * written into the metadata when the storage is formatted; PLAIN users into the listener's JAAS config).
   * The controller listener stays PLAINTEXT on loopback. Needs a fresh data dir (users are added at format time).
   */
  sasl?: LocalKafkaSasl;
  /**
   * The client listener speaks TLS (SSL, or SASL_SSL with `sasl`), with this certificate and key
   * (PEM, the key unencrypted) and caFile as the trust store (for the broker's own inter-broker client).
   */
  tls?: LocalKafkaTls;
}

export interface LocalKafkaTls {
  readonly certFile: string;
  readonly keyFile: string;
  readonly caFile: string;
  /** Mutual TLS: clients must present a certificate signed by caFile (ssl.client.auth=required). */
  readonly requireClientCert?: boolean;
}

export interface LocalKafkaSasl {
  readonly users: readonly { readonly username: string; readonly password: string }[];
}

export interface LocalKafka {
  /** `127.0.0.1:<port>`, ready for kafkajs. */
  readonly brokers: string[];
  /** The client listener's security protocol, from the sasl and tls options. */
  readonly securityProtocol: SecurityProtocol;
  readonly port: number;
  readonly dataDir: string;
  /** Broker log (log4j WARN and above, plus the JVM's own stdout/stderr). */
  readonly logFile: string;
  /** SIGTERM (controlled shutdown), SIGKILL after 15 s. Data is kept, so restart() may follow. */
  stop(): Promise<void>;
  /** SIGKILL, for fault tests: no controlled shutdown, the log is recovered on restart(). */
  kill(): Promise<void>;
  /** Starts the broker again on the same ports and data dir (stopping it first if it runs) and waits until it serves. */
  restart(): Promise<void>;
  /** The broker JVM's pid while it runs, else undefined. */
  readonly pid: number | undefined;
  /**
   * SIGSTOP, for fault tests: a broker that holds its connections open and answers nothing, like a
   * broker stalled by GC or a full disk. Resolves once the process is stopped (on Linux, as
   * /proc/<pid>/status says). Throws when the broker is not running.
   */
  pause(): Promise<void>;
  /** SIGCONT after pause(); a no-op when not paused. */
  resume(): void;
}

export function defaultCacheDir(): string {
  return process.env.VITALBRIDGE_CACHE_DIR ?? join(homedir(), '.cache', 'vitalbridge');
}

function kafkaCacheDir(cacheDir: string | undefined): string {
  return join(cacheDir ?? defaultCacheDir(), `kafka-${KAFKA_VERSION}`);
}

/** Downloads the broker jars once (atomically, safe against concurrent callers) and returns the libs dir. */
export async function ensureKafkaJars(options: EnsureKafkaJarsOptions = {}): Promise<string> {
  const progress = options.onProgress ?? (() => {});
  const versionDir = kafkaCacheDir(options.cacheDir);
  const libsDir = join(versionDir, 'libs');
  const pomHash = await pomSha256();
  if (await libsAreComplete(libsDir, pomHash)) return libsDir;

  await mkdir(versionDir, { recursive: true });
  const releaseLock = await acquireLock(join(versionDir, '.fetch.lock'), progress);
  try {
    if (await libsAreComplete(libsDir, pomHash)) return libsDir;
    await removeLeftovers(versionDir);
    await requireTool('java', ['-version']);
    await requireTool('mvn', ['-v']);

    progress(`fetching Kafka jars (first run only)… (Maven, Kafka ${KAFKA_VERSION}, into ${libsDir})`);
    const startedAt = Date.now();
    const partialDir = join(versionDir, `libs.partial-${process.pid}-${randomBytes(4).toString('hex')}`);
    const heartbeat = setInterval(() => progress(`still fetching Kafka jars (${secondsSince(startedAt)} s)…`), 15_000);
    try {
      const result = await runProcess(
        'mvn',
        ['-q', '-B', '-f', POM_PATH, 'dependency:copy-dependencies', '-DincludeScope=runtime', `-DoutputDirectory=${partialDir}`],
        { cwd: versionDir },
      );
      if (result.code !== 0) {
        throw new Error(
          `Maven could not fetch the Kafka ${KAFKA_VERSION} jars (exit ${result.code}). Is Maven Central reachable (proxy settings in ~/.m2/settings.xml)?\n${lastLines(result.output, 30)}`,
        );
      }
      await writeFile(join(partialDir, POM_STAMP_FILE), pomHash);
      if (existsSync(libsDir)) await rename(libsDir, join(versionDir, `libs.stale-${randomBytes(4).toString('hex')}`));
      await rename(partialDir, libsDir);
    } finally {
      clearInterval(heartbeat);
      await rm(partialDir, { recursive: true, force: true });
    }
    await removeLeftovers(versionDir);
    const jarCount = (await readdir(libsDir)).filter((name) => name.endsWith('.jar')).length;
    progress(`fetched ${jarCount} Kafka jars in ${secondsSince(startedAt)} s`);
    return libsDir;
  } finally {
    await releaseLock();
  }
}

export async function startLocalKafka(options: LocalKafkaOptions = {}): Promise<LocalKafka> {
  const progress = options.onProgress ?? (() => {});
  const startedAt = Date.now();
  const libsDir = await ensureKafkaJars(options);
  const versionDir = kafkaCacheDir(options.cacheDir);

  let dataDir: string;
  if (options.dataDir === undefined) {
    dataDir = await mkdtemp(join(tmpdir(), TEMP_DATA_DIR_PREFIX));
    await writeFile(join(dataDir, OWNER_PID_FILE), String(process.pid));
    temporaryDataDirs.add(dataDir);
    void removeAbandonedDataDirs();
  } else {
    dataDir = options.dataDir;
    await mkdir(dataDir, { recursive: true });
  }

  const port = options.port !== undefined && options.port !== 0 ? options.port : await freePort();
  if (port === options.port && !(await portIsFree(port))) {
    throw new Error(
      `127.0.0.1:${port} is already in use (another Kafka broker?). Use port 0 for any free port, or point KAFKA_BROKERS at the broker that is running there.`,
    );
  }
  let controllerPort = await freePort();
  while (controllerPort === port) controllerPort = await freePort();

  const heapMb = options.heapMb ?? DEFAULT_HEAP_MB;
  const logDir = join(dataDir, 'kafka-logs');
  const logFile = join(dataDir, 'broker.log');
  const serverProperties = join(dataDir, 'server.properties');
  const log4jProperties = join(dataDir, 'log4j.properties');
  const sasl = options.sasl;
  if (sasl !== undefined) assertSaslUsers(sasl);
  const protocol = securityProtocolOf(options);
  let tls: { keystore: string; truststore: string; requireClientCert: boolean } | undefined;
  if (options.tls !== undefined) {
    // Kafka's PEM key store is one file: the private key, then the certificate chain.
    const keystore = join(dataDir, 'broker-keystore.pem');
    await writeFile(keystore, `${(await readFile(options.tls.keyFile, 'utf8')).trim()}\n${(await readFile(options.tls.certFile, 'utf8')).trim()}\n`, { mode: 0o600 });
    tls = { keystore, truststore: options.tls.caFile, requireClientCert: options.tls.requireClientCert === true };
  }
  await writeFile(serverProperties, serverPropertiesText({ port, controllerPort, logDir, sasl, tls, protocol }));
  await writeFile(log4jProperties, log4jPropertiesText(logFile));

  const classpath = join(libsDir, '*');
  const classArchive = join(versionDir, 'cds', `broker-${await classArchiveKey()}.jsa`);
  const log4jFlag = `-Dlog4j.configuration=${pathToFileURL(log4jProperties).href}`;

  const formatted = existsSync(join(logDir, 'meta.properties'));
  if (sasl !== undefined && formatted) {
    throw new Error(`the sasl option needs a fresh data dir: SCRAM users are added when the storage is formatted, and ${logDir} already is`);
  }
  if (!formatted) {
    progress(`formatting Kafka storage in ${logDir}`);
    // A short-lived tool: the C1 compiler alone starts it faster and it never runs long enough for C2 to pay off.
    const toolFlags = ['-Xmx256m', '-XX:TieredStopAtLevel=1', '-Djava.awt.headless=true', log4jFlag, ...readClassArchiveFlags(classArchive)];
    const result = await runProcess('java', [...toolFlags, '-cp', classpath, 'kafka.tools.StorageTool', 'format', '-t', randomClusterId(), '-c', serverProperties, '--ignore-formatted', ...scramFormatArguments(sasl)]);
    if (result.code !== 0) throw new Error(`Kafka storage format failed (exit ${result.code}):\n${lastLines(result.output, 30)}`);
  }

  // The readiness probe authenticates like any client when the listener requires it.
  const probeUser = sasl?.users[0];
  const probeSecurity: KafkaSecurity = {
    ...(probeUser !== undefined ? { sasl: { mechanism: 'scram-sha-256', username: probeUser.username, password: probeUser.password } } : {}),
    // With mutual TLS the probe presents the broker's own certificate (it is issued for client use too).
    ...(options.tls !== undefined
      ? {
          ssl: {
            caFile: options.tls.caFile,
            rejectUnauthorized: true,
            ...(options.tls.requireClientCert === true ? { certFile: options.tls.certFile, keyFile: options.tls.keyFile } : {}),
          },
        }
      : {}),
  };
  const broker = new BrokerProcess({ classpath, serverProperties, log4jFlag, logFile, heapMb, classArchive, port, probeSecurity });
  await broker.start();
  progress(`Kafka broker ready on 127.0.0.1:${port} in ${secondsSince(startedAt)} s`);

  return {
    brokers: [`127.0.0.1:${port}`],
    securityProtocol: protocol,
    port,
    dataDir,
    logFile,
    get pid() {
      return broker.pid;
    },
    pause: () => broker.pause(),
    resume: () => broker.resume(),
    stop: () => broker.stop(),
    kill: () => broker.kill(),
    restart: async () => {
      await broker.stop();
      await broker.start();
    },
  };
}

interface BrokerProcessConfig {
  classpath: string;
  serverProperties: string;
  log4jFlag: string;
  logFile: string;
  heapMb: number;
  classArchive: string;
  port: number;
  probeSecurity: KafkaSecurity;
}

class BrokerProcess {
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private watchdog: ChildProcess | undefined;
  private forcedKill = false;
  /** An archive from a JVM that failed during startup would hold too few classes to be worth keeping. */
  private servedThisRun = false;
  private archiveInProgress: string | undefined;
  private paused = false;

  constructor(private readonly config: BrokerProcessConfig) {}

  get pid(): number | undefined {
    return this.child?.pid;
  }

  async pause(): Promise<void> {
    const child = this.child;
    const pid = child?.pid;
    if (child === undefined || pid === undefined) throw new Error('the local Kafka broker is not running; nothing to pause');
    child.kill('SIGSTOP');
    this.paused = true;
    // The signal is delivered asynchronously: wait until every thread has stopped.
    if (process.platform !== 'linux') return;
    const deadline = Date.now() + 5_000;
    while (!(await processStopped(pid))) {
      if (Date.now() > deadline) throw new Error(`the local Kafka broker (pid ${pid}) did not stop within 5 s of SIGSTOP`);
      await delay(10);
    }
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.child?.kill('SIGCONT');
  }

  async start(): Promise<void> {
    if (this.child !== undefined) throw new Error('the local Kafka broker is already running');
    const { classpath, serverProperties, log4jFlag, logFile, heapMb, classArchive } = this.config;
    // One JVM start dumps the classes Kafka loads into an AppCDS archive; later starts map it
    // instead of parsing ~100 jars again (measured: ~3.8 s -> ~2.1 s until the broker serves).
    this.archiveInProgress = existsSync(classArchive) ? undefined : `${classArchive}.partial-${process.pid}-${randomBytes(4).toString('hex')}`;
    if (this.archiveInProgress !== undefined) {
      await mkdir(join(classArchive, '..'), { recursive: true });
      await removeAbandonedArchives(join(classArchive, '..'));
    }
    const archiveFlags = this.archiveInProgress === undefined ? readClassArchiveFlags(classArchive) : [`-XX:ArchiveClassesAtExit=${this.archiveInProgress}`];
    const jvmFlags = [
      `-Xms${Math.min(256, heapMb)}m`,
      `-Xmx${heapMb}m`,
      // Kafka's own defaults from kafka-run-class.sh, so benchmarks measure the broker as it is normally run.
      '-XX:+UseG1GC',
      '-XX:MaxGCPauseMillis=20',
      '-XX:InitiatingHeapOccupancyPercent=35',
      '-XX:+ExplicitGCInvokesConcurrent',
      '-XX:+ExitOnOutOfMemoryError',
      '-Djava.awt.headless=true',
      log4jFlag,
      ...archiveFlags,
    ];

    const logFd = openSync(logFile, 'a');
    let child: ChildProcess;
    try {
      child = spawn('java', [...jvmFlags, '-cp', classpath, 'kafka.Kafka', serverProperties], { stdio: ['ignore', logFd, logFd] });
    } finally {
      closeSync(logFd);
    }
    this.forcedKill = false;
    this.servedThisRun = false;
    let rejectSpawn: (error: Error) => void = () => {};
    const spawnFailure = new Promise<never>((_, reject) => {
      rejectSpawn = reject;
    });
    spawnFailure.catch(() => {});
    this.exited = new Promise<void>((resolve) => {
      const onGone = () => {
        runningBrokers.delete(child);
        this.watchdog?.kill('SIGKILL');
        this.watchdog = undefined;
        if (this.child === child) {
          this.child = undefined;
          this.paused = false;
        }
        void this.keepClassArchive().finally(resolve);
      };
      child.once('exit', onGone);
      child.on('error', (error: NodeJS.ErrnoException) => {
        // Without a pid the JVM never started, and no 'exit' will follow.
        if (child.pid !== undefined) return;
        rejectSpawn(error.code === 'ENOENT' ? missingToolError('java', INSTALL_HINTS.java ?? 'java') : error);
        onGone();
      });
    });
    this.child = child;
    runningBrokers.add(child);
    if (child.pid !== undefined) this.watchdog = startWatchdog(child.pid);

    try {
      await Promise.race([this.waitUntilServing(child), spawnFailure]);
      this.servedThisRun = true;
    } catch (error) {
      await this.kill();
      throw error;
    }
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (child === undefined) return this.exited;
    // A stopped JVM would hold SIGTERM pending until the grace period ends in SIGKILL.
    this.resume();
    child.kill('SIGTERM');
    const escalation = setTimeout(() => {
      this.forcedKill = true;
      child.kill('SIGKILL');
    }, STOP_GRACE_MS);
    try {
      await this.exited;
    } finally {
      clearTimeout(escalation);
    }
  }

  async kill(): Promise<void> {
    const child = this.child;
    if (child === undefined) return this.exited;
    this.forcedKill = true;
    child.kill('SIGKILL');
    await this.exited;
  }

  private async waitUntilServing(child: ChildProcess): Promise<void> {
    const deadline = Date.now() + READY_TIMEOUT_MS;
    let lastError = 'no attempt yet';
    while (Date.now() < deadline) {
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new Error(
          `the local Kafka broker exited during startup (${child.exitCode ?? child.signalCode}); last lines of ${this.config.logFile}:\n${await logTail(this.config.logFile)}`,
        );
      }
      // A fresh client per attempt: a kafkajs client that failed to connect backs off on its own
      // schedule, which added up to 10 s to the measured startup.
      const admin = new Kafka(
        kafkaClientConfig(
          { clientId: 'vitalbridge-local-kafka-probe', brokers: [`127.0.0.1:${this.config.port}`], connectTimeoutMs: 1_000, security: this.config.probeSecurity },
          { requestTimeout: 3_000, retry: { retries: 0 } },
        ),
      ).admin();
      try {
        await admin.connect();
        await admin.listTopics();
        return;
      } catch (error) {
        lastError = error instanceof Error ? error.message : String(error);
      } finally {
        await admin.disconnect().catch(() => {});
      }
      await delay(100);
    }
    throw new Error(
      `the local Kafka broker did not serve within ${READY_TIMEOUT_MS / 1000} s (last probe: ${lastError}); last lines of ${this.config.logFile}:\n${await logTail(this.config.logFile)}`,
    );
  }

  /** The JVM writes the archive while exiting; only an orderly exit leaves a complete one. */
  private async keepClassArchive(): Promise<void> {
    const partial = this.archiveInProgress;
    if (partial === undefined) return;
    this.archiveInProgress = undefined;
    try {
      const complete = this.servedThisRun && !this.forcedKill && existsSync(partial) && statSync(partial).size > 0;
      if (complete && !existsSync(this.config.classArchive)) await rename(partial, this.config.classArchive);
    } catch {
      // Only a startup optimisation: without the archive the broker starts slower, not wrong.
    } finally {
      await rm(partial, { force: true });
    }
  }
}

/** A JVM killed while writing its archive at exit leaves a partial file (~45 MB) named after our pid. */
async function removeAbandonedArchives(archiveDir: string): Promise<void> {
  for (const name of await readdir(archiveDir).catch(() => [])) {
    const owner = /\.partial-(\d+)-/.exec(name)?.[1];
    if (owner !== undefined && !processIsAlive(Number(owner))) await rm(join(archiveDir, name), { force: true });
  }
}

function readClassArchiveFlags(classArchive: string): string[] {
  // With -Xshare:auto (the default) an unusable archive is ignored, never fatal.
  return existsSync(classArchive) ? [`-XX:SharedArchiveFile=${classArchive}`] : [];
}

export type SecurityProtocol = 'PLAINTEXT' | 'SASL_PLAINTEXT' | 'SSL' | 'SASL_SSL';

function securityProtocolOf(options: Pick<LocalKafkaOptions, 'sasl' | 'tls'>): SecurityProtocol {
  if (options.sasl !== undefined) return options.tls !== undefined ? 'SASL_SSL' : 'SASL_PLAINTEXT';
  return options.tls !== undefined ? 'SSL' : 'PLAINTEXT';
}

function serverPropertiesText(options: {
  port: number;
  controllerPort: number;
  logDir: string;
  sasl: LocalKafkaSasl | undefined;
  tls: { keystore: string; truststore: string; requireClientCert: boolean } | undefined;
  protocol: SecurityProtocol;
}): string {
  const { port, controllerPort, logDir, sasl, tls, protocol } = options;
  const listener = protocol;
  return [
    'process.roles=broker,controller',
    'node.id=1',
    `controller.quorum.voters=1@127.0.0.1:${controllerPort}`,
    `listeners=${listener}://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}`,
    `advertised.listeners=${listener}://127.0.0.1:${port}`,
    'controller.listener.names=CONTROLLER',
    `inter.broker.listener.name=${listener}`,
    `listener.security.protocol.map=CONTROLLER:PLAINTEXT,${listener}:${listener}`,
    ...(sasl === undefined ? [] : saslProperties(sasl, listener.toLowerCase())),
    ...(tls === undefined
      ? []
      : [
          'ssl.keystore.type=PEM',
          `ssl.keystore.location=${escapePropertyValue(tls.keystore)}`,
          'ssl.truststore.type=PEM',
          `ssl.truststore.location=${escapePropertyValue(tls.truststore)}`,
          'ssl.enabled.protocols=TLSv1.2,TLSv1.3',
          `ssl.client.auth=${tls.requireClientCert ? 'required' : 'none'}`,
          // A SASL_SSL listener ignores the unprefixed setting (KIP-684): say it per listener too.
          `listener.name.${listener.toLowerCase()}.ssl.client.auth=${tls.requireClientCert ? 'required' : 'none'}`,
        ]),
    `log.dirs=${escapePropertyValue(logDir)}`,
    // Topics are created on purpose (by the gateway or the test), never by a typo in a consumer.
    'auto.create.topics.enable=false',
    'num.partitions=1',
    'default.replication.factor=1',
    'min.insync.replicas=1',
    // One partition for internal topics: the first consumer group join and producer id allocation are fast.
    'offsets.topic.replication.factor=1',
    'offsets.topic.num.partitions=1',
    'transaction.state.log.replication.factor=1',
    'transaction.state.log.min.isr=1',
    'transaction.state.log.num.partitions=1',
    'group.initial.rebalance.delay.ms=0',
    // After a SIGKILL the restarted broker is refused (DUPLICATE_BROKER_REGISTRATION) until its previous
    // session expires: 9 s by default, ~13 s to serve again with the retry backoff; 3 s brings that to ~5 s.
    'broker.session.timeout.ms=3000',
    'broker.heartbeat.interval.ms=500',
    // The default 128 MiB compaction buffer is allocated on the heap at startup; only __consumer_offsets is compacted here.
    'log.cleaner.dedupe.buffer.size=16777216',
    '',
  ].join('\n');
}

/**
 * SCRAM for clients and between brokers (the first user is the broker's own identity), PLAIN
 * with its users listed in the JAAS config (PLAIN has no store of its own).
 */
function saslProperties(sasl: LocalKafkaSasl, listenerName: string): string[] {
  const [broker] = sasl.users as [LocalKafkaSasl['users'][number]];
  const jaasString = (value: string) => `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
  const scram = `org.apache.kafka.common.security.scram.ScramLoginModule required username=${jaasString(broker.username)} password=${jaasString(broker.password)};`;
  const plainUsers = sasl.users.map((user) => `user_${user.username}=${jaasString(user.password)}`).join(' ');
  const plain = `org.apache.kafka.common.security.plain.PlainLoginModule required username=${jaasString(broker.username)} password=${jaasString(broker.password)} ${plainUsers};`;
  return [
    'sasl.enabled.mechanisms=SCRAM-SHA-256,SCRAM-SHA-512,PLAIN',
    'sasl.mechanism.inter.broker.protocol=SCRAM-SHA-256',
    `listener.name.${listenerName}.scram-sha-256.sasl.jaas.config=${escapePropertyValue(scram)}`,
    `listener.name.${listenerName}.scram-sha-512.sasl.jaas.config=${escapePropertyValue(scram)}`,
    `listener.name.${listenerName}.plain.sasl.jaas.config=${escapePropertyValue(plain)}`,
  ];
}

/** kafka-storage format --add-scram (KIP-900, Kafka 3.5+): each user for both SCRAM mechanisms. */
function scramFormatArguments(sasl: LocalKafkaSasl | undefined): string[] {
  if (sasl === undefined) return [];
  return sasl.users.flatMap((user) =>
    ['SCRAM-SHA-256', 'SCRAM-SHA-512'].flatMap((mechanism) => ['--add-scram', `${mechanism}=[name=${user.username},password=${user.password}]`]),
  );
}

/** Names and passwords go into a properties file and a format argument: keep them to characters that need no quoting. */
function assertSaslUsers(sasl: LocalKafkaSasl): void {
  if (sasl.users.length === 0) throw new Error('the sasl option needs at least one user (the first is also the broker\'s own identity)');
  for (const user of sasl.users) {
    if (!/^[A-Za-z0-9._-]+$/.test(user.username) || !/^[A-Za-z0-9._-]+$/.test(user.password)) {
      throw new Error('local Kafka SASL user names and passwords may hold only letters, digits, ".", "_" and "-"');
    }
  }
}

function log4jPropertiesText(logFile: string): string {
  return [
    'log4j.rootLogger=WARN, file',
    'log4j.appender.file=org.apache.log4j.FileAppender',
    `log4j.appender.file.File=${escapePropertyValue(logFile)}`,
    'log4j.appender.file.Append=true',
    'log4j.appender.file.layout=org.apache.log4j.PatternLayout',
    'log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n',
    // "Kafka Server started" marks each start in the log, which makes startup failures readable.
    'log4j.logger.kafka.server.KafkaRaftServer=INFO',
    '',
  ].join('\n');
}

function escapePropertyValue(value: string): string {
  return value.replace(/\\/g, '\\\\');
}

/** Same shape as Kafka's Uuid.randomUuid().toString(), which StorageTool accepts as a cluster id. */
function randomClusterId(): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

// --- The broker never outlives this process ------------------------------------------------

const TEMP_DATA_DIR_PREFIX = 'vitalbridge-kafka-';
const OWNER_PID_FILE = '.owner-pid';
const runningBrokers = new Set<ChildProcess>();
const temporaryDataDirs = new Set<string>();
process.once('exit', () => {
  for (const child of runningBrokers) child.kill('SIGKILL');
  for (const dir of temporaryDataDirs) rmSync(dir, { recursive: true, force: true });
});

/**
 * A process that dies without 'exit' (vitest ends its workers that way; also crashes and SIGKILL)
 * leaves its temp data dir behind; the next start removes the ones whose owner is gone.
 */
async function removeAbandonedDataDirs(): Promise<void> {
  try {
    for (const name of await readdir(tmpdir())) {
      if (!name.startsWith(TEMP_DATA_DIR_PREFIX)) continue;
      const dir = join(tmpdir(), name);
      const owner = Number.parseInt(await readFile(join(dir, OWNER_PID_FILE), 'utf8').catch(() => ''), 10);
      if (!Number.isNaN(owner) && !processIsAlive(owner)) await rm(dir, { recursive: true, force: true });
    }
  } catch {
    // Housekeeping only.
  }
}

/**
 * 'exit' does not run when Node dies from a signal or a crash; this shell waits on a pipe only
 * we hold, so it wakes and kills the broker however we die. Its stdin is unref'd so it never keeps Node alive.
 */
function startWatchdog(brokerPid: number): ChildProcess | undefined {
  if (process.platform === 'win32') return undefined;
  const watchdog = spawn('/bin/sh', ['-c', `read _ignored; kill -9 ${brokerPid} 2>/dev/null`], { stdio: ['pipe', 'ignore', 'ignore'] });
  watchdog.on('error', () => {});
  watchdog.unref();
  const stdin = watchdog.stdin as (NodeJS.WritableStream & { unref?: () => void }) | null;
  stdin?.unref?.();
  return watchdog;
}

// --- Jar cache ---------------------------------------------------------------------------

async function pomSha256(): Promise<string> {
  return createHash('sha256').update(await readFile(POM_PATH)).digest('hex');
}

async function libsAreComplete(libsDir: string, pomHash: string): Promise<boolean> {
  try {
    return (await readFile(join(libsDir, POM_STAMP_FILE), 'utf8')).trim() === pomHash;
  } catch {
    return false;
  }
}

/** Only called under the fetch lock, so any partial or stale dir belongs to an interrupted or replaced download. */
async function removeLeftovers(versionDir: string): Promise<void> {
  for (const name of await readdir(versionDir)) {
    if (name.startsWith('libs.partial-') || name.startsWith('libs.stale-')) await rm(join(versionDir, name), { recursive: true, force: true });
  }
}

/** Changes when the jars or the JVM change, so a new JDK never meets an archive made by another. */
async function classArchiveKey(): Promise<string> {
  const hash = createHash('sha256').update(await pomSha256());
  const java = await findOnPath('java');
  if (java !== undefined) {
    const resolved = await realpath(java);
    const info = await stat(resolved);
    hash.update(`${resolved}:${info.size}:${info.mtimeMs}`);
  }
  return hash.digest('hex').slice(0, 16);
}

async function findOnPath(command: string): Promise<string | undefined> {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, command);
    try {
      if ((await stat(candidate)).isFile()) return candidate;
    } catch {
      // not in this PATH entry
    }
  }
  return undefined;
}

/** A lock file holding the owner's pid; a lock whose owner is gone is taken over. */
async function acquireLock(lockPath: string, progress: (line: string) => void): Promise<() => Promise<void>> {
  const deadline = Date.now() + LOCK_WAIT_MS;
  let announced = false;
  for (;;) {
    try {
      const handle = await open(lockPath, 'wx');
      await handle.writeFile(String(process.pid));
      await handle.close();
      return async () => {
        await unlink(lockPath).catch(() => {});
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const owner = await lockOwner(lockPath);
    if (owner === 'gone') {
      await unlink(lockPath).catch(() => {});
      continue;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for another process fetching the Kafka jars (lock ${lockPath})`);
    if (!announced) {
      progress(`waiting for another process (pid ${owner}) that is fetching the Kafka jars…`);
      announced = true;
    }
    await delay(500);
  }
}

async function lockOwner(lockPath: string): Promise<number | 'gone' | 'unknown'> {
  try {
    const pid = Number.parseInt(await readFile(lockPath, 'utf8'), 10);
    if (Number.isNaN(pid)) {
      // The owner may be between creating the file and writing its pid.
      return Date.now() - (await stat(lockPath)).mtimeMs > 10_000 ? 'gone' : 'unknown';
    }
    return processIsAlive(pid) ? pid : 'gone';
  } catch {
    return 'unknown';
  }
}

/** True when the process is in the stopped state (T) per /proc/<pid>/status. */
async function processStopped(pid: number): Promise<boolean> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  return /^State:\s+T/m.test(status);
}

function processIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

// --- Processes ---------------------------------------------------------------------------

function missingToolError(command: string, whatToInstall: string): Error {
  return new Error(
    `\`${command}\` was not found on PATH. The local Kafka broker needs ${whatToInstall}; install it, or set KAFKA_BROKERS to use an existing Kafka broker instead.`,
  );
}

const INSTALL_HINTS: Record<string, string> = {
  java: 'a Java runtime (17 or newer), e.g. `apt-get install openjdk-17-jre-headless` or `brew install openjdk@17`',
  mvn: 'Apache Maven 3.6.3 or newer, e.g. `apt-get install maven` or `brew install maven`',
};

async function requireTool(command: string, args: string[]): Promise<void> {
  const whatToInstall = INSTALL_HINTS[command] ?? command;
  const result = await runProcess(command, args);
  if (result.code !== 0) throw new Error(`\`${command} ${args.join(' ')}\` failed (exit ${result.code}); the local Kafka broker needs ${whatToInstall}:\n${lastLines(result.output, 10)}`);
}

function runProcess(command: string, args: string[], options: { cwd?: string } = {}): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    const chunks: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => chunks.push(chunk));
    child.once('error', (error: NodeJS.ErrnoException) => {
      reject(error.code === 'ENOENT' ? missingToolError(command, INSTALL_HINTS[command] ?? command) : error);
    });
    child.once('close', (code) => resolve({ code, output: stripAnsi(Buffer.concat(chunks).toString('utf8')) }));
  });
}

function stripAnsi(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/\u001b\[[0-9;]*m/g, '');
}

function lastLines(text: string, count: number): string {
  return text.trimEnd().split('\n').slice(-count).join('\n');
}

async function logTail(logFile: string): Promise<string> {
  try {
    // Stack frames would push the "Caused by: ..." lines that explain the failure out of the tail.
    const withoutFrames = (await readFile(logFile, 'utf8'))
      .split('\n')
      .filter((line) => !/^\s+(at |\.\.\. \d+ more)/.test(line))
      .join('\n');
    return lastLines(withoutFrames, 30);
  } catch {
    return '(no broker log was written)';
  }
}

function secondsSince(startedAt: number): string {
  return ((Date.now() - startedAt) / 1000).toFixed(1);
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
