/**
 * Fault test, delivery.ack: kafka: the gateway SIGKILLed mid-stream and restarted three times while
 * MLLP senders and serial devices stream. The scenario: faults-gateway-kill.scenario.ts.
 */
import { defineGatewayKillTests } from './faults-gateway-kill.scenario.ts';

defineGatewayKillTests('kafka');
