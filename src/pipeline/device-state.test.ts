import { describe, expect, it } from 'vitest';
import {
  BoundedQueue,
  createLogRateLimiter,
  initialHealth,
  onDataFrame,
  onTick,
  onTransportClosed,
  onTransportOpened,
  type DeviceHealth,
  type Transition,
} from './device-state.ts';

const t = (seconds: number) => new Date(Date.UTC(2024, 0, 1, 0, 0, seconds));

/** Runs steps against a fake clock and records every state change. */
function script(steps: ((health: DeviceHealth) => Transition)[]) {
  let health = initialHealth(t(0));
  const changes: string[] = [];
  for (const step of steps) {
    const result = step(health);
    health = result.health;
    if (result.change) changes.push(`${result.change.to}@${(result.change.at.getTime() - t(0).getTime()) / 1000}`);
  }
  return { health, changes };
}

const staleAfterMs = 3_000;

describe('device state (pure, fake clock)', () => {
  it('connected on open; data keeps it connected; no event per frame', () => {
    const { changes, health } = script([
      (h) => onTransportOpened(h, t(1), 'open'),
      (h) => onDataFrame(h, t(2)),
      (h) => onTick(h, t(4), staleAfterMs),
      (h) => onDataFrame(h, t(4)),
      (h) => onTick(h, t(6.9), staleAfterMs),
    ]);
    expect(changes).toEqual(['connected@1']);
    expect(health.state).toBe('connected');
    expect(health.lastDataAt).toEqual(t(4));
  });

  it('stale after staleAfterMs without data (counting from open when nothing came), then recovered on data', () => {
    const { changes } = script([
      (h) => onTransportOpened(h, t(1), 'open'),
      (h) => onTick(h, t(3.9), staleAfterMs),
      (h) => onTick(h, t(4), staleAfterMs),
      (h) => onTick(h, t(10), staleAfterMs),
      (h) => onDataFrame(h, t(11)),
      (h) => onDataFrame(h, t(12)),
      (h) => onTick(h, t(14.5), staleAfterMs),
      (h) => onTick(h, t(15), staleAfterMs),
    ]);
    expect(changes).toEqual(['connected@1', 'stale@4', 'recovered@11', 'stale@15']);
  });

  it('disconnected on close; after reconnect, connected, and recovered with the first data', () => {
    const { changes } = script([
      (h) => onTransportOpened(h, t(0), 'open'),
      (h) => onDataFrame(h, t(1)),
      (h) => onTransportClosed(h, t(2), 'EIO'),
      (h) => onTick(h, t(20), staleAfterMs),
      (h) => onTransportOpened(h, t(21), 'open'),
      (h) => onDataFrame(h, t(22)),
      (h) => onDataFrame(h, t(23)),
    ]);
    expect(changes).toEqual(['connected@0', 'disconnected@2', 'connected@21', 'recovered@22']);
  });

  it('a failed first connection stays disconnected without an event; the first data after the first open is not a recovery', () => {
    const { changes } = script([
      (h) => onTransportClosed(h, t(1), 'ENOENT'),
      (h) => onTransportOpened(h, t(2), 'open'),
      (h) => onDataFrame(h, t(3)),
    ]);
    expect(changes).toEqual(['connected@2']);
  });
});

describe('log rate limiter', () => {
  it('lets one line per key per interval through and reports how many were suppressed', () => {
    const limit = createLogRateLimiter(10_000);
    expect(limit('a', t(0))).toEqual({ log: true, suppressed: 0 });
    expect(limit('a', t(1)).log).toBe(false);
    expect(limit('a', t(2)).log).toBe(false);
    expect(limit('b', t(2)).log).toBe(true);
    expect(limit('a', t(10))).toEqual({ log: true, suppressed: 2 });
  });
});

describe('BoundedQueue', () => {
  it('drops the oldest only when full', () => {
    const queue = new BoundedQueue<number>(3);
    expect([1, 2, 3].map((n) => queue.push(n))).toEqual([undefined, undefined, undefined]);
    expect(queue.push(4)).toBe(1);
    expect(queue.shift()).toBe(2);
    expect(queue.unshift(2)).toBeUndefined();
    expect(queue.unshift(1)).toBe(1);
    expect(queue.clear()).toEqual([2, 3, 4]);
  });
});
