/**
 * Frame user data (what framing.ts emits) to a typed message. Layouts from the Data Export Interface
 * Programming Guide as implemented by xeonfusion/VSCaptureMP (Class2.cs byte arrays, Class1.cs
 * decoding) and mdpnp devices/philips (data/*.java); all integers big-endian:
 *
 *   SPpdu          session_id u16 (0xE100), p_context_id u16
 *   ROapdus        ro_type u16, length u16
 *   ROIVapdu       invoke_id u16, command_type u16, length u16
 *   RORSapdu       invoke_id u16, command_type u16, length u16
 *   ROLRSapdu      linked_id {state u8, count u8}, invoke_id u16, command_type u16, length u16
 *   ROERapdu       invoke_id u16, error_value u16, length u16
 *   ManagedObjectId  m_obj_class u16, context_id u16, handle u16
 *   EventReportArgument  managed_object, event_time u32, event_type u16, length u16  (+ MdsCreateInfo)
 *   MdsCreateInfo  managed_object, attribute_list
 *   ActionArgument managed_object, scope u32, action_type u16, length u16  (+ PollMdibDataReq[Ext])
 *   ActionResult   managed_object, action_type u16, length u16              (+ PollMdibDataReply[Ext])
 *   PollMdibDataReplyExt  poll_number u16, sequence_no u16, rel_time_stamp u32, abs_time_stamp (8 BCD),
 *                  polled_obj_type {partition u16, code u16}, polled_attr_grp u16, poll_info_list
 *   (PollMdibDataReply: the same without sequence_no)
 *   poll_info_list  count u16, length u16, SingleContextPoll[count]
 *   SingleContextPoll  context_id u16, count u16, length u16, ObservationPoll[count]
 *   ObservationPoll    obj_handle u16, attribute list
 *   AttributeList  count u16, length u16, AVAType[count]; AVAType attribute_id u16, length u16, value
 *   NuObsValue     physio_id u16, state u16, unit_code u16, value FLOAT-Type (32 bits)
 *   NuObsValueCmp  count u16, length u16, NuObsValue[count]
 *   AbsoluteTime   century, year, month, day, hour, minute, second, sec_fractions: BCD bytes
 */
import { GatewayError } from '../../src/errors/catalogue.ts';
import { isCalendarValid, type LocalDateTime } from '../../src/fhir/index.ts';
import {
  attr,
  command,
  ID_COMP_PRODUCT,
  NOM_ACT_POLL_MDIB_DATA,
  NOM_ACT_POLL_MDIB_DATA_EXT,
  NOM_NOTI_MDS_CREAT,
  roType,
  SERIAL_NUMBER,
  spdu,
} from './protocol.ts';

export interface ManagedObject {
  readonly objClass: number;
  readonly contextId: number;
  readonly handle: number;
}

export interface NuObservation {
  readonly physioId: number;
  readonly state: number;
  readonly unitCode: number;
  /** The FLOAT-Type as an unsigned 32-bit word. */
  readonly value: number;
}

export interface ObservationPoll {
  readonly contextId: number;
  readonly handle: number;
  readonly numeric?: NuObservation;
  readonly compound?: readonly NuObservation[];
  readonly absoluteTime?: LocalDateTime;
  readonly relativeTime?: number;
  readonly label?: number;
}

export interface PollResult {
  readonly kind: 'poll-result';
  readonly invokeId: number;
  readonly actionType: number;
  readonly pollNumber: number;
  readonly sequenceNumber: number | undefined;
  readonly relativeTime: number;
  readonly absoluteTime: LocalDateTime | undefined;
  readonly objType: { readonly partition: number; readonly code: number };
  readonly attributeGroup: number;
  /** ROLRS (linked result): more parts of the same poll follow. */
  readonly linked: boolean;
  readonly observations: readonly ObservationPoll[];
}

export interface MdsCreate {
  readonly kind: 'mds-create';
  readonly invokeId: number;
  readonly managedObject: ManagedObject;
  readonly eventTime: number;
  readonly manufacturer?: string;
  readonly model?: string;
  readonly serialNumber?: string;
  /** NOM_ATTR_SYS_ID as hex (on IntelliVue the monitor's MAC address). */
  readonly systemId?: string;
}

export interface PollRequest {
  readonly kind: 'poll-request';
  readonly invokeId: number;
  readonly actionType: number;
  readonly pollNumber: number;
  readonly objType: { readonly partition: number; readonly code: number };
  readonly attributeGroup: number;
}

