/**
 * The host's side of a Medibus conversation, as a pure state machine (the engine passes `now` and
 * writes what it returns).
 *
 * 1. Open: send ICC (initialise communication, `1B 51 36 43 0D`) and wait for the device's echo.
 * 2. Then ask for the device identification (0x52, unless configured off), then poll current measured
 *    data code page 1 (`1B 24 33 46 0D`) every `pollIntervalSeconds`.
 * 3. One command is outstanding at a time. An unanswered command is sent again after
 *    `responseTimeoutSeconds`, up to `retries` times; then the session resets with device_no_response.
 * 4. The device's own commands are answered at once by echoing them as a response
 *    (`SOH cmd CS CS CR`), as Medibus requires (mdpnp Medibus.java receiveCommand does the same);
 *    a device request for *our* identification (0x52) is answered with the host's identification.
 *    A device STOP (0x55) is echoed and communication is initialised again.
 * 5. When the gateway has sent nothing for `keepAliveSeconds`, it sends a NOP (0x30) and expects its echo.
 * 6. A NAK (the device's 0x15 "corrupt" answer) or a response to a command we did not send resets
 *    the session with device_protocol_error.
 * The session reads only the start byte and command byte of a frame; the data go to parse/normalize.
 */
import type { DeviceSession, SessionStep } from '../../src/adapter-kit/define-adapter.ts';
import { commands, encodeCommand, encodeResponse, ESC, SOH } from './checksum.ts';
import type { MedibusConfig } from './config.ts';
import { codeHex } from './codes.ts';

/** What the host says when the device asks who it is (0x52): id number, name in apostrophes, 11-character revision. */
export const hostIdentification = `0000'VITALBRIDGE'${'01.00'.padEnd(11, ' ')}`;

type Phase = 'initializing' | 'identifying' | 'polling';

interface Pending {
  readonly command: number;
  readonly bytes: Buffer;
  sentAt: number;
  attempts: number;
}

const none: SessionStep = { send: [] };

export class MedibusSession implements DeviceSession {
  readonly tickMs = 100;
  private phase: Phase = 'initializing';
  private pending: Pending | undefined;
  /** The last command answered after a retry: its late duplicate answer is tolerated once. */
  private lateAnswerOf: number | undefined;
  private lastPollAt: number | undefined;
  private lastSentAt = 0;

  constructor(private readonly config: MedibusConfig) {}

  private send(command: number, now: number): Buffer {
    const bytes = encodeCommand(command);
    this.pending = { command, bytes, sentAt: now, attempts: 1 };
    this.lastSentAt = now;
    if (command === commands.measuredDataCp1) this.lastPollAt = now;
    return bytes;
  }

  onOpen(now: Date): SessionStep {
    this.phase = 'initializing';
    this.pending = undefined;
    this.lateAnswerOf = undefined;
    this.lastPollAt = undefined;
    return { send: [this.send(commands.initializeCommunication, now.getTime())] };
  }

  onTick(now: Date): SessionStep {
    const t = now.getTime();
    const pending = this.pending;
    if (pending !== undefined) {
      if (t - pending.sentAt < this.config.responseTimeoutSeconds * 1000) return none;
      if (pending.attempts > this.config.retries) {
        this.pending = undefined;
        return {
          send: [],
          reset: {
            code: 'device_no_response',
            detail: `No answer to command 0x${codeHex(pending.command)} after ${pending.attempts} attempt(s) of ${this.config.responseTimeoutSeconds} s.`,
          },
        };
      }
      pending.attempts += 1;
      pending.sentAt = t;
      this.lastSentAt = t;
      return { send: [pending.bytes] };
    }
    return { send: this.next(t) };
  }

  /** What to send when nothing is outstanding. */
  private next(t: number): Buffer[] {
    switch (this.phase) {
      case 'initializing':
        return [this.send(commands.initializeCommunication, t)];
      case 'identifying':
        return [this.send(commands.deviceIdentification, t)];
      case 'polling':
        if (this.lastPollAt === undefined || t - this.lastPollAt >= this.config.pollIntervalSeconds * 1000) {
          return [this.send(commands.measuredDataCp1, t)];
        }
        if (t - this.lastSentAt >= this.config.keepAliveSeconds * 1000) return [this.send(commands.noOperation, t)];
        return [];
      default:
        return this.phase satisfies never;
    }
  }

  onFrame(frame: Buffer, now: Date): SessionStep & { readonly data: boolean } {
    const t = now.getTime();
    const start = frame[0];
    const command = frame[1]!;
    if (start === ESC) return { send: this.answerDeviceCommand(command), data: false };
    if (start !== SOH) return { send: [], data: false };

    const carriesData = command === commands.measuredDataCp1 || command === commands.deviceIdentification;
    if (command === commands.nak) {
      this.pending = undefined;
      return { send: [], data: false, reset: { code: 'device_protocol_error', detail: 'The device answered NAK (0x15): it could not understand the last command.' } };
    }
    const pending = this.pending;
    if (pending === undefined || pending.command !== command) {
      if (command === this.lateAnswerOf) {
        // The answer to the first attempt of a command we sent again: late, not wrong.
        this.lateAnswerOf = undefined;
        return { send: [], data: carriesData };
      }
      return {
        send: [],
        data: false,
        reset: {
          code: 'device_protocol_error',
          detail:
            pending === undefined
              ? `A response to 0x${codeHex(command)} arrived while no command was outstanding.`
              : `A response to 0x${codeHex(command)} arrived while 0x${codeHex(pending.command)} was outstanding.`,
        },
      };
    }
    this.pending = undefined;
    this.lateAnswerOf = pending.attempts > 1 ? command : undefined;
    if (command === commands.initializeCommunication && this.phase === 'initializing') {
      this.phase = this.config.requestDeviceIdentification ? 'identifying' : 'polling';
    } else if (command === commands.deviceIdentification && this.phase === 'identifying') {
      this.phase = 'polling';
    }
    return { send: this.next(t), data: carriesData };
  }

  private answerDeviceCommand(command: number): Buffer[] {
    // Answers are responses, not commands: they neither wait for an echo nor count as the host's traffic for keep-alive.
    if (command === commands.deviceIdentification) return [encodeResponse(command, hostIdentification)];
    if (command === commands.stopCommunication) {
      this.phase = 'initializing';
      this.pending = undefined;
      return [encodeResponse(command)];
    }
    return [encodeResponse(command)];
  }
}
