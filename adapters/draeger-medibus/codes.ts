/**
 * Medibus code page 1 (current measured data, response to 0x24) as data: what each code measures,
 * the unit the device sends it in, the MDC code it maps to (only where the terminology table has a
 * row for that concept), and where each fact comes from.
 *
 * Sources (read, not copied):
 * - REF: shared/reference/device-protocols.md section A (0x78 PEEP, 0x7D peak pressure, 0x88 TV,
 *   0xB8 MV, 0xD6 RR, 0xE6 EtCO2 mmHg, 0xEB SpO2, 0xE1 pulse (oximeter), 0xF0 FiO2).
 * - MDPNP: mdpnp/mdpnp:devices/draeger/src/main/resources/org/mdpnp/devices/draeger/medibus/types/measured-data-cp1.map
 *   (code, name, unit for most rows; classic Medibus as OpenICE speaks it to Evita XL / V500 / Apollo).
 * - VSC: xeonfusion/VSCaptureDrgVent:Class2.cs, enums MeasurementCP1 (classic Medibus, unit comments)
 *   and MedibusXMeasurementCP1 (MEDIBUS.X names and units, apparently transcribed from Dräger's spec).
 *
 * Where the sources disagree the row's note says so. A code not listed here is published as a
 * device-local code (system `medibus-cp1`) with its value withheld (no unit is known for it).
 */

/** Units as Medibus sends them (the names mdpnp and VSCaptureDrgVent give). */
export type MedibusUnit =
  | 'mbar'
  | 'mL'
  | 'L'
  | 'L/min'
  | 'mL/min'
  | '10 mL/min'
  | '/min'
  | '%'
  | 'mmHg'
  | 'kPa'
  | 's'
  | 'Cel'
  | '1'
  | 'mL/mbar'
  | 'L/bar'
  | 'mbar/(L/s)'
  | '/min/L';

export interface Cp1Code {
  /** The code byte, e.g. 0x78. */
  readonly code: number;
  /** Short label as on the device screen. */
  readonly label: string;
  readonly display: string;
  /** Undefined when no source gives one: the value is then withheld (see normalize.ts). */
  readonly unit: MedibusUnit | undefined;
  /** MDC code10 of the concept, only where src/terminology/metrics.json has the row. */
  readonly mdcCode?: number;
  readonly source: string;
  readonly note?: string;
}

const REF = 'REF';
const MDPNP = 'MDPNP';
const VSC = 'VSC';

