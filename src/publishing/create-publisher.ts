/**
 * The gateway's Kafka publisher as the config chooses it (kafka.client): @platformatic/kafka by
 * default, kafkajs as the fallback. Both implement the same Publisher semantics.
 */
import type { GatewayConfig } from '../../schemas/config.ts';
import type { Logger } from '../observability/log.ts';
import { createKafkaPublisher } from './kafka-publisher.ts';
import { createPlatformaticPublisher } from './platformatic-publisher.ts';
import type { KafkaPublisherOptions, Publisher } from './publisher.ts';

export function createConfiguredPublisher(
  kafka: GatewayConfig['kafka'],
  settings: { brokers: readonly string[]; log: Logger; clientId?: string; createTopics?: boolean },
): Publisher {
  const options: KafkaPublisherOptions = {
    brokers: settings.brokers,
    clientId: settings.clientId ?? kafka.clientId,
    createTopics: settings.createTopics ?? kafka.createTopics,
    topicPartitions: kafka.topicPartitions,
    replicationFactor: kafka.replicationFactor,
    connectTimeoutMs: kafka.connectTimeoutMs,
    lingerMs: kafka.lingerMs,
    lingerAfterSendMs: kafka.lingerAfterSendMs,
    maxBatchBytes: kafka.maxBatchBytes,
    security: kafka,
    log: settings.log,
  };
  switch (kafka.client) {
    case 'platformatic':
      return createPlatformaticPublisher(options);
    case 'kafkajs':
      return createKafkaPublisher(options);
    default:
      return kafka.client satisfies never;
  }
}
