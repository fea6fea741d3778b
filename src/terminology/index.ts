/**
 * Terminology lookups over the data in this folder (IEEE 11073-10101 MDC, LOINC, UCUM).
 * The tables are data, not code: every row names its source. This module only loads, validates
 * and indexes them. Loading happens once, at import; a wrong row stops the process with the file,
 * the row and the field, because a gateway that silently miscodes a vital sign is worse than one
 * that does not start.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';

export const MDC_SYSTEM = 'urn:iso:std:iso:11073:10101';
export const LOINC_SYSTEM = 'http://loinc.org';
export const UCUM_SYSTEM = 'http://unitsofmeasure.org';

export interface LoincCoding {
  readonly code: string;
  readonly display: string;
}

export interface MetricTerm {
  /** MDC code10 = partition * 65536 + term code, e.g. 150456. */
  readonly mdcCode: number;
  /** MDC reference id, e.g. MDC_PULS_OXIM_SAT_O2. */
  readonly refId: string;
  /** A human-readable name, used as the MDC coding display. */
  readonly display: string;
  /** The LOINC coding where one applies. */
  readonly loinc: LoincCoding | undefined;
  /** True when the FHIR R4 vital-signs profile applies (category vital-signs). */
  readonly vitalSign: boolean;
  /** The canonical UCUM unit code for this metric, e.g. "%". */
  readonly ucum: string;
  /** The MDC unit code10 for that unit, e.g. 262688. */
  readonly mdcUnitCode: number;
  /** Where the row's facts come from. */
  readonly source: string;
  /** Other reference ids that name the same code (e.g. MDC_ECG_CARD_BEAT_RATE for 147842). */
  readonly aliases?: readonly string[];
}

export interface UnitTerm {
  /** MDC unit code10 (partition 4), e.g. 262688. */
  readonly mdcCode: number;
  /** MDC unit reference id, e.g. MDC_DIM_PERCENT. */
  readonly refId: string;
  /** UCUM code, e.g. "%". */
  readonly ucum: string;
  /** Human-readable unit, used as Quantity.unit. */
  readonly display: string;
  readonly source: string;
}

/** A compound measurement whose parts become components of one panel Observation (e.g. NIBP). */
export interface PanelTerm {
  /** MDC code of the whole (e.g. 150020 MDC_PRESS_BLD_NONINV). */
  readonly mdcCode: number;
  readonly refId: string;
  readonly display: string;
  /** LOINC of the panel (e.g. 85354-9) where one applies. */
  readonly loinc: LoincCoding | undefined;
  readonly vitalSign: boolean;
  /** MDC codes of the components, in display order (e.g. sys, dia, mean). */
  readonly componentCodes: readonly number[];
  readonly source: string;
}

/** "verified": two independent sources agree, or the code was recomputed from a published term code. */
export type TermStatus = 'verified' | 'unverified';

export interface Provenance {
  readonly source: string;
  readonly status: TermStatus;
  /** What is uncertain (always present on unverified rows) or a caveat worth knowing. */
  readonly note: string | undefined;
}

export interface MdcTermParts {
  readonly partition: number;
  readonly term: number;
}

export interface MetricRecord extends MetricTerm, MdcTermParts, Provenance {
  readonly aliases: readonly string[];
  /** LOINC codings to send after `loinc` (e.g. 59408-5 next to 2708-6 for SpO2). */
  readonly additionalLoinc: readonly LoincCoding[];
}

export interface UnitRecord extends UnitTerm, MdcTermParts, Provenance {
  readonly aliases: readonly string[];
  /** True for the row findUnit({ ucum }) returns when several MDC units share this UCUM code. */
  readonly ucumDefault: boolean;
}

export interface PanelRecord extends PanelTerm, MdcTermParts, Provenance {}

export interface TerminologyTables {
  readonly metrics: readonly MetricRecord[];
  readonly units: readonly UnitRecord[];
  readonly panels: readonly PanelRecord[];
  readonly metricsByCode: ReadonlyMap<number, MetricRecord>;
  readonly metricsByRefId: ReadonlyMap<string, MetricRecord>;
  readonly unitsByCode: ReadonlyMap<number, UnitRecord>;
  readonly unitsByRefId: ReadonlyMap<string, UnitRecord>;
  readonly unitsByUcum: ReadonlyMap<string, readonly UnitRecord[]>;
  readonly defaultUnitByUcum: ReadonlyMap<string, UnitRecord>;
  readonly panelsByCode: ReadonlyMap<number, PanelRecord>;
  readonly panelsByRefId: ReadonlyMap<string, PanelRecord>;
  readonly panelByComponent: ReadonlyMap<number, PanelRecord>;
}

