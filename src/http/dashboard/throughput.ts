/**
 * Throughput per second for the dashboard's chart: a fixed ring of per-second counts (default the
 * last 10 minutes), filled by sampling the activity tracker's running totals once a second and
 * keeping the differences. Pure: the caller passes the time and the totals; memory is fixed.
 */
export interface ThroughputTotals {
  readonly messagesReceived: number;
  readonly observationsPublished: number;
  readonly deadLetters: number;
}

export interface ThroughputSeries {
  /** Seconds covered (the length of each array). */
  readonly seconds: number;
  /** Epoch milliseconds of the end of the last complete second (the right edge of the chart). */
  readonly endMs: number;
  /** Oldest first, one entry per second. */
  readonly messages: number[];
  readonly observations: number[];
  readonly deadLetters: number[];
}

export function createThroughputRing(seconds = 600) {
  const messages = new Array<number>(seconds).fill(0);
  const observations = new Array<number>(seconds).fill(0);
  const deadLetters = new Array<number>(seconds).fill(0);
  let head = 0; // index of the oldest second
  let lastSecond: number | undefined;
  let last: ThroughputTotals | undefined;

  function push(m: number, o: number, d: number): void {
    messages[head] = m;
    observations[head] = o;
    deadLetters[head] = d;
    head = (head + 1) % seconds;
  }

  const ordered = (values: number[]) => [...values.slice(head), ...values.slice(0, head)];

  return {
    /**
     * Records the totals as of `at`. What changed since the last sample counts for the second that
     * just ended; seconds skipped (a stalled event loop) are filled with zeros.
     */
    sample(at: Date, totals: ThroughputTotals): void {
      const second = Math.floor(at.getTime() / 1000);
      if (last === undefined || lastSecond === undefined) {
        last = { ...totals };
        lastSecond = second;
        return;
      }
      if (second <= lastSecond) return;
      const gap = Math.min(seconds, second - lastSecond - 1);
      for (let i = 0; i < gap; i += 1) push(0, 0, 0);
      push(
        Math.max(0, totals.messagesReceived - last.messagesReceived),
        Math.max(0, totals.observationsPublished - last.observationsPublished),
        Math.max(0, totals.deadLetters - last.deadLetters),
      );
      last = { ...totals };
      lastSecond = second;
    },

    series(): ThroughputSeries {
      return {
        seconds,
        endMs: (lastSecond ?? 0) * 1000,
        messages: ordered(messages),
        observations: ordered(observations),
        deadLetters: ordered(deadLetters),
      };
    },

    /** Sum of the last `windowSeconds` seconds of each series. */
    recent(windowSeconds: number): { messages: number; observations: number; deadLetters: number } {
      const n = Math.min(seconds, windowSeconds);
      const tail = (values: number[]) => ordered(values).slice(-n).reduce((sum, value) => sum + value, 0);
      return { messages: tail(messages), observations: tail(observations), deadLetters: tail(deadLetters) };
    },
  };
}

export type ThroughputRing = ReturnType<typeof createThroughputRing>;
