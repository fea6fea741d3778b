/** finishWithin: the one "wait for this, at most that long" used by every shutdown and send deadline. */
import { describe, expect, it } from 'vitest';
import { finishWithin } from './index.ts';

const timers = () => process.getActiveResourcesInfo().filter((resource) => resource === 'Timeout').length;
const after = (ms: number, outcome: 'resolve' | 'reject') =>
  new Promise<void>((resolve, reject) => setTimeout(() => (outcome === 'resolve' ? resolve() : reject(new Error('late failure'))), ms));

describe('finishWithin', () => {
  it('is true when the work finishes in time, and leaves no timer behind', async () => {
    const before = timers();
    expect(await finishWithin(Promise.resolve('done'), 60_000)).toBe(true);
    expect(timers()).toBe(before);
  });

  it('is false at the deadline when the work is still running', async () => {
    expect(await finishWithin(after(500, 'resolve'), 20)).toBe(false);
  });

  it('rejects when the work rejects in time', async () => {
    await expect(finishWithin(Promise.reject(new Error('failed')), 1_000)).rejects.toThrow('failed');
  });

  it('drops a rejection that comes after the deadline, without an unhandled rejection', async () => {
    const unhandled: unknown[] = [];
    const record = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', record);
    try {
      expect(await finishWithin(after(30, 'reject'), 5)).toBe(false);
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', record);
    }
  });
});
