/**
 * The suite's one condition poller: calls `probe` every `intervalMs` until it returns something other
 * than undefined or false, and returns that; after `timeoutMs` it throws, naming `what` and the probe's
 * last error.
 */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 20_000, intervalMs = 200): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError = '';
  for (;;) {
    try {
      const result = await probe();
      if (result !== undefined && result !== false) return result;
    } catch (error) {
      lastError = ` (last error: ${error instanceof Error ? error.message : String(error)})`;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
