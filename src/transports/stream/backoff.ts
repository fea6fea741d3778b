/**
 * Reconnect back-off: exponential, capped, jittered. Pure: the random number is passed in, so a
 * test can pin the delay sequence.
 */
export interface BackoffSettings {
  /** Delay before the first retry. */
  readonly initialDelayMs: number;
  /** No delay is ever longer than this. */
  readonly maxDelayMs: number;
  /** Growth per failed attempt (2 doubles the delay). */
  readonly multiplier: number;
  /** Fraction of the delay randomised either way (0.2: ±20%), so many devices do not retry in lockstep. */
  readonly jitter: number;
}

export const defaultBackoff: BackoffSettings = { initialDelayMs: 500, maxDelayMs: 30_000, multiplier: 2, jitter: 0.2 };

/** The delay before retry number `attempt` (0 = first retry); `random` is in [0, 1). */
export function backoffDelay(attempt: number, settings: BackoffSettings, random: number): number {
  const exponent = Math.min(Math.max(attempt, 0), 64);
  const base = Math.min(settings.maxDelayMs, settings.initialDelayMs * settings.multiplier ** exponent);
  const jittered = base * (1 + settings.jitter * (2 * random - 1));
  return Math.round(Math.min(settings.maxDelayMs, Math.max(1, jittered)));
}
