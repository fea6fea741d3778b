/**
 * The benchmark's PCD-01 ORU^R01: one MDS row plus nine numeric OBX (10 OBX in all), shaped like a
 * bedside monitor's periodic report (IHE PCD TF-2 E.1.1). Every code is in the terminology tables, so
 * nothing is skipped: HR, PR, SpO2, RR, temperature, etCO2 and an NIBP systolic/diastolic/mean triple.
 */
export interface BenchMessageOptions {
  readonly controlId: string;
  /** HL7 DTM, e.g. 20240501123000+0200; distinct per message so every message yields new resource ids. */
  readonly time: string;
  /** One EUI-64 per simulated monitor (per connection). */
  readonly eui64: string;
  readonly patientId?: string;
  /** Varies the values a little so the records are not byte-identical. */
  readonly seq?: number;
}

const MDC = [
  // code, refid, unit code, unit refid, value, sub-id
  ['147842', 'MDC_ECG_HEART_RATE', '264864', 'MDC_DIM_BEAT_PER_MIN', 72, '1.1.1.1'],
  ['149530', 'MDC_PULS_OXIM_PULS_RATE', '264864', 'MDC_DIM_BEAT_PER_MIN', 71, '1.2.1.1'],
  ['150456', 'MDC_PULS_OXIM_SAT_O2', '262688', 'MDC_DIM_PERCENT', 97, '1.2.1.2'],
  ['151562', 'MDC_RESP_RATE', '264928', 'MDC_DIM_RESP_PER_MIN', 16, '1.3.1.1'],
  ['150364', 'MDC_TEMP_BODY', '268192', 'MDC_DIM_DEGC', 37, '1.4.1.1'],
  ['151708', 'MDC_AWAY_CO2_ET', '266016', 'MDC_DIM_MMHG', 38, '1.5.1.1'],
  ['150021', 'MDC_PRESS_BLD_NONINV_SYS', '266016', 'MDC_DIM_MMHG', 120, '1.6.1.1'],
  ['150022', 'MDC_PRESS_BLD_NONINV_DIA', '266016', 'MDC_DIM_MMHG', 80, '1.6.1.2'],
  ['150023', 'MDC_PRESS_BLD_NONINV_MEAN', '266016', 'MDC_DIM_MMHG', 93, '1.6.1.3'],
] as const;

export const OBX_PER_MESSAGE = 1 + MDC.length;

export function benchPcd01Message(o: BenchMessageOptions): string {
  const { eui64: eui, time, controlId } = o;
  const seq = o.seq ?? 0;
  const device = `${eui}^Philips^${eui}^EUI-64`;
  const segments = [
    `MSH|^~\\&|MONITOR_GW^${eui}^EUI-64|ICU_WEST|VITALBRIDGE||${time}||ORU^R01^ORU_R01|${controlId}|P|2.6|||AL|NE||||IHE_PCD_001^IHE PCD^1.3.6.1.4.1.19376.1.6.1.1.1^ISO`,
    `PID|||${o.patientId ?? 'MRN12345'}^^^HOSP^MR||DOE^JANE^^^^^L`,
    'PV1||I|ICU^BED07^1',
    `OBR|1|${controlId}^MONITOR_GW^${eui}^EUI-64|${controlId}^MONITOR_GW^${eui}^EUI-64|182777000^monitoring of patient^SCT|||${time}`,
    `OBX|1||69965^MDC_DEV_MON_PHYSIO_MULTI_PARAM_MDS^MDC|1.0.0.0|||||||X|||||||${device}`,
    ...MDC.map(
      ([code, refid, unit, unitRef, value, subId], i) =>
        `OBX|${i + 2}|NM|${code}^${refid}^MDC|${subId}|${value + (seq % 3)}|${unit}^${unitRef}^MDC|||||F|||${time}|||AMEAS^auto-measurement^MDC|${device}`,
    ),
  ];
  return `${segments.join('\r')}\r`;
}

/** A stable EUI-64 per simulated monitor. */
export function euiFor(index: number): string {
  return `00123400${index.toString(16).toUpperCase().padStart(8, '0')}`;
}

/** HL7 DTM with offset +0000 for a millisecond epoch time (seconds precision). */
export function hl7Time(epochMs: number): string {
  const d = new Date(epochMs);
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${d.getUTCFullYear()}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}+0000`;
}
