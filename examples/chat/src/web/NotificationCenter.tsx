import type { Notification, Preferences, Priority } from '@duplex/notifications';
import {
  useNotificationActions,
  useNotificationPreferences,
  useUnreadCount,
} from '@duplex/react/notifications';
import { type Ref, type RefObject, useEffect, useId, useRef, useState } from 'react';
import { useTRPC } from './client';
import { useDismiss } from './dom';
import { ArchiveIcon, BellIcon, CheckIcon, CloseIcon } from './icons';
import { useReporter } from './report';

const priorities: Priority[] = ['low', 'normal', 'high', 'urgent'];
/** The categories this app sends; any other seen in the feed is listed too. */
const knownCategories: Record<string, string> = {
  'chat.mention': 'Mentions',
  'chat.invite': 'Room invitations',
};

/** The bell with its live unread badge; opens the panel. */
export function Bell({
  onToggle,
  open,
  buttonRef,
}: {
  onToggle: () => void;
  open: boolean;
  buttonRef?: Ref<HTMLButtonElement>;
}) {
  const count = useUnreadCount(useTRPC().notifications);
  return (
    <button
      ref={buttonRef}
      type="button"
      className="bell icon-button"
      title="Notifications"
      aria-label={`Notifications, ${count} unread`}
      aria-expanded={open}
      aria-controls={open ? 'notif-panel' : undefined}
      onClick={onToggle}
    >
      <BellIcon size={20} />
      {count > 0 && (
        <span className="bell-badge" aria-hidden="true">
          {count > 99 ? '99+' : count}
        </span>
      )}
    </button>
  );
}

/** What the panel shows of the feed (`useNotificationFeed`, kept by the layout). */
export interface Feed {
  items: Notification[];
  hasMore: boolean;
  loadMore: () => Promise<void>;
}

/**
 * The notification panel: a popover beside the bell (a sheet on a phone). Escape, a press
 * outside it and its close button close it; `onClose` says how, so the layout can give the
 * focus back to the bell.
 */
export function NotificationPanel({
  feed,
  onOpenLink,
  onClose,
}: {
  feed: Feed;
  onOpenLink: (link: string) => Promise<void>;
  onClose: (how: 'escape' | 'outside' | 'button' | 'link') => void;
}) {
  const [tab, setTab] = useState<'feed' | 'preferences'>('feed');
  const trpc = useTRPC();
  const { run } = useReporter();
  const unreadCount = useUnreadCount(trpc.notifications);
  const actions = useNotificationActions(trpc.notifications);
  const { preferences, save } = useNotificationPreferences(trpc.notifications);
  const ref = useRef<HTMLElement>(null);
  // The bell toggles the panel itself: a press on it is not "outside".
  useDismiss(ref, true, onClose, '.bell');
  const titleId = useId();
  const firstTab = useRef<HTMLButtonElement>(null);
  // Opening the panel moves the focus into it.
  useEffect(() => firstTab.current?.focus(), []);
  return (
    <section
      className="notif-panel"
      id="notif-panel"
      ref={ref as RefObject<HTMLElement>}
      role="dialog"
      aria-labelledby={titleId}
    >
      <header>
        <h2 id={titleId} className="sr-only">
          Notifications
        </h2>
        <div className="tabs">
          <button
            type="button"
            aria-pressed={tab === 'feed'}
            className={tab === 'feed' ? 'tab active' : 'tab'}
            ref={firstTab}
            onClick={() => setTab('feed')}
          >
            Notifications
          </button>
          <button
            type="button"
            aria-pressed={tab === 'preferences'}
            className={tab === 'preferences' ? 'tab active' : 'tab'}
            onClick={() => setTab('preferences')}
          >
            Preferences
          </button>
        </div>
        <button
          type="button"
          className="icon-button close"
          onClick={() => onClose('button')}
          aria-label="Close notifications"
          title="Close"
        >
          <CloseIcon />
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
                  onClose('link');
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
            aria-label="Mark as read"
            className="mark-read icon-button"
            onClick={() => void run(() => actions.markRead([item.id]))}
          >
            <CheckIcon size={16} />
          </button>
        )}
        <button
          type="button"
          title="Archive"
          aria-label="Archive"
          className="archive icon-button"
          onClick={() => void run(() => actions.archive([item.id]))}
        >
          <ArchiveIcon size={16} />
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
  const [saving, setSaving] = useState(false);
  const quiet = prefs.quietHours;
  const ids = useId();
  const update = (next: Preferences) => {
    setPrefs(next);
    setSaved(false);
  };
  return (
    <form
      className="prefs"
      onSubmit={(e) => {
        e.preventDefault();
        setSaving(true);
        void run(async () => {
          try {
            await save(prefs);
            setSaved(true);
          } finally {
            setSaving(false);
          }
        });
      }}
    >
      <fieldset className="pref-group">
        <legend>Notify me about</legend>
        {categories.map((category) => (
          <label key={category} className="pref-row switch-row">
            <span>{categoryLabel(category)}</span>
            <input
              type="checkbox"
              className="switch"
              name={category}
              checked={prefs.categories[category] !== false}
              onChange={(e) =>
                update({
                  ...prefs,
                  categories: { ...prefs.categories, [category]: e.target.checked },
                })
              }
            />
          </label>
        ))}
      </fieldset>
      <fieldset className="pref-group">
        <legend>Priority</legend>
        <label className="pref-row" htmlFor={`${ids}-min`}>
          <span>
            Push and count from
            <span className="pref-hint">Lower priorities stay in the feed, quietly.</span>
          </span>
          <select
            id={`${ids}-min`}
            name="minPriority"
            value={prefs.minPriority}
            onChange={(e) => update({ ...prefs, minPriority: e.target.value as Priority })}
          >
            {priorities.map((p) => (
              <option key={p} value={p}>
                {p[0]!.toUpperCase() + p.slice(1)}
              </option>
            ))}
          </select>
        </label>
      </fieldset>
      <fieldset className="pref-group">
        <legend>Quiet hours</legend>
        <label className="pref-row switch-row">
          <span>
            Quiet hours
            <span className="pref-hint">Only urgent notifications are pushed.</span>
          </span>
          <input
            type="checkbox"
            className="switch"
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
          />
        </label>
        {quiet && (
          <div className="pref-row quiet-times">
            <label>
              From
              <input
                type="time"
                value={quiet.start}
                onChange={(e) =>
                  update({ ...prefs, quietHours: { ...quiet, start: e.target.value } })
                }
              />
            </label>
            <label>
              Until
              <input
                type="time"
                value={quiet.end}
                onChange={(e) =>
                  update({ ...prefs, quietHours: { ...quiet, end: e.target.value } })
                }
              />
            </label>
            <span className="pref-hint">{quiet.timeZone}</span>
          </div>
        )}
      </fieldset>
      <div className="pref-actions">
        <button type="submit" className="primary" disabled={saving}>
          Save
        </button>
        <span className="saved-slot" role="status">
          {saved && (
            <span className="saved">
              <CheckIcon size={16} /> Saved
            </span>
          )}
        </span>
      </div>
      <p className="pref-note">
        Everything is kept in the feed. Muted categories and lower priorities are neither pushed nor
        counted in the badge.
      </p>
    </form>
  );
}
