/**
 * Writing to a FHIR R4 server, behind an interface of our own: one transaction Bundle per call, and
 * an answer the sink can act on (written / rejected with the server's OperationOutcome / unavailable).
 * The implementation is fhir-kit-client; its results are untyped, so every response is parsed here
 * with zod before anything is believed (reference/libraries.md).
 */
import { Client } from 'fhir-kit-client';
import { z } from 'zod';

/** One entry of a transaction: `PUT Observation/<id>` or a conditional `PUT Device?identifier=...`. */
export interface TransactionEntry {
  readonly method: 'PUT';
  readonly url: string;
  readonly resource: Readonly<Record<string, unknown>>;
}

/** The OperationOutcome a server sent (kept as it came: servers add fields our schemas do not know). */
export type ServerOperationOutcome = z.infer<typeof serverOutcome>;

export type WriteResult =
  | { readonly kind: 'written'; readonly status: number }
  /** 4xx other than 408/429: sending the same again will fail the same way. */
  | { readonly kind: 'rejected'; readonly status: number; readonly outcome: ServerOperationOutcome }
  /** 5xx, 408, 429, a network error, a timeout or an answer we cannot make sense of: try again later. */
  | { readonly kind: 'unavailable'; readonly status?: number; readonly detail: string };

export interface FhirWriter {
  transaction(entries: readonly TransactionEntry[]): Promise<WriteResult>;
}

const serverOutcome = z.looseObject({
  resourceType: z.literal('OperationOutcome'),
  issue: z
    .array(
      z.looseObject({
        severity: z.string(),
        code: z.string(),
        diagnostics: z.string().optional(),
        details: z.looseObject({ text: z.string().optional() }).optional(),
        expression: z.array(z.string()).optional(),
      }),
    )
    .min(1),
});

const transactionResponse = z.looseObject({
  resourceType: z.literal('Bundle'),
  type: z.literal('transaction-response'),
  entry: z.array(z.looseObject({ response: z.looseObject({ status: z.string() }) })),
});

const httpError = z.object({ response: z.object({ status: z.number().int(), data: z.unknown() }) });

export interface FhirKitWriterOptions {
  readonly baseUrl: string;
  readonly bearerToken?: string;
  /** Deadline of one HTTP request. */
  readonly requestTimeoutMs?: number;
}

export function createFhirKitWriter(options: FhirKitWriterOptions): FhirWriter {
  const client = new Client({
    baseUrl: options.baseUrl,
    customHeaders: { 'content-type': 'application/fhir+json' },
    ...(options.bearerToken === undefined ? {} : { bearerToken: options.bearerToken }),
  });
  const timeoutMs = options.requestTimeoutMs ?? 30_000;

  return {
    async transaction(entries) {
      const bundle = {
        resourceType: 'Bundle' as const,
        type: 'transaction',
        entry: entries.map((entry) => ({ resource: entry.resource, request: { method: entry.method, url: entry.url } })),
      };
      let answer: unknown;
      try {
        answer = await client.transaction({ body: bundle, options: { signal: AbortSignal.timeout(timeoutMs) } });
      } catch (error) {
        return classifyError(error);
      }
      const parsed = transactionResponse.safeParse(answer);
      if (!parsed.success) {
        return { kind: 'unavailable', detail: `the server answered 2xx with something that is not a transaction-response Bundle: ${z.prettifyError(parsed.error)}` };
      }
      if (parsed.data.entry.length !== entries.length) {
        return { kind: 'unavailable', detail: `transaction-response has ${parsed.data.entry.length} entries for ${entries.length} sent` };
      }
      const failed = parsed.data.entry.find((entry) => !/^2\d\d/.test(entry.response.status));
      if (failed !== undefined) {
        return { kind: 'unavailable', detail: `the transaction was accepted but an entry reports "${failed.response.status}"` };
      }
      return { kind: 'written', status: 200 };
    },
  };
}

function classifyError(error: unknown): WriteResult {
  const http = httpError.safeParse(error);
  if (!http.success) {
    const detail = error instanceof Error ? `${error.name}: ${error.message}${causeText(error)}` : String(error);
    return { kind: 'unavailable', detail };
  }
  const { status, data } = http.data.response;
  if (status >= 400 && status < 500 && status !== 408 && status !== 429) {
    const outcome = serverOutcome.safeParse(data);
    return {
      kind: 'rejected',
      status,
      outcome: outcome.success
        ? outcome.data
        : {
            resourceType: 'OperationOutcome',
            issue: [{ severity: 'error', code: 'processing', diagnostics: `HTTP ${status} without an OperationOutcome: ${truncate(JSON.stringify(data))}` }],
          },
    };
  }
  const outcome = serverOutcome.safeParse(data);
  const said = outcome.success ? outcome.data.issue.map((i) => i.diagnostics ?? i.details?.text ?? i.code).join('; ') : truncate(JSON.stringify(data));
  return { kind: 'unavailable', status, detail: `HTTP ${status}: ${said}` };
}

function causeText(error: Error): string {
  return error.cause instanceof Error ? ` (${error.cause.message})` : '';
}

function truncate(text: string | undefined, max = 500): string {
  if (text === undefined) return '';
  return text.length > max ? `${text.slice(0, max)}...` : text;
}
