/**
 * Constants of the IntelliVue Data Export protocol used by this adapter, each as named in the Philips
 * "Data Export Interface Programming Guide" and spelled in xeonfusion/VSCaptureMP Class2.cs (checked
 * there: enum AttributeIDs, ObjectClasses, UnitCode, DataConstants) and mdpnp devices/philips.
 */

/** Session (association) layer: first byte of the user data (DataConstants *_SPDU_SI). */
export const spdu = {
  connect: 0x0d, // CN_SPDU_SI: association request (AARQ)
  accept: 0x0e, // AC_SPDU_SI: association response (accept)
  refuse: 0x0c, // RF_SPDU_SI: association refuse
  finish: 0x09, // FN_SPDU_SI: release request
  disconnect: 0x0a, // DN_SPDU_SI: release response
  abort: 0x19, // AB_SPDU_SI: abort
  data: 0xe1, // DA_SPDU_SI: data (SPpdu session_id 0xE100)
} as const;

/** Remote operation PDU types (ROapdus.ro_type). */
export const roType = { invoke: 1, result: 2, error: 3, linkedResult: 5 } as const;

/** CMIP command types. */
export const command = { eventReport: 0, confirmedEventReport: 1, get: 3, set: 4, confirmedSet: 5, confirmedAction: 7 } as const;

export const NOM_NOTI_MDS_CREAT = 0x0d06; // 3334
export const NOM_ACT_POLL_MDIB_DATA = 0x0c16; // 3094
export const NOM_ACT_POLL_MDIB_DATA_EXT = 0xf13b; // 61755
export const NOM_PART_OBJ = 1;
export const NOM_PART_SCADA = 2;
export const NOM_PART_DIM = 4;
export const NOM_MOC_VMO_METRIC_NU = 6;
export const NOM_MOC_VMS_MDS = 33;
export const NOM_ATTR_GRP_SYS_PROD = 0x080c;

export const attr = {
  NOM_ATTR_ID_LABEL: 0x0924,
  NOM_ATTR_ID_MODEL: 0x0928,
  NOM_ATTR_ID_PROD_SPECN: 0x092d,
  NOM_ATTR_NU_CMPD_VAL_OBS: 0x094b,
  NOM_ATTR_NU_VAL_OBS: 0x0950,
  NOM_ATTR_SYS_ID: 0x0984,
  NOM_ATTR_TIME_STAMP_ABS: 0x0990,
  NOM_ATTR_TIME_STAMP_REL: 0x0991,
} as const;

/** MeasurementState bits (VSCaptureMP enum MeasurementState). */
export const measurementState = {
  INVALID: 0x8000,
  QUESTIONABLE: 0x4000,
  UNAVAILABLE: 0x2000,
  CALIBRATION_ONGOING: 0x1000,
  TEST_DATA: 0x0800,
  DEMO_DATA: 0x0400,
  VALIDATED_DATA: 0x0080,
  EARLY_INDICATION: 0x0040,
  MSMT_ONGOING: 0x0020,
  MSMT_STATE_IN_ALARM: 0x0002,
  MSMT_STATE_AL_INHIBITED: 0x0001,
} as const;

/** ProdSpecEntry.spec_type SERIAL_NUMBER and component_id ID_COMP_PRODUCT. */
export const SERIAL_NUMBER = 1;
export const ID_COMP_PRODUCT = 0x0008;

/** MDC code10 = partition x 65536 + term (HL7 PHD ObtainObservationCode; reference/terminology.md). */
export const code10 = (partition: number, term: number): number => partition * 65536 + term;