export type IntellivueMessage =
  | { readonly kind: 'association-request' }
  | { readonly kind: 'association-accept' }
  | { readonly kind: 'association-refuse' }
  | { readonly kind: 'release-request' }
  | { readonly kind: 'release-response' }
  | { readonly kind: 'abort' }
  | MdsCreate
  | PollResult
  | PollRequest
  | { readonly kind: 'event-report-result'; readonly invokeId: number; readonly eventType: number }
  | { readonly kind: 'remote-error'; readonly invokeId: number; readonly errorValue: number }
  /** A well-formed data message this adapter does not use (e.g. other invokes, get/set results). */
  | { readonly kind: 'other'; readonly roType: number; readonly commandType: number | undefined };

const malformed = (detail: string): GatewayError => new GatewayError('device_message_malformed', `Malformed IntelliVue message: ${detail}.`);

/** A bounds-checked big-endian reader. */
class Reader {
  constructor(
    private readonly bytes: Buffer,
    public offset = 0,
    private readonly end = bytes.length,
  ) {}
  get remaining(): number {
    return this.end - this.offset;
  }
  private need(n: number, what: string): void {
    if (this.offset + n > this.end) throw malformed(`${what} runs past the end of its container`);
  }
  u8(what: string): number {
    this.need(1, what);
    return this.bytes[this.offset++]!;
  }
  u16(what: string): number {
    this.need(2, what);
    const value = this.bytes.readUInt16BE(this.offset);
    this.offset += 2;
    return value;
  }
  u32(what: string): number {
    this.need(4, what);
    const value = this.bytes.readUInt32BE(this.offset);
    this.offset += 4;
    return value;
  }
  take(n: number, what: string): Buffer {
    this.need(n, what);
    const slice = this.bytes.subarray(this.offset, this.offset + n);
    this.offset += n;
    return slice;
  }
  /** A sub-reader over the next `n` bytes; this reader skips them. */
  sub(n: number, what: string): Reader {
    this.need(n, what);
    const reader = new Reader(this.bytes, this.offset, this.offset + n);
    this.offset += n;
    return reader;
  }
}

function managedObject(r: Reader): ManagedObject {
  return { objClass: r.u16('m_obj_class'), contextId: r.u16('context_id'), handle: r.u16('handle') };
}

/** An attribute list as (id, value reader) pairs; the declared length must match the AVAs. */
function attributeList(r: Reader, what: string): { id: number; value: Reader }[] {
  const count = r.u16(`${what} count`);
  const length = r.u16(`${what} length`);
  const list = r.sub(length, what);
  const out: { id: number; value: Reader }[] = [];
  for (let i = 0; i < count; i += 1) {
    const id = list.u16('attribute_id');
    const valueLength = list.u16('attribute length');
    out.push({ id, value: list.sub(valueLength, `attribute 0x${id.toString(16)}`) });
  }
  if (list.remaining !== 0) throw malformed(`${what} length does not match its ${count} attributes`);
  return out;
}

function nuObservation(r: Reader): NuObservation {
  return { physioId: r.u16('physio_id'), state: r.u16('state'), unitCode: r.u16('unit_code'), value: r.u32('FLOAT-Type value') };
}

const bcd = (byte: number): number | undefined => {
  const high = byte >> 4;
  const low = byte & 0x0f;
  return high > 9 || low > 9 ? undefined : high * 10 + low;
};

/** AbsoluteTime; undefined when all 0xFF ("not set") or not valid BCD / not a calendar time. */
export function absoluteTime(bytes: Buffer): LocalDateTime | undefined {
  if (bytes.every((byte) => byte === 0xff)) return undefined;
  const [century, year, month, day, hour, minute, second, fraction] = [...bytes].map(bcd);
  if ([century, year, month, day, hour, minute, second, fraction].some((part) => part === undefined)) return undefined;
  const local: LocalDateTime = {
    year: century! * 100 + year!,
    month: month!,
    day: day!,
    hour: hour!,
    minute: minute!,
    second: second!,
    // sec_fractions: hundredths of a second, kept as the two digits sent.
    ...(fraction! !== 0 ? { fraction: String(fraction).padStart(2, '0') } : {}),
  };
  return isCalendarValid(local) ? local : undefined;
}

