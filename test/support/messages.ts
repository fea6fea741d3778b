/**
 * PCD-01 ORU^R01 messages for end-to-end tests, shaped like a Philips IntelliVue monitor's (IHE PCD
 * TF-2 E.1.1): an MDS row, SpO2, pulse rate, and an NIBP systolic/diastolic/mean triple.
 */
export interface TestMessageOptions {
  readonly controlId: string;
  /** enhanced: MSH-15 AL / MSH-16 NE, as PCD-01 requires; original: both empty. */
  readonly mode?: 'original' | 'enhanced';
  readonly eui64?: string;
  readonly patientId?: string;
  readonly spo2?: string;
  readonly time?: string;
  readonly messageType?: string;
}

export function pcd01Message(options: TestMessageOptions): string {
  const mode = options.mode ?? 'enhanced';
  const eui = options.eui64 ?? '0012340000ABCDEF';
  const time = options.time ?? '20240501123000+0200';
  const ack = mode === 'enhanced' ? 'AL|NE' : '|';
  const segments = [
    `MSH|^~\\&|MONITOR_GW^${eui}^EUI-64|ICU_WEST|VITALBRIDGE||${time}||${options.messageType ?? 'ORU^R01^ORU_R01'}|${options.controlId}|P|2.6|||${ack}||||IHE_PCD_001^IHE PCD^1.3.6.1.4.1.19376.1.6.1.1.1^ISO`,
    `PID|||${options.patientId ?? 'MRN12345'}^^^HOSP^MR||DOE^JANE^^^^^L`,
    'PV1||I|ICU^BED07^1',
    `OBR|1|${options.controlId}^MONITOR_GW^${eui}^EUI-64|${options.controlId}^MONITOR_GW^${eui}^EUI-64|182777000^monitoring of patient^SCT|||${time}`,
    `OBX|1||69965^MDC_DEV_MON_PHYSIO_MULTI_PARAM_MDS^MDC|1.0.0.0|||||||X|||||||${eui}^Philips^${eui}^EUI-64`,
    `OBX|2|NM|150456^MDC_PULS_OXIM_SAT_O2^MDC|1.1.1.1|${options.spo2 ?? '97'}|262688^MDC_DIM_PERCENT^MDC|90-100||||F|||${time}|||AMEAS^auto-measurement^MDC|${eui}^Philips^${eui}^EUI-64`,
    `OBX|3|NM|149530^MDC_PULS_OXIM_PULS_RATE^MDC|1.1.1.2|72|264864^MDC_DIM_BEAT_PER_MIN^MDC|50-120||||F|||${time}|||AMEAS^auto-measurement^MDC|${eui}^Philips^${eui}^EUI-64`,
    `OBX|4|NM|150021^MDC_PRESS_BLD_NONINV_SYS^MDC|1.2.1.1|120|266016^MDC_DIM_MMHG^MDC|||||F|||${time}|||AMEAS^auto-measurement^MDC|${eui}^Philips^${eui}^EUI-64`,
    `OBX|5|NM|150022^MDC_PRESS_BLD_NONINV_DIA^MDC|1.2.1.2|80|266016^MDC_DIM_MMHG^MDC|||||F|||${time}|||AMEAS^auto-measurement^MDC|${eui}^Philips^${eui}^EUI-64`,
    `OBX|6|NM|150023^MDC_PRESS_BLD_NONINV_MEAN^MDC|1.2.1.3|93|266016^MDC_DIM_MMHG^MDC|||||F|||${time}|||AMEAS^auto-measurement^MDC|${eui}^Philips^${eui}^EUI-64`,
  ];
  return `${segments.join('\r')}\r`;
}
