import type { Notification, Preferences, Priority } from '@duplex/notifications';
import {
  useNotificationActions,
  useNotificationPreferences,
  useUnreadCount,
} from '@duplex/react/notifications';
import { useState } from 'react';
import { useTRPC } from './client';
import { useReporter } from './report';

const priorities: Priority[] = ['low', 'normal', 'high', 'urgent'];
/** The categories this app sends; any other seen in the feed is listed too. */
const knownCategories: Record<string, string> = {
  'chat.mention': 'Mentions',
  'chat.invite': 'Room invitations',
};

/** The bell with its live unread badge; opens the panel. */
export function Bell({ onToggle }: { onToggle: () => void }) {
  const count = useUnreadCount(useTRPC().notifications);
  return (
    <button
      type="button"
      className="bell"
      title="Notifications"
      aria-label={`Notifications, ${count} unread`}
      onClick={onToggle}
    >
      🔔{count > 0 && <span className="bell-badge">{count > 99 ? '99+' : count}</span>}
    </button>
  );
}

/** What the panel shows of the feed (`useNotificationFeed`, kept by the layout). */
export interface Feed {
  items: Notification[];
  hasMore: boolean;
  loadMore: () => Promise<void>;
}

export function NotificationPanel({
  feed,
  onOpenLink,
  onClose,
}: {
  feed: Feed;
  onOpenLink: (link: string) => Promise<void>;
  onClose: () => void;
}) {
  const [tab, setTab] = useState<'feed' | 'preferences'>('feed');
  const trpc = useTRPC();
  const { run } = useReporter();
  const unreadCount = useUnreadCount(trpc.notifications);
  const actions = useNotificationActions(trpc.notifications);
  const { preferences, save } = useNotificationPreferences(trpc.notifications);
  return (
    <section className="notif-panel" aria-label="Notifications">
      <header>
        <div className="tabs">
          <button
            type="button"
            className={tab === 'feed' ? 'tab active' : 'tab'}
            onClick={() => setTab('feed')}
          >
            Notifications
          </button>
          <button
            type="button"
            className={tab === 'preferences' ? 'tab active' : 'tab'}
            onClick={() => setTab('preferences')}
          >
            Preferences
          </button>
        </div>
        <button type="button" className="link" onClick={onClose} aria-label="Close">
          ✕
        </button>
      </header>
      {tab === 'feed' ? (
        <>
          <div className="notif-actions">
            <span className="muted">{unreadCount} unread</span>
            <button
              type="button"
              className="link"
              disabled={unreadCount === 0}
              onClick={() => void run(() => actions.markAllRead())}
            >
              Mark all read
            </button>
          </div>
          <ul className="notif-list">
            {feed.items.length === 0 && <li className="empty-feed muted">Nothing yet.</li>}
            {feed.items.map((item) => (
              <NotificationItem
                key={item.id}
                item={item}
                actions={actions}
                onOpen={async (link) => {
                  onClose();
                  await onOpenLink(link);
                }}
              />
            ))}
          </ul>
          {feed.hasMore && (
            <button
              type="button"
              className="link more"
              onClick={() => void run(() => feed.loadMore())}
            >
              Older notifications
            </button>
          )}
        </>
      ) : preferences ? (
        <PreferencesForm
          initial={preferences}
          save={save}
          categories={[
            ...new Set([...Object.keys(knownCategories), ...feed.items.map((i) => i.category)]),
          ]}
        />
      ) : (
        <p className="muted">Loading…</p>
      )}
    </section>
  );
}