export class TerminologyDataError extends Error {
  override readonly name = 'TerminologyDataError';
}

/** code10 = partition * 2^16 + term (IEEE 11073-10101; HL7 PHD "Obtaining the Observation.code"). */
export function mdcCodeFromTerm(partition: number, term: number): number {
  if (!isUint16(partition) || !isUint16(term)) {
    throw new RangeError(`MDC partition and term must be integers 0..65535, got ${partition}::${term}`);
  }
  return partition * 65536 + term;
}

export function mdcTermOf(mdcCode: number): MdcTermParts {
  if (!Number.isInteger(mdcCode) || mdcCode < 0 || mdcCode > 0xffffffff) {
    throw new RangeError(`MDC code10 must be an unsigned 32-bit integer, got ${mdcCode}`);
  }
  return { partition: Math.floor(mdcCode / 65536), term: mdcCode % 65536 };
}

/** The LOINC mod-10 check digit of the digits before the hyphen (LOINC Users' Guide, Appendix). */
export function loincCheckDigit(digits: string): number {
  if (!/^\d+$/.test(digits)) throw new RangeError(`LOINC body must be digits, got "${digits}"`);
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    const d = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 0) {
      const doubled = d * 2;
      sum += doubled > 9 ? doubled - 9 : doubled;
    } else {
      sum += d;
    }
  }
  return (10 - (sum % 10)) % 10;
}

export function isValidLoincCode(code: string): boolean {
  const m = /^(\d{1,7})-(\d)$/.exec(code);
  return m !== null && m[1] !== undefined && loincCheckDigit(m[1]) === Number(m[2]);
}

function isUint16(n: number): boolean {
  return Number.isInteger(n) && n >= 0 && n <= 65535;
}

// ---- Row schemas -------------------------------------------------------------------------------

const loincSchema = z.strictObject({
  code: z.string().refine(isValidLoincCode, 'not a LOINC code with a valid mod-10 check digit'),
  display: z.string().min(1),
});

// Lower case occurs in real refIds (MDC_ECG_TIME_PD_QTc), so only the prefix and charset are enforced.
const refIdSchema = z.string().regex(/^MDC_[A-Za-z0-9_]+$/, 'refId must start with MDC_ and use A-Z, a-z, 0-9, _');

const codeFields = {
  mdcCode: z.number().int().positive(),
  partition: z.number().int().min(0).max(65535),
  term: z.number().int().min(0).max(65535),
  refId: refIdSchema,
  aliases: z.array(refIdSchema).optional(),
};

const provenanceFields = {
  source: z.string().min(1),
  status: z.enum(['verified', 'unverified']),
  note: z.string().min(1).optional(),
};

interface RowChecks {
  readonly mdcCode: number;
  readonly partition: number;
  readonly term: number;
  readonly status: TermStatus;
  readonly note?: string | undefined;
}

function checkRow(row: RowChecks, ctx: z.RefinementCtx): void {
  if (row.mdcCode !== row.partition * 65536 + row.term) {
    ctx.addIssue({
      code: 'custom',
      path: ['mdcCode'],
      message: `mdcCode ${row.mdcCode} is not partition*65536+term = ${row.partition * 65536 + row.term}`,
    });
  }
  if (row.status === 'unverified' && row.note === undefined) {
    ctx.addIssue({ code: 'custom', path: ['note'], message: 'an unverified row must say in note what is uncertain' });
  }
}

const metricRowSchema = z
  .strictObject({
    ...codeFields,
    display: z.string().min(1),
    loinc: loincSchema.nullable(),
    additionalLoinc: z.array(loincSchema).optional(),
    vitalSign: z.boolean(),
    ucum: z.string().min(1),
    mdcUnitCode: z.number().int().positive(),
    ...provenanceFields,
  })
  .superRefine((row, ctx) => {
    checkRow(row, ctx);
    if (row.vitalSign && row.loinc === null) {
      ctx.addIssue({ code: 'custom', path: ['loinc'], message: 'a vital sign needs a LOINC code' });
    }
  });

