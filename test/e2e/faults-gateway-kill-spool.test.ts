/**
 * Fault test, delivery.ack: spool: the gateway SIGKILLed mid-stream and restarted three times on the
 * same spool dir while MLLP senders and serial devices stream; each start resumes from the spool.
 * The scenario: faults-gateway-kill.scenario.ts.
 */
import { defineGatewayKillTests } from './faults-gateway-kill.scenario.ts';

defineGatewayKillTests('spool');