function NotificationItem({
  item,
  actions,
  onOpen,
}: {
  item: Notification;
  actions: ReturnType<typeof useNotificationActions>;
  onOpen: (link: string) => Promise<void>;
}) {
  const { run } = useReporter();
  const unread = item.readAt === null;
  const open = async () => {
    if (unread) await actions.markRead([item.id]);
    if (item.link) await onOpen(item.link);
  };
  return (
    <li
      className={unread ? 'notif unread' : 'notif'}
      data-id={item.id}
      data-priority={item.priority}
    >
      <button type="button" className="notif-body" onClick={() => void run(open)}>
        <span className="notif-title">{item.title}</span>
        {item.body && <span className="notif-text">{item.body}</span>}
        <span className="notif-meta">
          {categoryLabel(item.category)} · {item.createdAt.toLocaleString()}
          {item.priority === 'urgent' || item.priority === 'high' ? ` · ${item.priority}` : ''}
        </span>
      </button>
      <div className="notif-buttons">
        {unread && (
          <button
            type="button"
            title="Mark as read"
            className="mark-read"
            onClick={() => void run(() => actions.markRead([item.id]))}
          >
            ✓
          </button>
        )}
        <button
          type="button"
          title="Archive"
          className="archive"
          onClick={() => void run(() => actions.archive([item.id]))}
        >
          🗄️
        </button>
      </div>
    </li>
  );
}

const categoryLabel = (category: string) => knownCategories[category] ?? category;

function PreferencesForm({
  initial,
  save,
  categories,
}: {
  initial: Preferences;
  save: (prefs: Preferences) => Promise<Preferences>;
  categories: string[];
}) {
  const { run } = useReporter();
  const [prefs, setPrefs] = useState(initial);
  const [saved, setSaved] = useState(false);
  const quiet = prefs.quietHours;
  const update = (next: Preferences) => {
    setPrefs(next);
    setSaved(false);
  };
  return (
    <form
      className="prefs"
      onSubmit={(e) => {
        e.preventDefault();
        void run(async () => {
          await save(prefs);
          setSaved(true);
        });
      }}
    >
      <fieldset>
        <legend>Categories</legend>
        {categories.map((category) => (
          <label key={category} className="pref-row">
            <input
              type="checkbox"
              name={category}
              checked={prefs.categories[category] !== false}
              onChange={(e) =>
                update({
                  ...prefs,
                  categories: { ...prefs.categories, [category]: e.target.checked },
                })
              }
            />
            {categoryLabel(category)}
          </label>
        ))}
      </fieldset>
      <label className="pref-row">
        Push and count from priority
        <select
          name="minPriority"
          value={prefs.minPriority}
          onChange={(e) => update({ ...prefs, minPriority: e.target.value as Priority })}
        >
          {priorities.map((p) => (
            <option key={p} value={p}>
              {p}
            </option>
          ))}
        </select>
      </label>
      <fieldset>
        <legend>
          <label>
            <input
              type="checkbox"
              name="quiet"
              checked={quiet !== null}
              onChange={(e) =>
                update({
                  ...prefs,
                  quietHours: e.target.checked
                    ? {
                        start: '22:00',
                        end: '07:00',
                        timeZone: Intl.DateTimeFormat().resolvedOptions().timeZone,
                      }
                    : null,
                })
              }
            />{' '}
            Quiet hours (only urgent is pushed)
          </label>
        </legend>
        {quiet && (
          <div className="pref-row">
            <input
              type="time"
              aria-label="Quiet from"
              value={quiet.start}
              onChange={(e) =>
                update({ ...prefs, quietHours: { ...quiet, start: e.target.value } })
              }
            />
            to
            <input
              type="time"
              aria-label="Quiet until"
              value={quiet.end}
              onChange={(e) => update({ ...prefs, quietHours: { ...quiet, end: e.target.value } })}
            />
            <span className="muted">{quiet.timeZone}</span>
          </div>
        )}
      </fieldset>
      <div className="pref-actions">
        <button type="submit">Save</button>
        {saved && <span className="muted saved">Saved</span>}
      </div>
      <p className="muted small">
        Everything is kept in the feed. Muted categories and lower priorities are neither pushed nor
        counted in the badge.
      </p>
    </form>
  );
}
