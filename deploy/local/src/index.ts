export { InfraError } from './errors.js';
export { KAFKA_VERSION, KAFKA_3_VERSION, TESTED_KAFKA_VERSIONS, brokerProperties, kafkaVersion, kafkaAnswers, kafkaPaths, kafkaStatus, resolveKafkaJars, startKafka, stopKafka, type KafkaOptions, type KafkaStatus, type KafkaSaslListener, type KafkaTlsListener } from './kafka.js';
export { DEFAULT_REDIS_URL, redisAnswers, redisStatus, startRedis, stopRedis, type RedisOptions, type RedisStatus } from './redis.js';
export { ensureInfra, type Infra } from './infra.js';
