export {
  type ChatAttachmentRouteOptions,
  createChatAttachmentRoute,
  sniffImageType,
} from './attachmentRoute';
export { type ChatUser, roomChannel } from './chatKit';
export { type ChatLimits, chatLimitsDefaults } from './chatLimits';
export { chatMigrations } from './chatMigrations';
export { type ChatRouter, type ChatRouterOptions, createChatRouter } from './chatRouter';
export {
  type AnnouncedEventType,
  type AnnouncementClaim,
  type AnnouncementRef,
  attachmentUrl,
  type ChatBlobStore,
  type ChatStore,
  type NewMessage,
  type StoredAttachment,
} from './chatStore';
export { createFileBlobStore, type FileBlobStoreOptions } from './fileBlobStore';
export { createMemoryChatStore } from './memoryChatStore';
export {
  type Attachment,
  appendStreamInput,
  attachmentIdSchema,
  type ChatEvent,
  type CreateRoomInput,
  createRoomInput,
  editInput,
  ephemeralEventTypes,
  finishStreamInput,
  type HistoryInput,
  historyInput,
  type InviteResult,
  inviteInput,
  type Member,
  type Message,
  markReadInput,
  messageIdSchema,
  messageInput,
  onEventInput,
  type Role,
  type Room,
  type RoomSummary,
  reactInput,
  roomIdSchema,
  roomInput,
  type SendInput,
  type StreamState,
  sendInput,
  setRoleInput,
  startStreamInput,
  type Visibility,
} from './schemas';
export { createSqlChatStore, type SqlChatStoreOptions } from './sqlChatStore';
