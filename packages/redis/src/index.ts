export { BrokerUnavailableError } from './brokerUnavailableError';
export {
  createRedisBroker,
  type RedisBroker,
  type RedisBrokerOptions,
  redisBrokerDefaults,
} from './redisBroker';
export { type RedisConnectionOptions, redisConnectionDefaults } from './redisConnection';
export {
  createRedisPresence,
  type RedisPresence,
  type RedisPresenceOptions,
  redisPresenceDefaults,
} from './redisPresence';
