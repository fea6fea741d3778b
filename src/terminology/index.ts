/**
 * Terminology lookups over the data in this folder (IEEE 11073-10101 MDC, LOINC, UCUM).
 * The tables are data, not code: every row names its source. This module only loads, validates
 * and indexes them.
 *
 * STUB: the interface below is fixed; the data files and the implementation are being written.
 */

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

export declare function findMetric(query: { mdcCode?: number; refId?: string }): MetricTerm | undefined;
export declare function findUnit(query: { mdcCode?: number; refId?: string; ucum?: string }): UnitTerm | undefined;
/** The panel that a component code belongs to, if any. */
export declare function findPanelOf(componentMdcCode: number): PanelTerm | undefined;
export declare function allMetrics(): readonly MetricTerm[];
export declare function allUnits(): readonly UnitTerm[];
export declare function allPanels(): readonly PanelTerm[];