function variableLabel(r: Reader, what: string): string {
  const length = r.u16(`${what} length`);
  // ASCII, padded with NUL to an even length.
  return r
    .take(length, what)
    .toString('latin1')
    .replace(/[\0\s]+$/, '')
    .trim();
}

function parseObservationPoll(contextId: number, r: Reader): ObservationPoll {
  const handle = r.u16('obj_handle');
  let poll: { -readonly [K in keyof ObservationPoll]: ObservationPoll[K] } = { contextId, handle };
  for (const { id, value } of attributeList(r, 'observation attribute list')) {
    switch (id) {
      case attr.NOM_ATTR_NU_VAL_OBS:
        poll = { ...poll, numeric: nuObservation(value) };
        break;
      case attr.NOM_ATTR_NU_CMPD_VAL_OBS: {
        const count = value.u16('NuObsValueCmp count');
        const list = value.sub(value.u16('NuObsValueCmp length'), 'NuObsValueCmp');
        const parts: NuObservation[] = [];
        for (let i = 0; i < count; i += 1) parts.push(nuObservation(list));
        poll = { ...poll, compound: parts };
        break;
      }
      case attr.NOM_ATTR_TIME_STAMP_ABS: {
        const time = absoluteTime(value.take(8, 'AbsoluteTime'));
        if (time !== undefined) poll = { ...poll, absoluteTime: time };
        break;
      }
      case attr.NOM_ATTR_TIME_STAMP_REL:
        poll = { ...poll, relativeTime: value.u32('RelativeTime') };
        break;
      case attr.NOM_ATTR_ID_LABEL:
        poll = { ...poll, label: value.u32('TextId') };
        break;
      default:
        // Other attributes (labels as strings, metric state ...) are not used yet.
        break;
    }
  }
  return poll;
}

function parsePollReply(invokeId: number, actionType: number, linked: boolean, r: Reader): PollResult {
  const pollNumber = r.u16('poll_number');
  const sequenceNumber = actionType === NOM_ACT_POLL_MDIB_DATA_EXT ? r.u16('sequence_no') : undefined;
  const relativeTime = r.u32('rel_time_stamp');
  const absolute = absoluteTime(r.take(8, 'abs_time_stamp'));
  const objType = { partition: r.u16('polled_obj_type partition'), code: r.u16('polled_obj_type code') };
  const attributeGroup = r.u16('polled_attr_grp');
  const contextCount = r.u16('poll_info_list count');
  const contexts = r.sub(r.u16('poll_info_list length'), 'poll_info_list');
  const observations: ObservationPoll[] = [];
  for (let i = 0; i < contextCount; i += 1) {
    const contextId = contexts.u16('context_id');
    const count = contexts.u16('SingleContextPoll count');
    const polls = contexts.sub(contexts.u16('SingleContextPoll length'), 'SingleContextPoll');
    for (let j = 0; j < count; j += 1) observations.push(parseObservationPoll(contextId, polls));
    if (polls.remaining !== 0) throw malformed('SingleContextPoll length does not match its observations');
  }
  if (contexts.remaining !== 0) throw malformed('poll_info_list length does not match its contexts');
  return {
    kind: 'poll-result',
    invokeId,
    actionType,
    pollNumber,
    sequenceNumber,
    relativeTime,
    absoluteTime: absolute,
    objType,
    attributeGroup,
    linked,
    observations,
  };
}

function parseMdsCreate(invokeId: number, eventTime: number, r: Reader): MdsCreate {
  const object = managedObject(r);
  let message: { -readonly [K in keyof MdsCreate]: MdsCreate[K] } = { kind: 'mds-create', invokeId, managedObject: object, eventTime };
  let anySerial: string | undefined;
  for (const { id, value } of attributeList(r, 'MDS attribute list')) {
    if (id === attr.NOM_ATTR_ID_MODEL) {
      const manufacturer = variableLabel(value, 'manufacturer');
      const model = variableLabel(value, 'model_number');
      if (manufacturer !== '') message = { ...message, manufacturer };
      if (model !== '') message = { ...message, model };
    } else if (id === attr.NOM_ATTR_ID_PROD_SPECN) {
      const count = value.u16('ProductionSpec count');
      const entries = value.sub(value.u16('ProductionSpec length'), 'ProductionSpec');
      for (let i = 0; i < count; i += 1) {
        const specType = entries.u16('spec_type');
        const component = entries.u16('component_id');
        const text = variableLabel(entries, 'prod_spec');
        if (specType !== SERIAL_NUMBER || text === '') continue;
        if (component === ID_COMP_PRODUCT) message = { ...message, serialNumber: text };
        else anySerial ??= text;
      }
    } else if (id === attr.NOM_ATTR_SYS_ID) {
      const length = value.u16('system id length');
      message = { ...message, systemId: value.take(length, 'system id').toString('hex').toUpperCase() };
    }
  }
  if (message.serialNumber === undefined && anySerial !== undefined) message = { ...message, serialNumber: anySerial };
  return message;
}

