import { afterEach, describe, expect, it, vi } from 'vitest';
import { backoffDelay } from './backoff.ts';
import { ReconnectingTransport, type Connector, type Link } from './byte-stream-transport.ts';

const settings = { initialDelayMs: 100, maxDelayMs: 2_000, multiplier: 2, jitter: 0.2 };

describe('backoffDelay', () => {
  it('grows exponentially and is capped', () => {
    expect([0, 1, 2, 3, 4, 5, 6, 50].map((attempt) => backoffDelay(attempt, settings, 0.5))).toEqual([100, 200, 400, 800, 1600, 2000, 2000, 2000]);
  });

  it('jitters within ±jitter and never exceeds the cap', () => {
    expect(backoffDelay(0, settings, 0)).toBe(80);
    expect(backoffDelay(0, settings, 0.999999)).toBe(120);
    expect(backoffDelay(10, settings, 0.999999)).toBe(2000);
    expect(backoffDelay(10, settings, 0)).toBe(1600);
  });
});

describe('ReconnectingTransport back-off (fake clock)', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  function failingConnector(log: number[]): Connector {
    return {
      kind: 'tcp-client',
      description: 'fake',
      passive: false,
      connect: async () => {
        log.push(Date.now());
        throw new Error('ECONNREFUSED');
      },
      shutdown: async () => {},
    };
  }

  it('retries a failing connect with growing, capped delays and emits transport_unavailable each time', async () => {
    vi.useFakeTimers({ now: 0 });
    const attempts: number[] = [];
    const transport = new ReconnectingTransport(failingConnector(attempts), { backoff: settings, random: () => 0.5 });
    const errors: string[] = [];
    transport.on('error', (error) => errors.push(error.code));
    transport.open();
    await vi.advanceTimersByTimeAsync(10_000);
    // t=0, then +100, +200, +400, +800, +1600, then every 2000 (capped).
    expect(attempts.slice(0, 9)).toEqual([0, 100, 300, 700, 1500, 3100, 5100, 7100, 9100]);
    expect(attempts.length).toBe(9);
    expect(new Set(errors)).toEqual(new Set(['transport_unavailable']));
    await transport.close();
    const after = attempts.length;
    await vi.advanceTimersByTimeAsync(10_000);
    expect(attempts.length).toBe(after);
  });

  it('after a connection closes, waits before reconnecting; data resets the back-off', async () => {
    vi.useFakeTimers({ now: 0 });
    const connects: number[] = [];
    const links: { end(reason: string): void; data(chunk: Buffer): void }[] = [];
    const connector: Connector = {
      kind: 'serial',
      description: 'fake',
      passive: false,
      connect: async () => {
        connects.push(Date.now());
        let end: (reason: string) => void = () => {};
        let onData: (chunk: Buffer) => void = () => {};
        const link: Link = {
          peer: 'fake',
          write: () => {},
          destroy: () => end('destroyed'),
          onData: (listener) => (onData = listener),
          ended: new Promise((resolve) => (end = resolve)),
        };
        links.push({ end: (reason) => end(reason), data: (chunk) => onData(chunk) });
        return link;
      },
      shutdown: async () => {},
    };
    const transport = new ReconnectingTransport(connector, { backoff: settings, random: () => 0.5 });
    const seen: string[] = [];
    transport.on('open', () => seen.push('open'));
    transport.on('close', ({ reason }) => seen.push(`close:${reason}`));
    transport.open();
    await vi.advanceTimersByTimeAsync(0);
    links[0]?.end('EIO');
    await vi.advanceTimersByTimeAsync(50);
    expect(connects).toEqual([0]);
    await vi.advanceTimersByTimeAsync(50);
    expect(connects).toEqual([0, 100]);
    links[1]?.end('EIO');
    await vi.advanceTimersByTimeAsync(200);
    expect(connects).toEqual([0, 100, 300]);
    links[2]?.data(Buffer.from('x'));
    links[2]?.end('EIO');
    await vi.advanceTimersByTimeAsync(100);
    expect(connects).toEqual([0, 100, 300, 400]);
    transport.reset('session gave up');
    await vi.advanceTimersByTimeAsync(0);
    expect(seen).toEqual(['open', 'close:EIO', 'open', 'close:EIO', 'open', 'close:EIO', 'open', 'close:session gave up']);
    await transport.close();
  });
});
