import { describe, expect, it } from 'vitest';
import { createSenderActivity } from './sender-activity.ts';

describe('sender activity (who could still add to a Kafka send)', () => {
  function activityAt(start: number) {
    const clock = { now: start };
    return { clock, senders: createSenderActivity({ windowMs: 1_000, now: () => clock.now }) };
  }

  it('no sender yet: no one may join', () => {
    expect(activityAt(10_000).senders.othersMayJoin()).toBe(false);
  });

  it('one sender waiting for its reply (a central station): no one else may join; once answered, it may send again', () => {
    const { senders } = activityAt(10_000);
    const station = senders.newSender();
    senders.frameReceived(station);
    expect(senders.othersMayJoin()).toBe(false);
    senders.replied(station);
    expect(senders.othersMayJoin()).toBe(true);
  });

  it('many monitors, a few awaiting replies: others may join until every recent sender awaits one', () => {
    const { senders } = activityAt(10_000);
    const monitors = Array.from({ length: 3 }, () => senders.newSender());
    for (const monitor of monitors) senders.frameReceived(monitor);
    senders.replied(monitors[0]!);
    senders.replied(monitors[1]!);
    expect(senders.othersMayJoin()).toBe(true);
    senders.frameReceived(monitors[0]!);
    senders.frameReceived(monitors[1]!);
    expect(senders.othersMayJoin()).toBe(false);
    // A second frame of a sender already awaiting a reply changes nothing; one reply frees it.
    senders.frameReceived(monitors[2]!);
    senders.replied(monitors[2]!);
    expect(senders.othersMayJoin()).toBe(true);
  });

  it('a sender counts as recent for the current and the previous window, once, then no longer', () => {
    const { clock, senders } = activityAt(10_000);
    const quiet = senders.newSender();
    const busy = senders.newSender();
    senders.frameReceived(quiet);
    senders.replied(quiet);
    clock.now = 11_500; // next window: quiet is still recent
    senders.frameReceived(busy);
    expect(senders.othersMayJoin()).toBe(true);
    senders.replied(busy);
    senders.frameReceived(busy); // busy in both windows is one sender, and it awaits a reply
    clock.now = 12_100; // quiet's window has passed: only busy is recent, and it awaits a reply
    expect(senders.othersMayJoin()).toBe(false);
    clock.now = 14_000; // a gap of windows: nothing recent
    senders.replied(busy);
    expect(senders.othersMayJoin()).toBe(false);
  });
});
