import { z } from 'zod';

/** The longest user id the admin procedures accept. */
export const maxUserIdLength = 256;
/** The longest connection id the admin procedures accept. */
export const maxConnectionIdLength = 128;
/** The most connections one `admin.connections` frame lists. */
export const maxConnectionsPerFrame = 1_000;

const userId = z.string().min(1).max(maxUserIdLength);
const connectionId = z.string().min(1).max(maxConnectionIdLength);

/** Input of `admin.connections`: whose connections, and how many at most (default 200). */
export const connectionsInput = z
  .object({
    userId: userId.optional(),
    limit: z.number().int().min(1).max(maxConnectionsPerFrame).optional(),
  })
  .default({});

/** Input of `admin.disconnect`. */
export const disconnectInput = z.object({ connectionId });

/** Input of `admin.disconnectUser`. */
export const disconnectUserInput = z.object({ userId });

/** An {@link AdminCommand} as it arrives from the broker. */
export const adminCommandSchema = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('disconnect'),
    connectionId,
    by: z.string().max(maxUserIdLength),
    from: z.string().max(200),
  }),
  z.object({
    type: z.literal('disconnectUser'),
    userId,
    by: z.string().max(maxUserIdLength),
    from: z.string().max(200),
  }),
]);
