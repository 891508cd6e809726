export {
  type CloseCode,
  closeCodes,
  fatalCloseCodes,
  isCursor,
  isGap,
  readyNotification,
  type StreamCursor,
  type StreamGap,
} from '@duplex/protocol';
export type { AllowedOrigins, Authenticate, AuthenticateOptions, AuthResult } from './auth';
export { AuthRefusedError, TokenExpiredError } from './auth';
export type {
  Broker,
  BrokerItem,
  BrokerPublishOptions,
  BrokerStats,
  BrokerSubscribeOptions,
  BrokerSubscription,
} from './broker';
export type { DuplexConnection } from './connectionState';
export {
  createDuplexServer,
  type DuplexCloseOptions,
  type DuplexHandlerKind,
  type DuplexServer,
  type DuplexServerOptions,
  type inferDuplexUser,
} from './createDuplexServer';
export {
  type BackgroundErrorContext,
  backgroundError,
  type DuplexErrorHandler,
  type DuplexErrorReport,
  type DuplexErrorSource,
  type DuplexTransport,
  logErrorReport,
} from './errorReport';
export type { DuplexRoute, DuplexRouteContext } from './httpRoutes';
export {
  type DuplexContext,
  type DuplexInstance,
  type InitDuplexOptions,
  initDuplex,
} from './initDuplex';
export {
  type DuplexBrokerStats,
  type DuplexChannelStats,
  type DuplexConnectionInfo,
  type DuplexConnectionQuery,
  type DuplexDisconnectOptions,
  type DuplexInspector,
  type DuplexNodeStats,
  type DuplexProcedureStats,
  procedureBucketsSeconds,
} from './inspection';
export { type KeepAliveOptions, keepAliveDefaults } from './keepAlive';
export { type DuplexLimits, limitsDefaults } from './limits';
export { consoleLogger, type DuplexLogger } from './logger';
export { createMemoryBroker, type MemoryBrokerOptions, memoryBrokerDefaults } from './memoryBroker';
export type { DuplexMetrics } from './metrics';
export {
  createMemoryPresence,
  type Presence,
  type PresenceJoin,
  type PresenceMember,
} from './presence';
export { type StreamChannelOptions, streamChannel } from './streamChannel';
export type { DuplexTracingOptions } from './tracing';
