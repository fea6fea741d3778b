/**
 * A bounded memo of values recently worked out from a string (a date/time, a containment path, a
 * split field): devices repeat the same texts message after message. Emptied at once when full, so it
 * never holds more than `capacity` entries and costs nothing to keep in order. Values are shared
 * between messages: callers freeze them.
 */
export interface RecentValues<V> {
  get(text: string): V | undefined;
  remember(text: string, value: V): V;
  clear(): void;
}

export function recentValues<V>(capacity = 4096): RecentValues<V> {
  const values = new Map<string, V>();
  return {
    get: (text) => values.get(text),
    remember(text, value) {
      if (values.size >= capacity) values.clear();
      values.set(text, value);
      return value;
    },
    clear: () => values.clear(),
  };
}