function parseData(r: Reader): IntellivueMessage {
  const sessionId = r.u16('session_id');
  if (sessionId !== 0xe100) throw malformed(`session id 0x${sessionId.toString(16)} is not 0xE100`);
  r.u16('p_context_id');
  const type = r.u16('ro_type');
  const body = r.sub(r.u16('ROapdus length'), 'ROapdus');
  switch (type) {
    case roType.error: {
      const invokeId = body.u16('invoke_id');
      return { kind: 'remote-error', invokeId, errorValue: body.u16('error_value') };
    }
    case roType.invoke: {
      const invokeId = body.u16('invoke_id');
      const commandType = body.u16('command_type');
      const args = body.sub(body.u16('ROIV length'), 'ROIV argument');
      if (commandType === command.eventReport || commandType === command.confirmedEventReport) {
        managedObject(args);
        const eventTime = args.u32('event_time');
        const eventType = args.u16('event_type');
        const info = args.sub(args.u16('event_info length'), 'event_info');
        if (eventType === NOM_NOTI_MDS_CREAT) return parseMdsCreate(invokeId, eventTime, info);
      } else if (commandType === command.confirmedAction) {
        managedObject(args);
        args.u32('scope');
        const actionType = args.u16('action_type');
        const req = args.sub(args.u16('action length'), 'action argument');
        if (actionType === NOM_ACT_POLL_MDIB_DATA || actionType === NOM_ACT_POLL_MDIB_DATA_EXT) {
          const pollNumber = req.u16('poll_number');
          const objType = { partition: req.u16('polled_obj_type partition'), code: req.u16('polled_obj_type code') };
          return { kind: 'poll-request', invokeId, actionType, pollNumber, objType, attributeGroup: req.u16('polled_attr_grp') };
        }
      }
      return { kind: 'other', roType: type, commandType };
    }
    case roType.result:
    case roType.linkedResult: {
      const linked = type === roType.linkedResult;
      const state = linked ? body.u8('linked state') : undefined;
      if (linked) body.u8('linked count');
      const invokeId = body.u16('invoke_id');
      const commandType = body.u16('command_type');
      const result = body.sub(body.u16('RORS length'), 'RORS result');
      if (commandType === command.confirmedAction) {
        managedObject(result);
        const actionType = result.u16('action_type');
        const reply = result.sub(result.u16('action result length'), 'action result');
        if (actionType === NOM_ACT_POLL_MDIB_DATA || actionType === NOM_ACT_POLL_MDIB_DATA_EXT) {
          // RORLS_FIRST = 1, RORLS_NOT_FIRST_NOT_LAST = 2, RORLS_LAST = 3: the last part ends the poll.
          return parsePollReply(invokeId, actionType, linked && state !== 3, reply);
        }
      } else if (commandType === command.confirmedEventReport) {
        managedObject(result);
        result.u32('current_time');
        return { kind: 'event-report-result', invokeId, eventType: result.u16('event_type') };
      }
      return { kind: 'other', roType: type, commandType };
    }
    default:
      throw malformed(`unknown remote operation type ${type}`);
  }
}

/** Pure: one frame's user data to a message. Throws GatewayError(device_message_malformed) when malformed. */
export function parseIntellivue(userData: Buffer): IntellivueMessage {
  if (userData.length === 0) throw malformed('empty user data');
  switch (userData[0]) {
    case spdu.connect:
      return { kind: 'association-request' };
    case spdu.accept:
      return { kind: 'association-accept' };
    case spdu.refuse:
      return { kind: 'association-refuse' };
    case spdu.finish:
      return { kind: 'release-request' };
    case spdu.disconnect:
      return { kind: 'release-response' };
    case spdu.abort:
      return { kind: 'abort' };
    case spdu.data:
      return parseData(new Reader(userData));
    default:
      throw malformed(`unknown session PDU 0x${userData[0]!.toString(16).padStart(2, '0')}`);
  }
}