const rows: readonly Cp1Code[] = [
  { code: 0x05, label: 'Paw', display: 'Airway pressure', unit: 'mbar', source: `${MDPNP} (BreathingPressure, mbar); ${VSC}` },
  { code: 0x06, label: 'Cdyn frac', display: 'Compliance (fraction)', unit: 'mL/mbar', source: `${MDPNP} (ComplianceFrac, mlPerMBar)` },
  { code: 0x07, label: 'Cdyn', display: 'Dynamic compliance', unit: 'L/bar', source: `${MDPNP} (Compliance, no unit); ${VSC} (MEDIBUS.X: Cdyn L/bar)` },
  { code: 0x08, label: 'R', display: 'Resistance', unit: 'mbar/(L/s)', source: `${MDPNP} (Resistance, no unit); ${VSC} (MEDIBUS.X: R mbar/(L/s))` },
  { code: 0x09, label: "V'CO2", display: 'CO2 production', unit: 'mL/min', source: `${MDPNP} (CarbonDioxideProduction, no unit); ${VSC} (mLPerMin)` },
  { code: 0x0b, label: 'R frac', display: 'Resistance (fraction)', unit: undefined, source: `${MDPNP} (ResistanceFrac, no unit)` },
  { code: 0x50, label: 'inHal', display: 'Inspiratory halothane', unit: 'kPa', source: `${MDPNP}; ${VSC}` },
  { code: 0x51, label: 'etHal', display: 'End-tidal halothane', unit: 'kPa', source: `${MDPNP}; ${VSC}` },
  { code: 0x52, label: 'inEnf', display: 'Inspiratory enflurane', unit: 'kPa', source: `${MDPNP}; ${VSC}` },
  { code: 0x53, label: 'etEnf', display: 'End-tidal enflurane', unit: 'kPa', source: `${MDPNP}; ${VSC}` },
  { code: 0x54, label: 'inIso', display: 'Inspiratory isoflurane', unit: 'kPa', source: `${MDPNP}; ${VSC}` },
  { code: 0x55, label: 'etIso', display: 'End-tidal isoflurane', unit: 'kPa', source: `${MDPNP}; ${VSC}` },
  { code: 0x56, label: 'inDes', display: 'Inspiratory desflurane', unit: 'kPa', source: `${MDPNP}; ${VSC}` },
  { code: 0x57, label: 'etDes', display: 'End-tidal desflurane', unit: 'kPa', source: `${MDPNP}; ${VSC}` },
  { code: 0x58, label: 'inSev', display: 'Inspiratory sevoflurane', unit: 'kPa', source: `${MDPNP}; ${VSC}` },
  { code: 0x59, label: 'etSev', display: 'End-tidal sevoflurane', unit: 'kPa', source: `${MDPNP}; ${VSC}` },
  { code: 0x5a, label: 'inAgent', display: 'Inspiratory primary agent', unit: 'kPa', source: `${MDPNP}; ${VSC}` },
  { code: 0x5b, label: 'etAgent', display: 'End-tidal primary agent', unit: 'kPa', source: `${MDPNP}; ${VSC}` },
  { code: 0x5c, label: 'inAgent2', display: 'Inspiratory secondary agent', unit: 'kPa', source: `${MDPNP}; ${VSC}` },
  { code: 0x5d, label: 'etAgent2', display: 'End-tidal secondary agent', unit: 'kPa', source: `${MDPNP}; ${VSC}` },
  { code: 0x64, label: "V'O2", display: 'O2 uptake', unit: '10 mL/min', source: `${MDPNP} (O2Uptake, TenMlPerMin); ${VSC}` },
  { code: 0x6b, label: 'Pamb', display: 'Ambient pressure', unit: 'mbar', source: `${MDPNP}; ${VSC}` },
  { code: 0x71, label: 'Pmin', display: 'Minimal airway pressure', unit: 'mbar', source: `${MDPNP} (no unit); ${VSC} (MEDIBUS.X: Pmin mbar)` },
  { code: 0x72, label: 'P0.1', display: 'Occlusion pressure', unit: 'mbar', source: `${MDPNP} (no unit); ${VSC} (MEDIBUS.X: P0.1 mbar)` },
  { code: 0x73, label: 'Pmean', display: 'Mean airway pressure', unit: 'mbar', mdcCode: 151975, source: `${MDPNP} (MeanBreathingPressure, mbar); ${VSC}` },
  { code: 0x74, label: 'Pplat', display: 'Plateau pressure', unit: 'mbar', mdcCode: 152424, source: `${MDPNP} (PlateauPressure, mbar); ${VSC}` },
  { code: 0x78, label: 'PEEP', display: 'Positive end-expiratory pressure', unit: 'mbar', mdcCode: 151976, source: `${REF}; ${MDPNP} (PEEPBreathingPressure, mbar); ${VSC}` },
  { code: 0x79, label: 'PEEPi', display: 'Intrinsic PEEP', unit: 'mbar', source: `${MDPNP} (no unit); ${VSC} (MEDIBUS.X: PEEPi mbar)` },
  { code: 0x7a, label: 'MVspon frac', display: 'Spontaneous minute volume (fraction)', unit: undefined, source: `${MDPNP} (no unit)` },
  {
    code: 0x7b,
    label: 'RRmand',
    display: 'Mandatory respiratory rate',
    unit: '/min',
    mdcCode: 151586,
    source: `${VSC} (RRmand, OnePerMin; MEDIBUS.X: RRmand 1/min)`,
    note: 'Not in the mdpnp map. MDC_VENT_RESP_RATE is the rate of mechanical ventilation; the reference calls it the mandatory rate.',
  },
  { code: 0x7d, label: 'PIP', display: 'Peak airway pressure', unit: 'mbar', mdcCode: 151973, source: `${REF}; ${MDPNP} (PeakBreathingPressure, mbar); ${VSC}` },
  { code: 0x7e, label: 'VTmand', display: 'Mandatory tidal volume', unit: 'L', source: `${VSC} (VTmand, L)` },
  { code: 0x7f, label: 'VTspon', display: 'Spontaneous tidal volume', unit: 'L', source: `${VSC} (VTspon, L)` },
  { code: 0x81, label: 'Vtrap', display: 'Trapped volume', unit: 'mL', source: `${MDPNP} (no unit); ${VSC} (MEDIBUS.X: Vtrap mL)` },
  { code: 0x82, label: 'VT frac', display: 'Tidal volume (fraction)', unit: undefined, source: `${MDPNP} (no unit)` },
  { code: 0x83, label: 'VTemand', display: 'Mandatory expiratory tidal volume', unit: 'mL', source: `${VSC}` },
  { code: 0x84, label: 'VTespon', display: 'Spontaneous expiratory tidal volume', unit: 'mL', source: `${VSC}` },
  { code: 0x85, label: 'VTimand', display: 'Mandatory inspiratory tidal volume', unit: 'mL', source: `${VSC}` },
  { code: 0x88, label: 'VT', display: 'Tidal volume', unit: 'mL', mdcCode: 151980, source: `${REF}; ${MDPNP} (TidalVolume, mL); ${VSC}` },
  { code: 0x89, label: 'Vds', display: 'Dead space', unit: 'mL', source: `${MDPNP} (no unit); ${VSC} (MEDIBUS.X: Vds mL)` },
  { code: 0x8a, label: 'Vds/VTe', display: 'Relative dead space', unit: '%', source: `${MDPNP} (no unit); ${VSC} (MEDIBUS.X: Vds/VTe %)` },
  {
    code: 0x8b,
    label: 'VTi',
    display: 'Inspiratory tidal volume',
    unit: 'mL',
    source: `${MDPNP} (InspiratorySpontaneousSupportVolume, no unit); ${VSC} (MEDIBUS.X: VTi mL)`,
    note: 'mdpnp names it the inspiratory spontaneous support volume; MEDIBUS.X the inspiratory tidal volume. Both mL.',
  },
  { code: 0xac, label: 'inxMAC', display: 'Inspiratory MAC multiple', unit: '1', source: `${MDPNP} (InspMAC, None); ${VSC}` },
  { code: 0xad, label: 'xMAC', display: 'Expiratory MAC multiple', unit: '1', source: `${MDPNP} (ExpMAC, None); ${VSC}` },
  { code: 0xae, label: 'inDes%', display: 'Inspiratory desflurane', unit: '%', source: `${MDPNP}; ${VSC}` },
  { code: 0xaf, label: 'etDes%', display: 'End-tidal desflurane', unit: '%', source: `${MDPNP}; ${VSC}` },
  { code: 0xb0, label: 'inSev%', display: 'Inspiratory sevoflurane', unit: '%', source: `${MDPNP}; ${VSC}` },
  { code: 0xb1, label: 'etSev%', display: 'End-tidal sevoflurane', unit: '%', source: `${MDPNP}; ${VSC}` },
  { code: 0xb2, label: 'Leak', display: 'Leakage', unit: 'mL/min', source: `${MDPNP} (Leakage, mLPerMin); ${VSC}` },
  { code: 0xb3, label: '% leak', display: 'Leakage (% of inspiratory minute volume)', unit: '%', source: `${VSC}` },
  { code: 0xb4, label: 'RRp', display: 'Respiratory rate (pressure)', unit: '/min', source: `${MDPNP} (OnePerMin); ${VSC}` },
  { code: 0xb5, label: 'RRspon', display: 'Spontaneous respiratory rate', unit: '/min', source: `${MDPNP} (no unit); ${VSC} (MEDIBUS.X: RRspon 1/min)` },
  { code: 0xb6, label: '% MVspon', display: 'Spontaneous fraction of minute volume', unit: '%', source: `${VSC}` },
  { code: 0xb7, label: 'MVspon', display: 'Spontaneous minute volume', unit: 'L/min', source: `${MDPNP} (no unit); ${VSC} (MEDIBUS.X: MVspon L/min)` },
  {
    code: 0xb8,
    label: 'MV',
    display: 'Minute volume',
    unit: 'L/min',
    mdcCode: 151880,
    source: `${REF} (MV); ${MDPNP} (RespiratoryMinuteVolume, no unit)`,
    note: 'Unit inferred: no source gives one for 0xB8; MEDIBUS.X (VSC) gives L/min for 0xB9 "Minute volume". Mapped to the airway minute volume MDC_VOL_MINUTE_AWAY, not the ventilator inspiratory 152004: Dräger measures MV on the expiratory side.',
  },
  {
    code: 0xb9,
    label: 'MV frac',
    display: 'Minute volume (fraction)',
    unit: 'L/min',
    source: `${MDPNP} (RespiratoryMinuteVolumeFrac, "L"); ${VSC} (MEDIBUS.X: Minute volume, MV L/min)`,
    note: 'mdpnp writes L, MEDIBUS.X L/min; a minute volume is L/min. Kept local so it never shares an Observation id with 0xB8.',
  },
  { code: 0xbd, label: 'Tapn', display: 'Apnea duration', unit: 's', source: `${MDPNP} (ApneaDuration, sec); ${VSC}` },
  { code: 0xc1, label: 'T airw', display: 'Airway temperature', unit: 'Cel', source: `${MDPNP} (no unit); ${VSC} (MEDIBUS.X: T Airw °C)` },
  { code: 0xc4, label: 'ΔO2', display: 'Inspiratory-expiratory O2 difference', unit: '%', source: `${MDPNP} (DeltaO2, pct); ${VSC}` },
  { code: 0xc9, label: 'RSBI', display: 'Rapid shallow breathing index', unit: '/min/L', source: `${MDPNP} (no unit); ${VSC} (MEDIBUS.X: RSBI 1/min/L)` },
  { code: 0xd5, label: 'RRc', display: 'Respiratory rate (CO2)', unit: '/min', source: `${MDPNP} (OnePerMin); ${VSC}` },
  {
    code: 0xd6,
    label: 'RR',
    display: 'Respiratory rate',
    unit: '/min',
    mdcCode: 151562,
    source: `${REF}; ${MDPNP} (RespiratoryRate, no unit); ${VSC} (MEDIBUS.X: RR 1/min)`,
    note: 'The total measured rate; the per-source rates (0xB4 pressure, 0xD5 CO2, 0xD7 flow) stay local. OpenICE maps it to MDC_CO2_RESP_RATE, which the table does not hold.',
  },
  { code: 0xd7, label: 'RRf', display: 'Respiratory rate (volume flow)', unit: '/min', source: `${MDPNP} (OnePerMin); ${VSC}` },
  { code: 0xd9, label: 'RR derived', display: 'Respiratory rate (derived)', unit: '/min', source: `${MDPNP} (OnePerMin); ${VSC}` },
  { code: 0xda, label: 'inCO2%', display: 'Inspiratory CO2', unit: '%', source: `${MDPNP}; ${VSC}` },
  { code: 0xdb, label: 'etCO2%', display: 'End-tidal CO2', unit: '%', source: `${MDPNP}; ${VSC}` },
  { code: 0xdf, label: 'PR derived', display: 'Pulse rate (derived)', unit: '/min', source: `${MDPNP} (OnePerMin); ${VSC}` },
  { code: 0xe1, label: 'PLS', display: 'Pulse rate (oximeter)', unit: '/min', mdcCode: 149530, source: `${REF}; ${MDPNP} (PulseRateOximeter, OnePerMin); ${VSC}` },
  { code: 0xe3, label: 'etCO2 kPa', display: 'End-tidal CO2', unit: 'kPa', source: `${MDPNP}; ${VSC}`, note: 'Kept local: 0xE6 carries the same concept in mmHg and owns the MDC code.' },
  { code: 0xe5, label: 'inCO2', display: 'Inspiratory CO2', unit: 'mmHg', source: `${MDPNP}; ${VSC}` },
  { code: 0xe6, label: 'etCO2', display: 'End-tidal CO2', unit: 'mmHg', mdcCode: 151708, source: `${REF}; ${MDPNP} (EndTidalCO2mmHg, mmHg); ${VSC}` },
  { code: 0xe7, label: 'I (I:E)', display: 'I:E ratio, inspiratory part', unit: '1', source: `${VSC} (ItoE_Ipart, None)` },
  { code: 0xe8, label: 'E (I:E)', display: 'I:E ratio, expiratory part', unit: '1', source: `${VSC} (ItoE_Epart, None)` },
  { code: 0xe9, label: 'inAgent%', display: 'Inspiratory primary agent', unit: '%', source: `${MDPNP}; ${VSC}` },
  { code: 0xea, label: 'etAgent%', display: 'End-tidal primary agent', unit: '%', source: `${MDPNP}; ${VSC}` },
  { code: 0xeb, label: 'SpO2', display: 'Oxygen saturation (pulse oximetry)', unit: '%', mdcCode: 150456, source: `${REF}; ${MDPNP} (OxygenSaturation, pct); ${VSC}` },
  { code: 0xed, label: 'inAgent2%', display: 'Inspiratory secondary agent', unit: '%', source: `${MDPNP}; ${VSC}` },
  { code: 0xee, label: 'etAgent2%', display: 'End-tidal secondary agent', unit: '%', source: `${MDPNP}; ${VSC}` },
  { code: 0xef, label: 'etO2', display: 'End-tidal O2', unit: '%', source: `${MDPNP} (ExpO2, pct); ${VSC}` },
  { code: 0xf0, label: 'FiO2', display: 'Inspiratory O2 concentration', unit: '%', mdcCode: 152196, source: `${REF}; ${MDPNP} (InspO2, pct); ${VSC}` },
  { code: 0xf4, label: 'inHal%', display: 'Inspiratory halothane', unit: '%', source: `${MDPNP}; ${VSC}` },
  { code: 0xf5, label: 'etHal%', display: 'End-tidal halothane', unit: '%', source: `${MDPNP}; ${VSC}` },
  { code: 0xf6, label: 'inEnf%', display: 'Inspiratory enflurane', unit: '%', source: `${MDPNP}; ${VSC}` },
  { code: 0xf7, label: 'etEnf%', display: 'End-tidal enflurane', unit: '%', source: `${MDPNP}; ${VSC}` },
  { code: 0xf8, label: 'inIso%', display: 'Inspiratory isoflurane', unit: '%', source: `${MDPNP}; ${VSC}` },
  { code: 0xf9, label: 'etIso%', display: 'End-tidal isoflurane', unit: '%', source: `${MDPNP}; ${VSC}` },
  { code: 0xfb, label: 'inN2O', display: 'Inspiratory N2O', unit: '%', source: `${MDPNP}; ${VSC}` },
  { code: 0xfc, label: 'etN2O', display: 'End-tidal N2O', unit: '%', source: `${MDPNP}; ${VSC}` },
  { code: 0xff, label: 'inCO2 kPa', display: 'Inspiratory CO2', unit: 'kPa', source: `${MDPNP}; ${VSC}` },
];

export const codePage1: ReadonlyMap<number, Cp1Code> = new Map(rows.map((row) => [row.code, Object.freeze(row)]));

/** All rows, in code order. */
export function codePage1Rows(): readonly Cp1Code[] {
  return rows;
}

/** A code byte as Medibus writes it: two upper-case hex digits. */
export function codeHex(code: number): string {
  return code.toString(16).toUpperCase().padStart(2, '0');
}
