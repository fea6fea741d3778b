/**
 * The test gateway (gateway-harness.ts) with an `http` section (tokens, protectHealthAndMetrics)
 * and devices from the test, plus a small fetch helper.
 */
import { startTestGateway } from './gateway-harness.ts';
import type { GatewayHandle } from '../../src/gateway.ts';

export interface HttpTestGateway {
  readonly gateway: GatewayHandle;
  readonly logLines: string[];
  readonly baseUrl: string;
  get(path: string, token?: string): Promise<{ status: number; headers: Headers; text: string; json: () => unknown }>;
  stop(): Promise<void>;
}

export async function startHttpTestGateway(options: { brokers: readonly string[]; http?: Record<string, unknown>; devices?: unknown[] }): Promise<HttpTestGateway> {
  const { gateway, logLines, stop } = await startTestGateway({
    brokers: options.brokers,
    config: { http: options.http ?? {}, devices: options.devices ?? [] },
  });
  const baseUrl = `http://127.0.0.1:${gateway.http.port}`;
  return {
    gateway,
    logLines,
    baseUrl,
    async get(path, token) {
      const response = await fetch(`${baseUrl}${path}`, { headers: token === undefined ? {} : { authorization: `Bearer ${token}` } });
      const text = await response.text();
      return { status: response.status, headers: response.headers, text, json: () => JSON.parse(text) as unknown };
    },
    stop,
  };
}
