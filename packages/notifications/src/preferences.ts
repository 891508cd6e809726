import { type Preferences, type Priority, priorities } from './schemas';

/** What a user's preferences make of one notification: it is always stored. */
export interface Delivery {
  /** Counts toward the unread badge: its category is on and its priority reaches the minimum. */
  counted: boolean;
  /** Pushed live to the user's connections: counted, and outside quiet hours unless urgent. */
  pushed: boolean;
}

const rank = (priority: Priority) => priorities.indexOf(priority);

/** The preference rule, in one place. */
export function deliveryOf(
  prefs: Preferences,
  notification: { category: string; priority: Priority },
  now: Date,
): Delivery {
  const counted =
    prefs.categories[notification.category] !== false &&
    rank(notification.priority) >= rank(prefs.minPriority);
  const quiet = prefs.quietHours !== null && inQuietHours(prefs.quietHours, now);
  return { counted, pushed: counted && (!quiet || notification.priority === 'urgent') };
}

/** Whether `now` falls in `[start, end)` in the time zone; wraps midnight when end < start. */
export function inQuietHours(
  quiet: { start: string; end: string; timeZone: string },
  now: Date,
): boolean {
  const local = new Intl.DateTimeFormat('en-GB', {
    timeZone: quiet.timeZone,
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  }).format(now);
  if (quiet.start === quiet.end) return false;
  return quiet.start < quiet.end
    ? local >= quiet.start && local < quiet.end
    : local >= quiet.start || local < quiet.end;
}
