/**
 * Which MLLP senders could still send a message soon: those that sent one recently and are not
 * waiting for our reply to it. The Kafka publisher lingers for more records only while there is one
 * (kafka.lingerMs): with 1,000 monitors each sending once a second a short wait gathers several
 * messages into one produce request, but when every recent sender is already waiting for its ACK
 * (one central station, or a few connections sending as fast as ACKs allow) nobody else can add to
 * the batch, and a wait would only slow them down.
 *
 * O(1) per call: "recent" is the current and the previous window (so 1-2 windows back), counted
 * without scanning the connections. A closed connection still counts as recent until its windows
 * pass, which at worst lets a send wait lingerMs for nothing.
 */

/** Per connection: the window it last sent in, and whether a message of it awaits our reply. */
export interface SenderState {
  lastWindow: number;
  awaitingReply: boolean;
}

export interface SenderActivity {
  newSender(): SenderState;
  /** A frame arrived from this sender: it is recent, and waits for our reply until `replied`. */
  frameReceived(sender: SenderState): void;
  /** Every frame the sender had sent is answered (or dropped): it could send again. */
  replied(sender: SenderState): void;
  /** Is there a recent sender that is not waiting for our reply? */
  othersMayJoin(): boolean;
}

export function createSenderActivity(options: { windowMs?: number; now?: () => number } = {}): SenderActivity {
  const windowMs = options.windowMs ?? 1_000;
  const now = options.now ?? Date.now;
  let currentWindow = Math.floor(now() / windowMs);
  let inCurrent = 0;
  let inPrevious = 0;
  /** Senders counted in both the previous and the current window. */
  let inBoth = 0;
  let awaiting = 0;

  function roll(): number {
    const window = Math.floor(now() / windowMs);
    if (window !== currentWindow) {
      inPrevious = window === currentWindow + 1 ? inCurrent : 0;
      inCurrent = 0;
      inBoth = 0;
      currentWindow = window;
    }
    return window;
  }

  return {
    newSender: () => ({ lastWindow: Number.NEGATIVE_INFINITY, awaitingReply: false }),

    frameReceived(sender) {
      const window = roll();
      if (sender.lastWindow !== window) {
        if (sender.lastWindow === window - 1) inBoth += 1;
        sender.lastWindow = window;
        inCurrent += 1;
      }
      if (!sender.awaitingReply) {
        sender.awaitingReply = true;
        awaiting += 1;
      }
    },

    replied(sender) {
      if (!sender.awaitingReply) return;
      sender.awaitingReply = false;
      awaiting -= 1;
    },

    othersMayJoin() {
      roll();
      return inCurrent + inPrevious - inBoth > awaiting;
    },
  };
}
