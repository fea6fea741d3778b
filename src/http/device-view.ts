/**
 * The devices the API shows: configured serial devices (their registry state and binding) merged
 * with what the activity tracker saw, plus MLLP devices (keyed by the record key, the device
 * identity), whose state comes from how long ago their last message was published. Pure: time is
 * passed in.
 */
import type { ResolvedDevice } from '../config/load-config.ts';
import type { ActivityTracker, DeadLetterEntry, DeviceActivity } from '../observability/activity-tracker.ts';
import { apiDeviceStates, type ApiDeviceState } from '../observability/metrics.ts';
import type { DeviceStatus } from '../pipeline/device-state.ts';
import type { deviceSchema } from './routes.ts';
import type { z } from 'zod';

export type ApiDevice = z.infer<typeof deviceSchema>;

export interface DeviceViewOptions {
  readonly activity: ActivityTracker;
  readonly deviceStates: () => readonly DeviceStatus[];
  readonly configured: readonly ResolvedDevice[];
  /** MLLP devices: silent this long -> stale. Default 2 minutes. */
  readonly mllpStaleAfterMs?: number;
  /** MLLP devices: silent this long -> offline. Default 15 minutes. */
  readonly mllpOfflineAfterMs?: number;
}

export function createDeviceView(options: DeviceViewOptions) {
  const staleAfterMs = options.mllpStaleAfterMs ?? 120_000;
  const offlineAfterMs = options.mllpOfflineAfterMs ?? 900_000;
  const configuredById = new Map(options.configured.map((device) => [device.id, device]));

  function mllpState(activity: DeviceActivity, at: Date): ApiDeviceState {
    const silentMs = at.getTime() - (activity.lastSeenAt ?? activity.knownSince).getTime();
    if (silentMs < staleAfterMs) return 'connected';
    return silentMs < offlineAfterMs ? 'stale' : 'offline';
  }

  function common(activity: DeviceActivity | undefined, showPatient: boolean, at: Date) {
    void at;
    return {
      messages: { total: activity?.messages ?? 0, perMinute: activity?.messagesPerMinute ?? 0 },
      observations: { total: activity?.observations ?? 0, perMinute: activity?.observationsPerMinute ?? 0 },
      deadLetters: activity?.deadLetters ?? 0,
      lastError: activity?.lastError === undefined ? null : { code: activity.lastError.code, at: activity.lastError.at.toISOString() },
      showPatient,
    };
  }

  function patientOf(patient: { identifier: string; system?: string | undefined } | undefined, show: boolean): ApiDevice['patient'] {
    if (patient === undefined) return { bound: false };
    if (!show) return { bound: true };
    return { bound: true, identifier: patient.identifier, ...(patient.system !== undefined ? { system: patient.system } : {}) };
  }

  function list(at: Date, access: { showPatient: boolean }): ApiDevice[] {
    const activities = new Map(options.activity.devices(at).map((activity) => [activity.id, activity]));
    const result: ApiDevice[] = [];
    const statuses = new Map(options.deviceStates().map((status) => [status.deviceId, status]));
    const configuredIds = new Set([...configuredById.keys(), ...statuses.keys()]);
    for (const id of configuredIds) {
      const status = statuses.get(id);
      const configured = configuredById.get(id);
      const activity = activities.get(id);
      const { showPatient: _s, ...counts } = common(activity, access.showPatient, at);
      const lastSeen = status?.lastDataAt ?? activity?.lastSeenAt?.toISOString() ?? null;
      result.push({
        id,
        adapter: configured?.adapter.name ?? status?.adapter ?? activity?.adapter ?? 'unknown',
        source: 'configured',
        transport: {
          kind: configured?.transport.kind ?? (activity === undefined || activity.transport === 'mllp' ? 'serial' : activity.transport),
          description: status?.transport ?? configured?.transport.kind ?? 'unknown',
        },
        patient: patientOf(configured?.binding.patient, access.showPatient),
        location: configured?.binding.location ?? null,
        state: status === undefined ? 'disconnected' : status.state === 'recovered' ? 'connected' : status.state,
        transportState: status?.state ?? null,
        stateSince: status?.since ?? null,
        lastSeenAt: lastSeen,
        framesReceived: status?.framesReceived ?? 0,
        pendingMessages: status?.pendingMessages ?? 0,
        ...counts,
      });
    }
    for (const activity of activities.values()) {
      if (configuredIds.has(activity.id) || activity.transport !== 'mllp') continue;
      const { showPatient: _s, ...counts } = common(activity, access.showPatient, at);
      result.push({
        id: activity.id,
        adapter: activity.adapter,
        source: 'mllp',
        transport: { kind: 'mllp', description: 'MLLP listener' },
        patient: patientOf(activity.patient, access.showPatient),
        location: null,
        state: mllpState(activity, at),
        transportState: null,
        stateSince: null,
        lastSeenAt: activity.lastSeenAt?.toISOString() ?? null,
        framesReceived: null,
        pendingMessages: 0,
        ...counts,
      });
    }
    return result.sort((a, b) => a.id.localeCompare(b.id));
  }

  return {
    list,
    get(id: string, at: Date, access: { showPatient: boolean }): ApiDevice | undefined {
      return list(at, access).find((device) => device.id === id);
    },
    countByState(at: Date): Record<ApiDeviceState, number> {
      const counts = Object.fromEntries(apiDeviceStates.map((state) => [state, 0])) as Record<ApiDeviceState, number>;
      for (const device of list(at, { showPatient: false })) counts[device.state] += 1;
      return counts;
    },
  };
}

/** A dead letter as the API and the dashboard show it: what failed and where, never the raw bytes. */
export function deadLetterView(entry: DeadLetterEntry) {
  return {
    code: entry.code,
    stage: entry.stage,
    at: entry.at.toISOString(),
    adapter: entry.adapter,
    deviceId: entry.deviceId ?? null,
    messageId: entry.messageId ?? null,
    bytes: entry.bytes,
  };
}
