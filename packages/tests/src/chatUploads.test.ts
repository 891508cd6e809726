import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ChatLimits, createFileBlobStore, createSqlChatStore } from '@duplex/chat';
import { createPgliteDatabase } from '@duplex/sql';
import { afterEach, describe, expect, it } from 'vitest';
import { startChatServer, tinyPng } from './chatFixtures';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/**
 * A chat server on real PGlite with attachment bytes in files, as `npm start` runs it. With
 * `dir` the database is on disk there (slower to create), so it can be opened again.
 */
async function startUploadServer(limits: Partial<ChatLimits> = {}, dir?: string) {
  const root = dir ?? (await mkdtemp(join(tmpdir(), 'duplex-uploads-')));
  if (!dir) cleanups.push(() => rm(root, { recursive: true, force: true }));
  const db = await createPgliteDatabase(dir ? { dataDir: join(dir, 'db') } : {});
  const store = await createSqlChatStore(db, {
    blobs: createFileBlobStore({ dir: join(root, 'blobs') }),
  });
  const app = await startChatServer({ store, limits });
  return {
    app,
    async [Symbol.asyncDispose]() {
      await app[Symbol.asyncDispose]();
      await db.close();
    },
  };
}

/** A PNG of `sizeBytes`: the real 1×1 image, padded (only the first bytes decide the type). */
const png = (sizeBytes: number) =>
  Buffer.concat([tinyPng, Buffer.alloc(Math.max(0, sizeBytes - tinyPng.length), 7)]);