const unitRowSchema = z
  .strictObject({
    ...codeFields,
    ucum: z.string().min(1),
    ucumDefault: z.boolean().optional(),
    display: z.string().min(1),
    ...provenanceFields,
  })
  .superRefine((row, ctx) => {
    checkRow(row, ctx);
    if (row.partition !== 4) {
      ctx.addIssue({ code: 'custom', path: ['partition'], message: 'MDC units live in partition 4 (DIM)' });
    }
  });

const panelRowSchema = z
  .strictObject({
    ...codeFields,
    display: z.string().min(1),
    loinc: loincSchema.nullable(),
    vitalSign: z.boolean(),
    componentCodes: z.array(z.number().int().positive()).min(1),
    ...provenanceFields,
  })
  .superRefine((row, ctx) => {
    checkRow(row, ctx);
    if (row.vitalSign && row.loinc === null) {
      ctx.addIssue({ code: 'custom', path: ['loinc'], message: 'a vital-sign panel needs a LOINC code' });
    }
  });

const fileSchema = <T extends z.ZodType>(row: T) => z.strictObject({ description: z.string(), rows: z.array(row) });

type MetricRow = z.infer<typeof metricRowSchema>;
type UnitRow = z.infer<typeof unitRowSchema>;
type PanelRow = z.infer<typeof panelRowSchema>;

function parseFile<T extends z.ZodType>(file: string, schema: T, raw: unknown): Array<z.infer<T>> {
  const result = fileSchema(schema).safeParse(raw);
  if (result.success) return result.data.rows as Array<z.infer<T>>;
  const lines = result.error.issues.map((issue) => `${file} ${describePath(raw, issue.path)}: ${issue.message}`);
  throw new TerminologyDataError(`invalid terminology data:\n  ${lines.join('\n  ')}`);
}

