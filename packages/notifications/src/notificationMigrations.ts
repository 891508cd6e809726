import type { Migrations } from '@duplex/sql';

/** The notifications schema's history. Released steps are never edited; changes are new steps. */
export const notificationMigrations: Migrations = {
  module: 'notifications',
  steps: [
    `CREATE TABLE notifications (
      id bigserial PRIMARY KEY,
      user_id text NOT NULL,
      category text NOT NULL,
      priority text NOT NULL CHECK (priority IN ('low', 'normal', 'high', 'urgent')),
      title text NOT NULL,
      body text,
      data jsonb,
      link text,
      dedupe_key text,
      counted boolean NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      read_at timestamptz,
      archived_at timestamptz
    );
    CREATE INDEX notifications_feed ON notifications (user_id, id DESC) WHERE archived_at IS NULL;
    CREATE INDEX notifications_unread ON notifications (user_id)
      WHERE read_at IS NULL AND archived_at IS NULL AND counted;
    CREATE UNIQUE INDEX notifications_dedupe ON notifications (user_id, dedupe_key)
      WHERE dedupe_key IS NOT NULL;
    CREATE TABLE notification_preferences (
      user_id text PRIMARY KEY,
      prefs jsonb NOT NULL,
      updated_at timestamptz NOT NULL DEFAULT now()
    );`,
  ],
};
