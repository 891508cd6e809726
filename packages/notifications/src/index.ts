export { type NotificationLimits, notificationLimitsDefaults } from './limits';
export { createMemoryNotificationStore } from './memoryNotificationStore';
export { notificationMigrations } from './notificationMigrations';
export type { NotificationContent, NotificationStore } from './notificationStore';
export {
  createNotificationsRouter,
  type NotificationsRouter,
  type NotificationsRouterOptions,
  type NotificationsUser,
} from './notificationsRouter';
export {
  createNotifier,
  type NotificationRetention,
  type Notifier,
  type NotifierOptions,
  type NotifyResult,
  notificationChannel,
  notificationRetentionDefaults,
} from './notifier';
export { type Delivery, deliveryOf, inQuietHours } from './preferences';
export {
  categorySchema,
  defaultPreferences,
  type FeedInput,
  type FeedPage,
  feedInput,
  idsInput,
  linkSchema,
  type Notification,
  type NotificationEvent,
  type NotifyInput,
  notificationIdSchema,
  notifyInput,
  onNotificationInput,
  type Preferences,
  type Priority,
  preferencesSchema,
  priorities,
  prioritySchema,
} from './schemas';
export { createSqlNotificationStore } from './sqlNotificationStore';
