/** Topic names (no Kafka or vitest here: bench scripts import the harness that uses it too). */

/** The gateway's four topics (config kafka.topics) under one prefix, e.g. `refused.1a2b3c4d`. */
export function gatewayTopicNames(prefix: string): { observation: string; device: string; deadLetter: string; events: string } {
  return {
    observation: `${prefix}.fhir.observation`,
    device: `${prefix}.fhir.device`,
    deadLetter: `${prefix}.gateway.deadletter`,
    events: `${prefix}.gateway.events`,
  };
}
