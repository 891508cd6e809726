import { randomUUID } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPgliteDatabase, type SqlDatabase } from '@duplex/sql';
import { afterEach, describe, expect, it } from 'vitest';
import { createFileBlobStore } from './fileBlobStore';
import { createSqlChatStore } from './sqlChatStore';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A SQL chat store with its bytes in files, on PGlite on disk (or in memory, quicker to make). */
async function openStore(dir: string, onDisk = true) {
  const db: SqlDatabase = await createPgliteDatabase(onDisk ? { dataDir: join(dir, 'db') } : {});
  const store = await createSqlChatStore(db, {
    blobs: createFileBlobStore({ dir: join(dir, 'blobs') }),
  });
  return { db, store };
}

const blobFiles = async (dir: string) => {
  const shards = await readdir(join(dir, 'blobs')).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return [];
    throw error;
  });
  const files = await Promise.all(shards.map((s) => readdir(join(dir, 'blobs', s))));
  return files.flat();
};

describe('SQL chat store with file blobs', () => {
  it('keeps the bytes in content-addressed files, not the table, across a restart', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'duplex-blobs-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    let { db, store } = await openStore(dir);
    const bytes = Uint8Array.from({ length: 70_000 }, (_, i) => (i * 7) % 256);
    const ids = [randomUUID().slice(0, 22), randomUUID().slice(0, 22)];
    for (const id of ids) {
      await store.saveAttachment({
        id,
        ownerId: 'ann',
        contentType: 'image/png',
        sizeBytes: bytes.length,
        bytes,
      });
    }
    expect(await blobFiles(dir)).toHaveLength(1);
    const [row] = await db.query<{ in_table: boolean }>(
      'SELECT bytes IS NOT NULL AS in_table FROM chat_attachments WHERE id = $1',
      [ids[0]],
    );
    expect(row?.in_table).toBe(false);
    await db.close();

    ({ db, store } = await openStore(dir));
    cleanups.push(() => db.close());
    const got = await store.getAttachment(ids[1]!);
    expect(got?.contentType).toBe('image/png');
    expect(Buffer.from(got!.bytes).equals(Buffer.from(bytes))).toBe(true);
  }, 60_000);

  it('removes a file only when no attachment holds its bytes any more', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'duplex-blobs-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const { db, store } = await openStore(dir, false);
    cleanups.push(() => db.close());
    await store.createRoom({
      id: 'r',
      name: 'R',
      visibility: 'public',
      ownerId: 'ann',
      ownerName: 'Ann',
    });
    const bytes = Uint8Array.from([1, 2, 3, 4]);
    const ids = [randomUUID().slice(0, 22), randomUUID().slice(0, 22)];
    const messageIds: string[] = [];
    for (const id of ids) {
      await store.saveAttachment({
        id,
        ownerId: 'ann',
        contentType: 'image/png',
        sizeBytes: 4,
        bytes,
      });
      const { message } = await store.appendMessage({
        roomId: 'r',
        authorId: 'ann',
        authorName: 'Ann',
        clientMsgId: id,
        text: null,
        attachmentIds: [id],
        replyTo: null,
      });
      messageIds.push(message.id);
    }
    await store.deleteMessage(messageIds[0]!);
    expect(await blobFiles(dir)).toHaveLength(1);
    expect([...(await store.getAttachment(ids[1]!))!.bytes]).toEqual([1, 2, 3, 4]);
    await store.deleteMessage(messageIds[1]!);
    expect(await blobFiles(dir)).toEqual([]);
    expect(await store.attachmentBytesOf('ann')).toBe(0);
  });
});
