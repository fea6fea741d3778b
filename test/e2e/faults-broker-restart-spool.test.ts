/**
 * Fault test, delivery.ack: spool: the Kafka broker stopped, then killed, and restarted while MLLP
 * senders and serial devices stream; the spool keeps acknowledging through the outage and drains
 * afterwards. The scenario: faults-broker-restart.scenario.ts.
 */
import { defineBrokerRestartTests } from './faults-broker-restart.scenario.ts';

defineBrokerRestartTests('spool');
