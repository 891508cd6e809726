export type { AdminHub, ConnectionsQuery } from './adminHub';
export {
  type AdminAuditEntry,
  adminCommandsChannel,
  adminReportsChannel,
  type DuplexAdminOptions,
  duplexAdminDefaults,
  logAuditEntry,
} from './adminOptions';
export {
  type AdminRouter,
  type AdminUser,
  type CommandResult,
  defaultConnectionsLimit,
  minFrameIntervalMs,
  type WhoamiResult,
} from './adminRouter';
export {
  connectionsInput,
  disconnectInput,
  disconnectUserInput,
  maxConnectionIdLength,
  maxConnectionsPerFrame,
  maxUserIdLength,
} from './adminSchemas';
export type {
  AdminCommand,
  ChannelPresence,
  ConnectionsFrame,
  NodePresence,
  NodeReport,
  OverviewFrame,
} from './adminTypes';
export { type AdminAttachable, createDuplexAdmin, type DuplexAdmin } from './createDuplexAdmin';
export { type AdminRoutesOptions, adminRoutesDefaults } from './pageRoute';
