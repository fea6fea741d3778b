import { describe, expect, it } from 'vitest';
import { recentValues } from './recent-values.ts';

describe('recentValues', () => {
  it('answers the last text asked for, a different text after it, and nothing once cleared', () => {
    const memo = recentValues<number>();
    expect(memo.get('a')).toBeUndefined();
    memo.remember('a', 1);
    memo.remember('b', 2);
    expect(memo.get('a')).toBe(1);
    expect(memo.get('a')).toBe(1);
    expect(memo.get('b')).toBe(2);
    expect(memo.get('c')).toBeUndefined();
    expect(memo.get('b')).toBe(2);
    memo.clear();
    expect(memo.get('b')).toBeUndefined();
    expect(memo.get('a')).toBeUndefined();
  });

  it('holds at most its capacity: when full it starts again, the last text included', () => {
    const memo = recentValues<number>(2);
    memo.remember('a', 1);
    memo.remember('b', 2);
    memo.remember('c', 3);
    expect(memo.get('a')).toBeUndefined();
    expect(memo.get('b')).toBeUndefined();
    expect(memo.get('c')).toBe(3);
  });
});
