/**
 * A bounded memo of values recently worked out from a string (a date/time, a containment path, a
 * split field): devices repeat the same texts message after message. Emptied at once when full, so it
 * never holds more than `capacity` entries and costs nothing to keep in order. Values are shared
 * between messages: callers freeze them. The last text asked for is compared before the map (which
 * hashes the text): a message repeats one value in a row (its time in OBR-7 and every OBX-14).
 */
export interface RecentValues<V> {
  get(text: string): V | undefined;
  remember(text: string, value: V): V;
  clear(): void;
}

export function recentValues<V>(capacity = 4096): RecentValues<V> {
  const values = new Map<string, V>();
  let lastText: string | undefined;
  let lastValue: V | undefined;
  return {
    get(text) {
      if (text === lastText) return lastValue;
      const value = values.get(text);
      if (value !== undefined) {
        lastText = text;
        lastValue = value;
      }
      return value;
    },
    remember(text, value) {
      if (values.size >= capacity) values.clear();
      values.set(text, value);
      lastText = text;
      lastValue = value;
      return value;
    },
    clear() {
      values.clear();
      lastText = undefined;
      lastValue = undefined;
    },
  };
}
