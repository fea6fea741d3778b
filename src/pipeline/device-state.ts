/**
 * Serial device health, as a pure state machine (time passed in) plus the registry the gateway
 * keeps of every configured device (what the HTTP API will expose).
 *
 * States:
 * - `disconnected`: the port or socket is not open (also the state before the first connection);
 * - `connected`: the transport is open (data is expected within the stale limit);
 * - `stale`: the transport is open but no data frame arrived for `staleAfterMs`
 *   (default 3 x the adapter's expectedIntervalSeconds);
 * - `recovered`: data flows again after the device was stale or disconnected.
 */
export const deviceStates = ['disconnected', 'connected', 'stale', 'recovered'] as const;
export type DeviceState = (typeof deviceStates)[number];

export interface DeviceHealth {
  readonly state: DeviceState;
  readonly since: Date;
  /** Last data frame, or the moment the connection opened: the stale clock starts from the later. */
  readonly lastActivityAt: Date | undefined;
  readonly lastDataAt: Date | undefined;
  /** Set while the device has been stale or disconnected (after its first connection) and no data has come since. */
  readonly troubled: boolean;
}

export interface DeviceStateChange {
  readonly from: DeviceState;
  readonly to: DeviceState;
  readonly at: Date;
  readonly detail: string;
}

export interface Transition {
  readonly health: DeviceHealth;
  readonly change?: DeviceStateChange;
}

export function initialHealth(now: Date): DeviceHealth {
  return { state: 'disconnected', since: now, lastActivityAt: undefined, lastDataAt: undefined, troubled: false };
}

function move(health: DeviceHealth, to: DeviceState, now: Date, detail: string, patch: Partial<DeviceHealth>): Transition {
  const next: DeviceHealth = { ...health, ...patch };
  if (health.state === to) return { health: next };
  return { health: { ...next, state: to, since: now }, change: { from: health.state, to, at: now, detail } };
}

export function onTransportOpened(health: DeviceHealth, now: Date, detail: string): Transition {
  return move(health, 'connected', now, detail, { lastActivityAt: now });
}

export function onTransportClosed(health: DeviceHealth, now: Date, detail: string): Transition {
  return move(health, 'disconnected', now, detail, { troubled: health.troubled || health.state !== 'disconnected' });
}

export function onDataFrame(health: DeviceHealth, now: Date): Transition {
  const patch = { lastActivityAt: now, lastDataAt: now, troubled: false };
  if (health.state === 'stale' || (health.state === 'connected' && health.troubled)) {
    return move(health, 'recovered', now, 'data flows again', patch);
  }
  return { health: { ...health, ...patch } };
}

/** Called periodically: marks an open but silent device stale. */
export function onTick(health: DeviceHealth, now: Date, staleAfterMs: number): Transition {
  if (health.state !== 'connected' && health.state !== 'recovered') return { health };
  const since = health.lastActivityAt ?? health.since;
  if (now.getTime() - since.getTime() < staleAfterMs) return { health };
  return move(health, 'stale', now, `no data for ${Math.round((now.getTime() - since.getTime()) / 1000)} s (limit ${staleAfterMs / 1000} s)`, {
    troubled: true,
  });
}

/** What the registry (and later the HTTP API) shows for one device. */
export interface DeviceStatus {
  readonly deviceId: string;
  readonly adapter: string;
  readonly transport: string;
  readonly state: DeviceState;
  readonly since: string;
  readonly lastDataAt: string | undefined;
  readonly framesReceived: number;
  readonly pendingMessages: number;
}

/** The gateway's view of every configured serial device, keyed by device id. */
export class DeviceRegistry {
  private readonly devices = new Map<string, DeviceStatus>();

  update(status: DeviceStatus): void {
    this.devices.set(status.deviceId, status);
  }

  get(deviceId: string): DeviceStatus | undefined {
    return this.devices.get(deviceId);
  }

  list(): DeviceStatus[] {
    return [...this.devices.values()].sort((a, b) => a.deviceId.localeCompare(b.deviceId));
  }
}

/**
 * At most one log line per key per interval; the next line carries how many were suppressed.
 * Pure: time passed in.
 */
export function createLogRateLimiter(intervalMs: number) {
  const seen = new Map<string, { lastAt: number; suppressed: number }>();
  return (key: string, now: Date): { log: boolean; suppressed: number } => {
    const entry = seen.get(key);
    const time = now.getTime();
    if (entry === undefined || time - entry.lastAt >= intervalMs) {
      const suppressed = entry?.suppressed ?? 0;
      seen.set(key, { lastAt: time, suppressed: 0 });
      return { log: true, suppressed };
    }
    entry.suppressed += 1;
    return { log: false, suppressed: entry.suppressed };
  };
}

/** A FIFO with a hard limit: pushing onto a full queue drops (and returns) the oldest item. */
export class BoundedQueue<T> {
  private readonly items: T[] = [];
  constructor(readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new Error('queue limit must be a whole number >= 1');
  }
  get length(): number {
    return this.items.length;
  }
  push(item: T): T | undefined {
    const dropped = this.items.length >= this.limit ? this.items.shift() : undefined;
    this.items.push(item);
    return dropped;
  }
  /** Puts an item back at the front (a failed publish); when full, the item is dropped instead and returned. */
  unshift(item: T): T | undefined {
    if (this.items.length >= this.limit) return item;
    this.items.unshift(item);
    return undefined;
  }
  shift(): T | undefined {
    return this.items.shift();
  }
  clear(): T[] {
    return this.items.splice(0);
  }
}
