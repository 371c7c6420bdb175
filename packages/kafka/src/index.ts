export { createKafkaClient, type KafkaClient, type KafkaClientOptions } from './client.js';
export { deleteTopics, ensureTopics, isUnknownTopic, ensureDeadLetterTopic, DEAD_LETTER_HEADROOM_BYTES, type TopicSpec, type EnsureTopicsResult, type DeadLetterTopic } from './topics.js';
export { createProducer, type KafkaProducer, type ProducerOptions, type OutgoingMessage, type SendResult } from './producer.js';
export {
  createBatchConsumer,
  type BatchConsumer,
  type BatchConsumerOptions,
  type BatchConsumerEvents,
  type ConsumedBatch,
  type ConsumedMessage,
  type ConsumerState,
  type ConsumerStats,
  type SeekTarget,
  type TopicPartition,
} from './consumer.js';
export { consumerLag, waitForDrain, type PartitionLag } from './lag.js';
export { readTopicRange, type ReadTopicRangeOptions, type ReadTopicRangeResult, type PartitionRange, type RangeProgress } from './range.js';
export { KafkaPortError, KAFKA_ERROR_CODES, toKafkaPortError, recordsTooLarge, isKafkaAuthFailure, type KafkaErrorCode, type RecordsTooLarge, type TooLargeRecord } from './errors.js';
export { topicMessageLimit, KAFKA_DEFAULT_MESSAGE_BYTES, type MessageLimit } from './limits.js';
export { RECORD_BATCH_OVERHEAD, recordContentBytes, singleRecordBatchBytes, fitRecord } from './record-size.js';
export { verifyKafkaConnection, kafkaDriver, isTlsFailure, type VerifyResult } from './verify.js';
export { silenceKafkajsNegativeTimeoutWarning } from './node-warnings.js';
