import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { DuplexRoute } from '@duplex/server';
import { type ChatLimits, chatLimitsDefaults } from './chatLimits';
import { attachmentsPath, attachmentUrl, type ChatStore } from './chatStore';
import { attachmentIdSchema } from './schemas';
import { UploadBudget } from './uploadBudget';

/** Image types accepted, recognized by their first bytes, never by name or declared type. */
const signatures: { type: string; test(b: Uint8Array): boolean }[] = [
  {
    type: 'image/png',
    test: (b) => startsWith(b, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
  },
  { type: 'image/jpeg', test: (b) => startsWith(b, [0xff, 0xd8, 0xff]) },
  {
    type: 'image/gif',
    test: (b) =>
      startsWith(b, [0x47, 0x49, 0x46, 0x38]) && (b[4] === 0x37 || b[4] === 0x39) && b[5] === 0x61,
  },
  {
    type: 'image/webp',
    test: (b) =>
      startsWith(b, [0x52, 0x49, 0x46, 0x46]) &&
      startsWith(b.subarray(8), [0x57, 0x45, 0x42, 0x50]),
  },
];

function startsWith(bytes: Uint8Array, prefix: number[]) {
  return bytes.length >= prefix.length && prefix.every((v, i) => bytes[i] === v);
}

/** The image type of `bytes` by content, or `null` if it is not an accepted image. */
export function sniffImageType(bytes: Uint8Array): string | null {
  return signatures.find((s) => s.test(bytes))?.type ?? null;
}

/** Options of {@link createChatAttachmentRoute}. */
export interface ChatAttachmentRouteOptions {
  store: ChatStore;
  /** See {@link ChatLimits} for each default. */
  limits?: Partial<
    Pick<
      ChatLimits,
      | 'maxAttachmentBytes'
      | 'uploadsPerMinute'
      | 'uploadBurst'
      | 'uploadBytesPerMinute'
      | 'uploadBurstBytes'
      | 'attachmentQuotaBytes'
    >
  >;
}

const json = (
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
) => {
  res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
};

/**
 * The HTTP route for chat images, to pass to `createDuplexServer({ routes })`:
 * - `POST /chat/attachments` with the raw image as the body and `Authorization: Bearer <token>`
 *   (the server's `authenticate`): 201 `{ id, contentType, sizeBytes, url }`; 401 without a
 *   user; 413 `PAYLOAD_TOO_LARGE` past `maxAttachmentBytes`; 413 `QUOTA_EXCEEDED` when the
 *   user's stored attachments would pass `attachmentQuotaBytes`; 415 for anything but PNG,
 *   JPEG, GIF or WebP by content; 429 `TOO_MANY_UPLOADS` with `Retry-After` (seconds) past the
 *   user's upload rate (`uploadsPerMinute`, `uploadBytesPerMinute`).
 * - `GET /chat/attachments/<id>`: the bytes, with their type and `nosniff`; one byte range
 *   (`Range: bytes=…`) is answered with 206. Ids are 128-bit random, so the URL itself is the
 *   capability (an `<img>` cannot send a bearer token).
 */
export function createChatAttachmentRoute(opts: ChatAttachmentRouteOptions): DuplexRoute {
  const limits = { ...chatLimitsDefaults, ...opts.limits };
  const maxBytes = limits.maxAttachmentBytes;
  const budget = new UploadBudget(limits);
  /** Bytes of this process's uploads not stored yet, by user, so parallel uploads share a quota. */
  const pending = new Map<string, number>();
  const addPending = (userId: string, bytes: number) => {
    const total = (pending.get(userId) ?? 0) + bytes;
    if (total > 0) pending.set(userId, total);
    else pending.delete(userId);
  };
  const quotaLeft = async (userId: string) =>
    limits.attachmentQuotaBytes -
    (await opts.store.attachmentBytesOf(userId)) -
    (pending.get(userId) ?? 0);
  const quotaExceeded = (res: ServerResponse, left: number) =>
    json(res, 413, {
      error: 'QUOTA_EXCEEDED',
      quotaBytes: limits.attachmentQuotaBytes,
      usedBytes: limits.attachmentQuotaBytes - Math.max(0, left),
    });

  async function upload(req: IncomingMessage, res: ServerResponse, userId: string) {
    const declared = Math.max(0, Number(req.headers['content-length']) || 0);
    if (declared > maxBytes) return json(res, 413, { error: 'PAYLOAD_TOO_LARGE', maxBytes });
    const waitMs = budget.waitMs(userId, declared);
    if (waitMs > 0) {
      const retryAfterS = Math.ceil(waitMs / 1000);
      return json(
        res,
        429,
        { error: 'TOO_MANY_UPLOADS', retryAfterS },
        { 'Retry-After': String(retryAfterS) },
      );
    }
    // Spent before the body is read, so parallel uploads cannot all pass the same check.
    budget.spend(userId, 1, declared);
    const leftBefore = await quotaLeft(userId);
    if (declared > leftBefore) return quotaExceeded(res, leftBefore);
    // Held from here on, so parallel uploads share the quota left.
    let held = declared;
    addPending(userId, held);
    try {
      const bytes = await readBody(req, maxBytes);
      if (!bytes) return json(res, 413, { error: 'PAYLOAD_TOO_LARGE', maxBytes });
      if (bytes.length > declared) {
        // A body sent without a length is charged once read.
        budget.spend(userId, 0, bytes.length - declared);
        const left = await quotaLeft(userId);
        if (bytes.length - held > left) return quotaExceeded(res, left);
        addPending(userId, bytes.length - held);
        held = bytes.length;
      }
      const contentType = sniffImageType(bytes);
      if (!contentType) {
        return json(res, 415, {
          error: 'UNSUPPORTED_MEDIA_TYPE',
          accepted: signatures.map((s) => s.type),
        });
      }
      const id = randomBytes(16).toString('base64url');
      await opts.store.saveAttachment({
        id,
        ownerId: userId,
        contentType,
        sizeBytes: bytes.length,
        bytes,
      });
      return json(res, 201, { id, contentType, sizeBytes: bytes.length, url: attachmentUrl(id) });
    } finally {
      addPending(userId, -held);
    }
  }

  return {
    prefix: attachmentsPath,
    async handle(req, res, ctx) {
      const { pathname } = new URL(req.url ?? '/', 'http://localhost');
      if (req.method === 'POST' && pathname === attachmentsPath) {
        const auth = await ctx.authenticate();
        const user = auth?.user as { id?: unknown } | undefined;
        if (typeof user?.id !== 'string') return json(res, 401, { error: 'UNAUTHORIZED' });
        return upload(req, res, user.id);
      }
      const id = pathname.slice(attachmentsPath.length + 1);
      if (
        (req.method === 'GET' || req.method === 'HEAD') &&
        attachmentIdSchema.safeParse(id).success
      ) {
        const attachment = await opts.store.getAttachment(id);
        if (!attachment) return json(res, 404, { error: 'NOT_FOUND' });
        return serve(req, res, attachment);
      }
      return json(res, req.method === 'GET' ? 404 : 405, {
        error: req.method === 'GET' ? 'NOT_FOUND' : 'METHOD_NOT_SUPPORTED',
      });
    },
  };
}

/** Answers with the bytes, or the one range asked for (206), or 416 for a range past the end. */
function serve(
  req: IncomingMessage,
  res: ServerResponse,
  attachment: { contentType: string; bytes: Uint8Array },
) {
  const { bytes } = attachment;
  const headers: Record<string, string | number> = {
    'Content-Type': attachment.contentType,
    'Accept-Ranges': 'bytes',
    'Cache-Control': 'private, max-age=31536000, immutable',
    'Content-Security-Policy': "default-src 'none'; sandbox",
  };
  const range = parseRange(req.headers.range, bytes.length);
  if (range === 'unsatisfiable') {
    res.writeHead(416, { ...headers, 'Content-Range': `bytes */${bytes.length}` });
    res.end();
    return;
  }
  const [start, end] = range ?? [0, bytes.length - 1];
  const body = Buffer.from(bytes.buffer, bytes.byteOffset + start, end - start + 1);
  res.writeHead(range ? 206 : 200, {
    ...headers,
    'Content-Length': body.length,
    ...(range ? { 'Content-Range': `bytes ${start}-${end}/${bytes.length}` } : {}),
  });
  res.end(req.method === 'HEAD' ? undefined : body);
}

/**
 * One `bytes=` range as inclusive `[start, end]`; `null` for none or a form not supported
 * (several ranges, other units: the whole body is sent, as RFC 9110 allows).
 */
function parseRange(
  header: string | undefined,
  size: number,
): [number, number] | 'unsatisfiable' | null {
  const match = header ? /^bytes=(\d*)-(\d*)$/.exec(header.trim()) : null;
  if (!match || (match[1] === '' && match[2] === '')) return null;
  if (match[1] === '') {
    const suffix = Number(match[2]);
    if (suffix === 0) return 'unsatisfiable';
    return [Math.max(0, size - suffix), size - 1];
  }
  const start = Number(match[1]);
  const end = match[2] === '' ? size - 1 : Math.min(Number(match[2]), size - 1);
  if (match[2] !== '' && Number(match[2]) < start) return null;
  if (start >= size) return 'unsatisfiable';
  return [start, end];
}

/** Reads a body of at most `maxBytes`; `null` (and the request is drained) if it is larger. */
async function readBody(req: IncomingMessage, maxBytes: number): Promise<Uint8Array | null> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes) {
      req.resume();
      return null;
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}