/** "rows[3] (MDC_TEMP).loinc.code" — the refId makes a row findable without counting. */
function describePath(raw: unknown, path: readonly PropertyKey[]): string {
  const [first, index, ...rest] = path;
  if (first !== 'rows' || typeof index !== 'number') return path.map(String).join('.') || '(file)';
  const rows = isRecord(raw) && Array.isArray(raw['rows']) ? (raw['rows'] as unknown[]) : [];
  const row = rows[index];
  const refId = isRecord(row) && typeof row['refId'] === 'string' ? ` (${row['refId']})` : '';
  return `rows[${index}]${refId}${rest.length > 0 ? '.' + rest.map(String).join('.') : ''}`;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

// ---- Indexing and cross-table checks -----------------------------------------------------------

function toLoinc(l: { code: string; display: string } | null): LoincCoding | undefined {
  return l === null ? undefined : Object.freeze({ code: l.code, display: l.display });
}

function toMetric(r: MetricRow): MetricRecord {
  return Object.freeze({
    mdcCode: r.mdcCode,
    partition: r.partition,
    term: r.term,
    refId: r.refId,
    aliases: Object.freeze([...(r.aliases ?? [])]),
    display: r.display,
    loinc: toLoinc(r.loinc),
    additionalLoinc: Object.freeze((r.additionalLoinc ?? []).map((l) => toLoinc(l) as LoincCoding)),
    vitalSign: r.vitalSign,
    ucum: r.ucum,
    mdcUnitCode: r.mdcUnitCode,
    source: r.source,
    status: r.status,
    note: r.note,
  });
}

function toUnit(r: UnitRow): UnitRecord {
  return Object.freeze({
    mdcCode: r.mdcCode,
    partition: r.partition,
    term: r.term,
    refId: r.refId,
    aliases: Object.freeze([...(r.aliases ?? [])]),
    ucum: r.ucum,
    ucumDefault: r.ucumDefault ?? false,
    display: r.display,
    source: r.source,
    status: r.status,
    note: r.note,
  });
}

function toPanel(r: PanelRow): PanelRecord {
  return Object.freeze({
    mdcCode: r.mdcCode,
    partition: r.partition,
    term: r.term,
    refId: r.refId,
    display: r.display,
    loinc: toLoinc(r.loinc),
    vitalSign: r.vitalSign,
    componentCodes: Object.freeze([...r.componentCodes]),
    source: r.source,
    status: r.status,
    note: r.note,
  });
}

/**
 * Validates the three tables (as parsed JSON) and builds the indexes. Exported so tests can feed
 * broken data; the module itself calls it once at import with the files in this folder.
 */
export function parseTerminologyTables(raw: { metrics: unknown; units: unknown; panels: unknown }): TerminologyTables {
  const metrics = parseFile('metrics.json', metricRowSchema, raw.metrics).map(toMetric);
  const units = parseFile('units.json', unitRowSchema, raw.units).map(toUnit);
  const panels = parseFile('panels.json', panelRowSchema, raw.panels).map(toPanel);

  const problems: string[] = [];
  // Codes and refIds are global in MDC, so clashes are checked across all three tables.
  const seenCodes = new Map<number, string>();
  const seenRefIds = new Map<string, string>();
  const claim = (file: string, rec: { mdcCode: number; refId: string }, names: readonly string[]): void => {
    const where = `${file} ${rec.refId}`;
    const prior = seenCodes.get(rec.mdcCode);
    if (prior !== undefined) problems.push(`${where}: mdcCode ${rec.mdcCode} is already used by ${prior}`);
    else seenCodes.set(rec.mdcCode, where);
    for (const name of names) {
      const priorName = seenRefIds.get(name);
      if (priorName !== undefined) problems.push(`${where}: refId/alias ${name} is already used by ${priorName}`);
      else seenRefIds.set(name, where);
    }
  };

  const metricsByCode = new Map<number, MetricRecord>();
  const metricsByRefId = new Map<string, MetricRecord>();
  for (const m of metrics) {
    claim('metrics.json', m, [m.refId, ...m.aliases]);
    metricsByCode.set(m.mdcCode, m);
    for (const name of [m.refId, ...m.aliases]) metricsByRefId.set(name, m);
  }

  const unitsByCode = new Map<number, UnitRecord>();
  const unitsByRefId = new Map<string, UnitRecord>();
  const unitsByUcum = new Map<string, UnitRecord[]>();
  for (const u of units) {
    claim('units.json', u, [u.refId, ...u.aliases]);
    unitsByCode.set(u.mdcCode, u);
    for (const name of [u.refId, ...u.aliases]) unitsByRefId.set(name, u);
    unitsByUcum.set(u.ucum, [...(unitsByUcum.get(u.ucum) ?? []), u]);
  }
  const defaultUnitByUcum = new Map<string, UnitRecord>();
  for (const [ucum, group] of unitsByUcum) {
    const defaults = group.filter((u) => u.ucumDefault);
    const chosen = group.length === 1 && defaults.length === 0 ? group : defaults;
    const only = chosen[0];
    if (chosen.length !== 1 || only === undefined) {
      problems.push(`units.json: UCUM "${ucum}" is shared by ${group.map((u) => u.refId).join(', ')}; exactly one must set ucumDefault`);
    } else {
      defaultUnitByUcum.set(ucum, only);
    }
  }

  for (const m of metrics) {
    const unit = unitsByCode.get(m.mdcUnitCode);
    if (unit === undefined) problems.push(`metrics.json ${m.refId}: mdcUnitCode ${m.mdcUnitCode} is not in units.json`);
    else if (unit.ucum !== m.ucum) {
      problems.push(`metrics.json ${m.refId}: ucum "${m.ucum}" differs from ${unit.refId}'s ucum "${unit.ucum}"`);
    }
  }

  const panelsByCode = new Map<number, PanelRecord>();
  const panelsByRefId = new Map<string, PanelRecord>();
  const panelByComponent = new Map<number, PanelRecord>();
  for (const p of panels) {
    claim('panels.json', p, [p.refId]);
    panelsByCode.set(p.mdcCode, p);
    panelsByRefId.set(p.refId, p);
    for (const c of p.componentCodes) {
      if (!metricsByCode.has(c)) problems.push(`panels.json ${p.refId}: component ${c} is not in metrics.json`);
      const other = panelByComponent.get(c);
      if (other !== undefined) problems.push(`panels.json ${p.refId}: component ${c} already belongs to ${other.refId}`);
      else panelByComponent.set(c, p);
    }
  }

  if (problems.length > 0) {
    throw new TerminologyDataError(`inconsistent terminology data:\n  ${problems.join('\n  ')}`);
  }

  return Object.freeze({
    metrics: Object.freeze(metrics),
    units: Object.freeze(units),
    panels: Object.freeze(panels),
    metricsByCode,
    metricsByRefId,
    unitsByCode,
    unitsByRefId,
    unitsByUcum: new Map([...unitsByUcum].map(([k, v]) => [k, Object.freeze(v)] as const)),
    defaultUnitByUcum,
    panelsByCode,
    panelsByRefId,
    panelByComponent,
  });
}

function readJson(file: string): unknown {
  const url = new URL(`./${file}`, import.meta.url);
  try {
    return JSON.parse(readFileSync(url, 'utf8'));
  } catch (err) {
    throw new TerminologyDataError(`cannot read ${url.pathname}: ${(err as Error).message}`);
  }
}

const tables = parseTerminologyTables({
  metrics: readJson('metrics.json'),
  units: readJson('units.json'),
  panels: readJson('panels.json'),
});

// ---- Lookups -----------------------------------------------------------------------------------

/** With several criteria, all must point at the same row; otherwise nothing is found. */
function pick<T>(candidates: ReadonlyArray<{ given: boolean; found: T | undefined }>): T | undefined {
  const given = candidates.filter((c) => c.given);
  const first = given[0];
  if (first === undefined || first.found === undefined) return undefined;
  return given.every((c) => c.found === first.found) ? first.found : undefined;
}

export function findMetric(query: { mdcCode?: number; refId?: string }): MetricTerm | undefined {
  return findMetricRecord(query);
}

export function findMetricRecord(query: { mdcCode?: number; refId?: string }): MetricRecord | undefined {
  return pick([
    { given: query.mdcCode !== undefined, found: query.mdcCode === undefined ? undefined : tables.metricsByCode.get(query.mdcCode) },
    { given: query.refId !== undefined, found: query.refId === undefined ? undefined : tables.metricsByRefId.get(query.refId) },
  ]);
}

/** By UCUM alone this returns the ucumDefault row; use findUnitsByUcum for all of them. */
export function findUnit(query: { mdcCode?: number; refId?: string; ucum?: string }): UnitTerm | undefined {
  return findUnitRecord(query);
}

export function findUnitRecord(query: { mdcCode?: number; refId?: string; ucum?: string }): UnitRecord | undefined {
  const { mdcCode, refId, ucum } = query;
  const byCodeOrRef = pick([
    { given: mdcCode !== undefined, found: mdcCode === undefined ? undefined : tables.unitsByCode.get(mdcCode) },
    { given: refId !== undefined, found: refId === undefined ? undefined : tables.unitsByRefId.get(refId) },
  ]);
  if (ucum === undefined) return byCodeOrRef;
  if (mdcCode === undefined && refId === undefined) return tables.defaultUnitByUcum.get(ucum);
  // A specific unit was asked for: the UCUM code only has to agree with it, not be its default.
  return byCodeOrRef !== undefined && byCodeOrRef.ucum === ucum ? byCodeOrRef : undefined;
}

export function findUnitsByUcum(ucum: string): readonly UnitTerm[] {
  return tables.unitsByUcum.get(ucum) ?? [];
}

/** The panel that a component code belongs to, if any. */
export function findPanelOf(componentMdcCode: number): PanelTerm | undefined {
  return tables.panelByComponent.get(componentMdcCode);
}

export function findPanel(query: { mdcCode?: number; refId?: string }): PanelTerm | undefined {
  return pick([
    { given: query.mdcCode !== undefined, found: query.mdcCode === undefined ? undefined : tables.panelsByCode.get(query.mdcCode) },
    { given: query.refId !== undefined, found: query.refId === undefined ? undefined : tables.panelsByRefId.get(query.refId) },
  ]);
}

/** LOINC codings beyond MetricTerm.loinc (e.g. 59408-5 for SpO2); empty when there are none. */
export function additionalLoincCodings(mdcCode: number): readonly LoincCoding[] {
  return tables.metricsByCode.get(mdcCode)?.additionalLoinc ?? [];
}

export function allMetrics(): readonly MetricTerm[] {
  return tables.metrics;
}

export function allUnits(): readonly UnitTerm[] {
  return tables.units;
}

export function allPanels(): readonly PanelTerm[] {
  return tables.panels;
}

/** Rows with partition/term and provenance (status, note), for reports and audits. */
export function metricRecords(): readonly MetricRecord[] {
  return tables.metrics;
}

export function unitRecords(): readonly UnitRecord[] {
  return tables.units;
}

export function panelRecords(): readonly PanelRecord[] {
  return tables.panels;
}
