/**
 * Limits of the notifications module; each is documented in `docs/notifications.md` and
 * answered with a `BAD_REQUEST` naming the limit.
 */
export interface NotificationLimits {
  /**
   * Characters in a title.
   * @default 200
   */
  maxTitleLength: number;
  /**
   * Characters in a body.
   * @default 2_000
   */
  maxBodyLength: number;
  /**
   * Bytes of `data` as JSON.
   * @default 4_096
   */
  maxDataBytes: number;
  /**
   * Distinct recipients of one `notify` call.
   * @default 10_000
   */
  maxRecipients: number;
  /**
   * Notifications in one feed page.
   * @default 100
   */
  maxPageSize: number;
  /**
   * Ids in one `markRead` or `archive` call.
   * @default 100
   */
  maxIdsPerCall: number;
}

/** Defaults of {@link NotificationLimits}. */
export const notificationLimitsDefaults: NotificationLimits = {
  maxTitleLength: 200,
  maxBodyLength: 2_000,
  maxDataBytes: 4_096,
  maxRecipients: 10_000,
  maxPageSize: 100,
  maxIdsPerCall: 100,
};
