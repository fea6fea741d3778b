/**
 * The gateway's side of the IntelliVue Data Export conversation, a pure state machine (no I/O, no
 * clock: `now` comes in with every call):
 *
 *   open            -> send AARQ                                  state: associating
 *   AC (0E)         -> wait for the MDS Create Event              state: awaiting-mds
 *   MDS Create      -> send MDS Create Event Result, poll at once state: associated
 *   every N s       -> Extended Poll Data Request (numerics); a poll result answers it (data)
 *   quiet for K s   -> keep-alive (single MDS poll)
 *   RF (0C) / AB (19) / remote error          -> reset device_protocol_error
 *   release request (09) from the monitor     -> send release response, reset device_protocol_error
 *   no AC / MDS Create / poll answer in time  -> reset device_no_response
 *   close()         -> release request (RLRQ)
 */
import type { DeviceSession, SessionStep } from '../../src/adapter-kit/define-adapter.ts';
import { GatewayError } from '../../src/errors/catalogue.ts';
import type { IntellivueConfig } from './config.ts';
import { encodeFrame } from './framing.ts';
import { associationRequest, extendedNumericPollRequest, keepAliveRequest, mdsCreateResult, releaseRequest, releaseResponse } from './messages.ts';
import { parseIntellivue, type IntellivueMessage } from './parse.ts';

export type SessionState = 'idle' | 'associating' | 'awaiting-mds' | 'associated' | 'released';

export interface IntellivueSession extends DeviceSession {
  readonly state: SessionState;
  /** Bytes to send before the line closes: the association release request (when associated). */
  close(now: Date): SessionStep;
}

const nothing: SessionStep = { send: [] };

export function createIntellivueSession(config: Pick<IntellivueConfig, 'pollIntervalSeconds' | 'replyTimeoutSeconds' | 'keepAliveSeconds'>): IntellivueSession {
  let state: SessionState = 'idle';
  /** When the awaited answer (AC, MDS Create, poll result) is overdue. */
  let deadline: number | undefined;
  let awaiting: string | undefined;
  let pendingInvoke: number | undefined;
  let nextPollAt = 0;
  let lastSentAt = 0;
  let invokeId = 0;
  let pollNumber = 0;
  const replyMs = config.replyTimeoutSeconds * 1000;

  const nextInvoke = () => (invokeId = (invokeId + 1) & 0xffff);
  const nextPoll = () => (pollNumber = (pollNumber + 1) & 0xffff);

  function reset(code: 'device_no_response' | 'device_protocol_error', detail: string): SessionStep {
    state = 'idle';
    deadline = undefined;
    awaiting = undefined;
    pendingInvoke = undefined;
    return { send: [], reset: { code, detail } };
  }

  function expect(what: string, now: Date): void {
    awaiting = what;
    deadline = now.getTime() + replyMs;
  }

  function send(now: Date, userData: Buffer): Buffer {
    lastSentAt = now.getTime();
    return encodeFrame(userData);
  }

  function poll(now: Date): Buffer {
    const invoke = nextInvoke();
    pendingInvoke = invoke;
    nextPollAt = now.getTime() + config.pollIntervalSeconds * 1000;
    expect('the poll result', now);
    return send(now, extendedNumericPollRequest(invoke, nextPoll()));
  }

  return {
    tickMs: 250,
    get state() {
      return state;
    },

    onOpen(now) {
      state = 'associating';
      invokeId = 0;
      pollNumber = 0;
      pendingInvoke = undefined;
      expect('the association response', now);
      return { send: [send(now, associationRequest)] };
    },

    onFrame(frame, now) {
      let message: IntellivueMessage;
      try {
        message = parseIntellivue(frame);
      } catch (error) {
        if (error instanceof GatewayError) return { send: [], data: false };
        throw error;
      }
      switch (message.kind) {
        case 'association-accept':
          if (state !== 'associating') return { send: [], data: false };
          state = 'awaiting-mds';
          expect('the MDS Create Event Report', now);
          return { send: [], data: false };
        case 'association-refuse':
          return { ...reset('device_protocol_error', 'The monitor refused the association (RF).'), data: false };
        case 'abort':
          return { ...reset('device_protocol_error', 'The monitor aborted the association (AB).'), data: false };
        case 'release-request': {
          const step = reset('device_protocol_error', 'The monitor released the association.');
          return { ...step, send: [send(now, releaseResponse)], data: false };
        }
        case 'mds-create': {
          if (state !== 'awaiting-mds' && state !== 'associated') return { send: [], data: false };
          state = 'associated';
          const result = send(now, mdsCreateResult(message.invokeId, message.eventTime));
          // The Device resource comes from this frame, so it carries data.
          return { send: [result, poll(now)], data: true };
        }
        case 'poll-result': {
          if (state !== 'associated') return { send: [], data: false };
          if (message.invokeId === pendingInvoke && !message.linked) {
            pendingInvoke = undefined;
            awaiting = undefined;
            deadline = undefined;
          }
          return { send: [], data: true };
        }
        case 'remote-error':
          if (message.invokeId === pendingInvoke) {
            return { ...reset('device_protocol_error', `The monitor answered the poll with remote error ${message.errorValue}.`), data: false };
          }
          return { send: [], data: false };
        default:
          return { send: [], data: false };
      }
    },

    onTick(now) {
      const t = now.getTime();
      if (deadline !== undefined && t >= deadline) return reset('device_no_response', `No answer from the monitor: waited ${config.replyTimeoutSeconds} s for ${awaiting ?? 'a reply'}.`);
      if (state !== 'associated') return nothing;
      if (pendingInvoke === undefined && t >= nextPollAt) return { send: [poll(now)] };
      if (t - lastSentAt >= config.keepAliveSeconds * 1000) return { send: [send(now, keepAliveRequest(nextInvoke(), nextPoll()))] };
      return nothing;
    },

    close(now) {
      if (state !== 'associated' && state !== 'awaiting-mds') {
        state = 'released';
        return nothing;
      }
      state = 'released';
      deadline = undefined;
      return { send: [send(now, releaseRequest)] };
    },
  };
}
