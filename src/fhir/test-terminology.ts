/**
 * A small, fixed terminology table for the builders' unit tests, so they test the builders and not the
 * project's data (which has its own tests). Rows follow reference/terminology.md.
 */
import type { MetricTerm, PanelTerm, UnitTerm } from '../terminology/index.ts';
import type { TerminologyLookups } from './terminology-lookups.ts';

const units: UnitTerm[] = [
  { mdcCode: 262688, refId: 'MDC_DIM_PERCENT', ucum: '%', display: '%', source: 'test' },
  { mdcCode: 264864, refId: 'MDC_DIM_BEAT_PER_MIN', ucum: '/min', display: 'bpm', source: 'test' },
  { mdcCode: 266016, refId: 'MDC_DIM_MMHG', ucum: 'mm[Hg]', display: 'mmHg', source: 'test' },
  { mdcCode: 268192, refId: 'MDC_DIM_DEGC', ucum: 'Cel', display: '°C', source: 'test' },
];

const metric = (
  mdcCode: number,
  refId: string,
  loinc: string | undefined,
  vitalSign: boolean,
  ucum: string,
  mdcUnitCode: number,
): MetricTerm => ({
  mdcCode,
  refId,
  display: refId,
  loinc: loinc === undefined ? undefined : { code: loinc, display: `LOINC ${loinc}` },
  vitalSign,
  ucum,
  mdcUnitCode,
  source: 'test',
});

const metrics: MetricTerm[] = [
  metric(147842, 'MDC_ECG_HEART_RATE', '8867-4', true, '/min', 264864),
  metric(150456, 'MDC_PULS_OXIM_SAT_O2', '2708-6', true, '%', 262688),
  metric(150364, 'MDC_TEMP_BODY', '8310-5', true, 'Cel', 268192),
  metric(150021, 'MDC_PRESS_BLD_NONINV_SYS', '8480-6', true, 'mm[Hg]', 266016),
  metric(150022, 'MDC_PRESS_BLD_NONINV_DIA', '8462-4', true, 'mm[Hg]', 266016),
  metric(150023, 'MDC_PRESS_BLD_NONINV_MEAN', '8478-0', false, 'mm[Hg]', 266016),
];

const panels: PanelTerm[] = [
  {
    mdcCode: 150020,
    refId: 'MDC_PRESS_BLD_NONINV',
    display: 'Non-invasive blood pressure',
    loinc: { code: '85354-9', display: 'Blood pressure panel with all children optional' },
    vitalSign: true,
    componentCodes: [150021, 150022, 150023],
    source: 'test',
  },
];

export const testTerminology: TerminologyLookups = {
  findMetric: ({ mdcCode, refId }) => metrics.find((m) => m.mdcCode === mdcCode || (mdcCode === undefined && m.refId === refId)),
  findUnit: ({ mdcCode, refId, ucum }) =>
    units.find(
      (u) =>
        (mdcCode !== undefined && u.mdcCode === mdcCode) ||
        (refId !== undefined && u.refId === refId) ||
        (ucum !== undefined && u.ucum === ucum),
    ),
  findPanelOf: (code) => panels.find((p) => p.componentCodes.includes(code)),
  additionalLoincCodings: (code) => (code === 150456 ? [{ code: '59408-5', display: 'Oxygen saturation in Arterial blood by Pulse oximetry' }] : []),
};
