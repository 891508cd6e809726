import type { Migrations } from '@duplex/sql';

/** The chat schema's history. Released steps are never edited; changes are new steps. */
export const chatMigrations: Migrations = {
  module: 'chat',
  steps: [
    `CREATE TABLE chat_rooms (
      id text PRIMARY KEY,
      name text NOT NULL,
      visibility text NOT NULL CHECK (visibility IN ('public', 'private')),
      owner_id text NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX chat_rooms_public ON chat_rooms (created_at DESC) WHERE visibility = 'public';
    CREATE TABLE chat_members (
      room_id text NOT NULL REFERENCES chat_rooms (id) ON DELETE CASCADE,
      user_id text NOT NULL,
      name text NOT NULL,
      role text NOT NULL CHECK (role IN ('owner', 'moderator', 'member')),
      joined_at timestamptz NOT NULL DEFAULT now(),
      last_read_message_id bigint,
      PRIMARY KEY (room_id, user_id)
    );
    CREATE INDEX chat_members_user ON chat_members (user_id);
    CREATE TABLE chat_invites (
      room_id text NOT NULL REFERENCES chat_rooms (id) ON DELETE CASCADE,
      user_id text NOT NULL,
      invited_by text NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (room_id, user_id)
    );
    CREATE TABLE chat_attachments (
      id text PRIMARY KEY,
      owner_id text NOT NULL,
      content_type text NOT NULL,
      size_bytes int NOT NULL,
      bytes bytea NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE TABLE chat_messages (
      id bigserial PRIMARY KEY,
      room_id text NOT NULL REFERENCES chat_rooms (id) ON DELETE CASCADE,
      author_id text NOT NULL,
      author_name text NOT NULL,
      client_msg_id text NOT NULL,
      text text,
      attachment_ids text[] NOT NULL DEFAULT '{}',
      reply_to bigint,
      created_at timestamptz NOT NULL DEFAULT now(),
      edited_at timestamptz,
      deleted_at timestamptz,
      UNIQUE (author_id, client_msg_id)
    );
    CREATE INDEX chat_messages_room ON chat_messages (room_id, id DESC);
    CREATE TABLE chat_reactions (
      message_id bigint NOT NULL REFERENCES chat_messages (id) ON DELETE CASCADE,
      user_id text NOT NULL,
      emoji text NOT NULL,
      created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
      PRIMARY KEY (message_id, user_id, emoji)
    );`,
    // Streamed messages (assistant replies): state, chunk count, and when the last chunk came.
    `ALTER TABLE chat_messages
       ADD COLUMN stream_state text
         CHECK (stream_state IN ('streaming', 'done', 'failed', 'cancelled', 'interrupted')),
       ADD COLUMN stream_chunks integer NOT NULL DEFAULT 0,
       ADD COLUMN stream_updated_at timestamptz;
    CREATE INDEX chat_messages_streaming ON chat_messages (stream_updated_at)
      WHERE stream_state = 'streaming';`,
    // Whether a message's \`message.created\` went out: a send whose publish failed is announced
    // by its retry. Messages from before this step were announced.
    `ALTER TABLE chat_messages ADD COLUMN announced boolean NOT NULL DEFAULT true;`,
    // Announcements claimed one at a time, so each goes out at most once (issue 14): the
    // announced flag moves here, beside the streams that ended and the messages deleted so far.
    `CREATE TABLE chat_announcements (
      message_id bigint NOT NULL REFERENCES chat_messages (id) ON DELETE CASCADE,
      event_type text NOT NULL
        CHECK (event_type IN ('message.created', 'message.streamEnded', 'message.deleted')),
      after_event_id text,
      attempts integer NOT NULL DEFAULT 0,
      claim_token text,
      claimed_until timestamptz,
      announced_at timestamptz,
      PRIMARY KEY (message_id, event_type)
    );
    INSERT INTO chat_announcements (message_id, event_type, announced_at)
      SELECT id, 'message.created', now() FROM chat_messages WHERE announced
      UNION ALL
      SELECT id, 'message.streamEnded', now() FROM chat_messages
        WHERE stream_state IS NOT NULL AND stream_state <> 'streaming'
      UNION ALL
      SELECT id, 'message.deleted', now() FROM chat_messages WHERE deleted_at IS NOT NULL;
    ALTER TABLE chat_messages DROP COLUMN announced;`,
    // Attachment bytes may live outside the database (a ChatBlobStore, issue 17 item 7): then
    // `bytes` is null and `blob_key` names them. Indexes for per-user quotas and for
    // freeing attachments when the last message carrying them is deleted.
    `ALTER TABLE chat_attachments ALTER COLUMN bytes DROP NOT NULL, ADD COLUMN blob_key text,
      ADD CONSTRAINT chat_attachments_bytes_or_blob CHECK ((bytes IS NULL) <> (blob_key IS NULL));
    CREATE INDEX chat_attachments_owner ON chat_attachments (owner_id);
    CREATE INDEX chat_attachments_blob ON chat_attachments (blob_key) WHERE blob_key IS NOT NULL;
    CREATE INDEX chat_messages_attachment_ids ON chat_messages USING gin (attachment_ids);`,
    // The users the chat has seen, which invites resolve names against (issue 18); `seen_at`
    // is when they were first seen or renamed. Everyone who was ever a member is known from
    // the start, under the name they last joined with.
    `CREATE TABLE chat_users (
      id text PRIMARY KEY,
      name text NOT NULL,
      seen_at timestamptz NOT NULL DEFAULT now()
    );
    INSERT INTO chat_users (id, name)
      SELECT DISTINCT ON (user_id) user_id, name FROM chat_members
      ORDER BY user_id, joined_at DESC;`,
  ],
};
