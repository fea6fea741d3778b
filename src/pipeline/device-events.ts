/**
 * Device state events on the events topic: JSON `{ type, deviceId, adapter, at, detail }`, key the
 * device id (one device's events stay in order), headers as for every record (content type,
 * source adapter, trace id).
 */
import { eventContentType, recordHeaders, type OutboundRecord } from '../publishing/publisher.ts';
import type { DeviceState } from './device-state.ts';

export interface DeviceEvent {
  /** `device.connected`, `device.disconnected`, `device.stale` or `device.recovered`. */
  readonly type: `device.${DeviceState}`;
  readonly deviceId: string;
  readonly adapter: string;
  /** ISO 8601 instant of the change. */
  readonly at: string;
  /** Why, for a person: e.g. the transport, the close reason, how long the device was silent. */
  readonly detail: string;
  /** The state before this one. */
  readonly previous: DeviceState;
}

export function buildDeviceEventRecord(input: {
  topic: string;
  event: DeviceEvent;
  traceId: string;
}): OutboundRecord {
  return {
    topic: input.topic,
    key: input.event.deviceId,
    value: JSON.stringify(input.event),
    headers: {
      [recordHeaders.contentType]: eventContentType,
      [recordHeaders.sourceAdapter]: input.event.adapter,
      [recordHeaders.traceId]: input.traceId,
    },
  };
}
