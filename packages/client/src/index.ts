export { isGap, type StreamGap } from '@duplex/protocol';
export {
  type ClientTlsOptions,
  type DuplexClientOptions,
  type DuplexConnectionOptions,
  duplexClientDefaults,
  duplexConnectionDefaults,
  idempotent,
  type TokenSource,
} from './clientOptions';
export type { DuplexStatus, StatusStore } from './connectionStatus';
export { createDuplexClient, type DuplexClient } from './createDuplexClient';
export { DuplexClientError, type DuplexErrorCode } from './duplexClientError';
export { createDuplexConnection, DuplexClientConnection } from './duplexConnection';
export { type DuplexLinksOptions, duplexLinks } from './duplexLinks';
export {
  createBrowserOnlineManager,
  createManualOnlineManager,
  type ManualOnlineManager,
  type OnlineManager,
} from './onlineManager';
export {
  createReconnectPolicy,
  type ReconnectPolicy,
  type ReconnectPolicyOptions,
  reconnectPolicyDefaults,
} from './reconnectPolicy';
export { localStorageResumeStore, memoryResumeStore, type ResumeStore } from './resumeStore';
export type { WebSocketClass } from './socketConnection';
export type { DuplexTransport, TransportStore } from './transportLink';
export type { DuplexUrl, DuplexUrlContext } from './urlPicker';
