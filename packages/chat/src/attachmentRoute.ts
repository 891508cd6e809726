import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { DuplexRoute } from '@duplex/server';
import { type ChatLimits, chatLimitsDefaults } from './chatLimits';
import { attachmentsPath, attachmentUrl, type ChatStore } from './chatStore';
import { attachmentIdSchema } from './schemas';

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
  limits?: Partial<Pick<ChatLimits, 'maxAttachmentBytes'>>;
}

const json = (res: ServerResponse, status: number, body: unknown) => {
  res.writeHead(status, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify(body));
};

/**
 * The HTTP route for chat images, to pass to `createDuplexServer({ routes })`:
 * - `POST /chat/attachments` with the raw image as the body and `Authorization: Bearer <token>`
 *   (the server's `authenticate`): 201 `{ id, contentType, sizeBytes, url }`; 401 without a
 *   user, 413 past `maxAttachmentBytes`, 415 for anything but PNG, JPEG, GIF or WebP by content.
 * - `GET /chat/attachments/<id>`: the bytes, with their type and `nosniff`. Ids are 128-bit
 *   random, so the URL itself is the capability (an `<img>` cannot send a bearer token).
 */
export function createChatAttachmentRoute(opts: ChatAttachmentRouteOptions): DuplexRoute {
  const maxBytes = opts.limits?.maxAttachmentBytes ?? chatLimitsDefaults.maxAttachmentBytes;
  return {
    prefix: attachmentsPath,
    async handle(req, res, ctx) {
      const { pathname } = new URL(req.url ?? '/', 'http://localhost');
      if (req.method === 'POST' && pathname === attachmentsPath) {
        const auth = await ctx.authenticate();
        const user = auth?.user as { id?: unknown } | undefined;
        if (typeof user?.id !== 'string') return json(res, 401, { error: 'UNAUTHORIZED' });
        const declared = Number(req.headers['content-length'] ?? 0);
        if (declared > maxBytes) return json(res, 413, { error: 'PAYLOAD_TOO_LARGE', maxBytes });
        const bytes = await readBody(req, maxBytes);
        if (!bytes) return json(res, 413, { error: 'PAYLOAD_TOO_LARGE', maxBytes });
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
          ownerId: user.id,
          contentType,
          sizeBytes: bytes.length,
          bytes,
        });
        return json(res, 201, { id, contentType, sizeBytes: bytes.length, url: attachmentUrl(id) });
      }
      const id = pathname.slice(attachmentsPath.length + 1);
      if (
        (req.method === 'GET' || req.method === 'HEAD') &&
        attachmentIdSchema.safeParse(id).success
      ) {
        const attachment = await opts.store.getAttachment(id);
        if (!attachment) return json(res, 404, { error: 'NOT_FOUND' });
        res.writeHead(200, {
          'Content-Type': attachment.contentType,
          'Content-Length': attachment.bytes.length,
          'Cache-Control': 'private, max-age=31536000, immutable',
          'Content-Security-Policy': "default-src 'none'; sandbox",
        });
        res.end(req.method === 'HEAD' ? undefined : Buffer.from(attachment.bytes));
        return;
      }
      return json(res, req.method === 'GET' ? 404 : 405, {
        error: req.method === 'GET' ? 'NOT_FOUND' : 'METHOD_NOT_SUPPORTED',
      });
    },
  };
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
