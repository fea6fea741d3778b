/**
 * Building blocks for device simulators. Seeded pseudo-randomness: the same seed gives the same run, so a test or
 * a demo can be repeated exactly. mulberry32: small, fast, good enough for simulated vital signs.
 */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A value that wanders by at most `step` per call, pulled back towards `centre`, kept in [min, max]: a vital sign that varies slowly, as a real patient's does. */
export function drift(random: () => number, centre: number, step: number, min: number, max: number): () => number {
  let value = centre;
  return () => {
    value += (random() * 2 - 1) * step + (centre - value) * 0.05;
    value = Math.min(max, Math.max(min, value));
    return value;
  };
}
