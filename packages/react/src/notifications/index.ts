export {
  type NotificationHooksOptions,
  type NotificationProcedures,
  notificationHooksDefaults,
  useNotificationActions,
  useNotificationFeed,
  useNotificationPreferences,
  useUnreadCount,
} from './notificationHooks';