/** `count` uploads of `body` by ann: headers and 10 bytes now, the rest on `release()`. */
function startSlowUploads(httpUrl: string, body: Buffer, count: number) {
  let release = () => {};
  const released = new Promise<void>((r) => {
    release = r;
  });
  const requests = Array.from(
    { length: count },
    () =>
      new Promise<number>((resolve, reject) => {
        const req = request(`${httpUrl}/chat/attachments`, {
          method: 'POST',
          headers: { 'content-length': body.length, authorization: 'Bearer ann' },
        });
        req.on('error', reject);
        req.on('response', (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.write(body.subarray(0, 10));
        void released.then(() => req.end(body.subarray(10)));
      }),
  );
  return { release, requests };
}

const upload = (httpUrl: string, body: Buffer, token = 'ann') =>
  fetch(`${httpUrl}/chat/attachments`, {
    method: 'POST',
    headers: { 'content-type': 'image/png', authorization: `Bearer ${token}` },
    body: new Uint8Array(body),
  });

describe('chat upload limits', { timeout: 30_000 }, () => {
  it('refuses a user past their uploads per minute with 429 and Retry-After, and no one else', async () => {
    await using server = await startUploadServer({ uploadBurst: 2, uploadsPerMinute: 1 });
    const { httpUrl } = server.app;
    expect((await upload(httpUrl, tinyPng)).status).toBe(201);
    expect((await upload(httpUrl, tinyPng)).status).toBe(201);
    const refused = await upload(httpUrl, tinyPng);
    expect(refused.status).toBe(429);
    const retryAfter = Number(refused.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(await refused.json()).toEqual({ error: 'TOO_MANY_UPLOADS', retryAfterS: retryAfter });
    expect((await upload(httpUrl, tinyPng, 'bob')).status).toBe(201);
  });

  it('counts upload bytes per minute, so a few large uploads are limited too', async () => {
    await using server = await startUploadServer({
      uploadBurstBytes: 1_000,
      uploadBytesPerMinute: 600,
    });
    const { httpUrl } = server.app;
    expect((await upload(httpUrl, png(700))).status).toBe(201);
    const refused = await upload(httpUrl, png(700));
    expect(refused.status).toBe(429);
    // 400 bytes missing at 10 bytes a second.
    expect(Number(refused.headers.get('retry-after'))).toBe(40);
    expect((await upload(httpUrl, png(200))).status).toBe(201);
  });

  it('holds the rate and the quota against uploads whose bodies arrive together', async () => {
    /**
     * Six uploads whose headers go out first and whose bodies follow together, so every check
     * made before a body is read sees the others in flight.
     */
    const together = async (httpUrl: string) => {
      const body = png(1_000);
      const { release, requests } = startSlowUploads(httpUrl, body, 6);
      // Long enough for the server to take all six requests' headers; if it were not, the
      // uploads would only be more sequential, and the checks below hold either way.
      await new Promise((r) => setTimeout(r, 300));
      release();
      return (await Promise.all(requests)).sort();
    };
    await using server = await startUploadServer({ uploadBurst: 2, attachmentQuotaBytes: 1e9 });
    expect(await together(server.app.httpUrl)).toEqual([201, 201, 429, 429, 429, 429]);
    await using quota = await startUploadServer({ attachmentQuotaBytes: 2_500 });
    expect(await together(quota.app.httpUrl)).toEqual([201, 201, 413, 413, 413, 413]);
  });

  it('refuses uploads past the user’s stored bytes with 413 QUOTA_EXCEEDED until a message is deleted', async () => {
    await using server = await startUploadServer({ attachmentQuotaBytes: 2_500 });
    const { app } = server;
    const first = (await (await upload(app.httpUrl, png(1_000))).json()) as { id: string };
    expect((await upload(app.httpUrl, png(1_000))).status).toBe(201);
    const refused = await upload(app.httpUrl, png(1_000));
    expect(refused.status).toBe(413);
    expect(await refused.json()).toEqual({
      error: 'QUOTA_EXCEEDED',
      quotaBytes: 2_500,
      usedBytes: 2_000,
    });
    expect((await upload(app.httpUrl, png(1_000), 'bob')).status).toBe(201);

    const ann = app.client('ann');
    const room = await ann.chat.createRoom.mutate({ name: 'R', visibility: 'public' });
    const message = await ann.chat.send.mutate({
      roomId: room.id,
      clientMsgId: 'photo',
      attachments: [first.id],
    });
    expect((await upload(app.httpUrl, png(1_000))).status).toBe(413);
    await ann.chat.delete.mutate({ messageId: message.id });
    expect((await upload(app.httpUrl, png(1_000))).status).toBe(201);
    expect((await fetch(`${app.httpUrl}/chat/attachments/${first.id}`)).status).toBe(404);
  });
});

describe('chat attachments in files', { timeout: 30_000 }, () => {
  it('serves the bytes with their type, whole or one byte range', async () => {
    await using server = await startUploadServer();
    const { httpUrl } = server.app;
    const body = png(3_000);
    body.writeUInt32BE(0xdeadbeef, 2_000);
    const { url } = (await (await upload(httpUrl, body)).json()) as { url: string };
    const whole = await fetch(`${httpUrl}${url}`);
    expect(whole.status).toBe(200);
    expect(whole.headers.get('content-type')).toBe('image/png');
    expect(whole.headers.get('accept-ranges')).toBe('bytes');
    expect(Buffer.from(await whole.arrayBuffer()).equals(body)).toBe(true);
    const part = await fetch(`${httpUrl}${url}`, { headers: { range: 'bytes=2000-2003' } });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe('bytes 2000-2003/3000');
    expect(Buffer.from(await part.arrayBuffer()).toString('hex')).toBe('deadbeef');
    const tail = await fetch(`${httpUrl}${url}`, { headers: { range: 'bytes=-10' } });
    expect(Buffer.from(await tail.arrayBuffer()).equals(body.subarray(2_990))).toBe(true);
    const past = await fetch(`${httpUrl}${url}`, { headers: { range: 'bytes=3000-' } });
    expect(past.status).toBe(416);
    expect(past.headers.get('content-range')).toBe('bytes */3000');
    const head = await fetch(`${httpUrl}${url}`, { method: 'HEAD' });
    expect(head.headers.get('content-length')).toBe('3000');
  });

  it('keeps attachments, as files beside the database, across a restart', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'duplex-uploads-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const body = png(5_000);
    let url: string;
    {
      await using server = await startUploadServer({}, dir);
      ({ url } = (await (await upload(server.app.httpUrl, body)).json()) as { url: string });
    }
    const shards = await readdir(join(dir, 'blobs'));
    expect(shards).toHaveLength(1);
    await using server = await startUploadServer({}, dir);
    const served = await fetch(`${server.app.httpUrl}${url}`);
    expect(served.headers.get('content-type')).toBe('image/png');
    expect(Buffer.from(await served.arrayBuffer()).equals(body)).toBe(true);
  }, 60_000);
});
