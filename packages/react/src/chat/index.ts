export {
  type ChatHooksOptions,
  type ChatProcedures,
  chatHooksDefaults,
  type OnlineUser,
  type RoomMessagesResult,
  type TypingUser,
  useMembers,
  usePresence,
  useReceipts,
  useRoomMessages,
  useRooms,
  useSendMessage,
  useTyping,
} from './chatHooks';
export type { ChatMessage, RoomMessages } from './roomMessages';
