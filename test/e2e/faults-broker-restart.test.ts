/**
 * Fault test, delivery.ack: kafka: the Kafka broker stopped, then killed, and restarted while MLLP
 * senders and serial devices stream. The scenario: faults-broker-restart.scenario.ts.
 */
import { defineBrokerRestartTests } from './faults-broker-restart.scenario.ts';

defineBrokerRestartTests('kafka');
