/** Limits of the chat module; each is documented in `docs/chat.md` and answered with a clear error. */
export interface ChatLimits {
  /**
   * Characters in a message's text (`BAD_REQUEST` beyond).
   * @default 4_000
   */
  maxTextLength: number;
  /**
   * Attachments on one message (`BAD_REQUEST` beyond).
   * @default 10
   */
  maxAttachmentsPerMessage: number;
  /**
   * Bytes of one uploaded attachment (HTTP 413 beyond).
   * @default 5_242_880 (5 MiB)
   */
  maxAttachmentBytes: number;
  /**
   * Sustained uploads per minute per user (HTTP 429 with `Retry-After` beyond). Counted per
   * process: in a cluster each node keeps its own count.
   * @default 30
   */
  uploadsPerMinute: number;
  /**
   * Uploads a user may make at once before `uploadsPerMinute` applies.
   * @default 10
   */
  uploadBurst: number;
  /**
   * Sustained upload bytes per minute per user (HTTP 429 with `Retry-After` beyond): 4 full
   * 5 MiB images a minute. Counted per process, like `uploadsPerMinute`.
   * @default 20_971_520 (20 MiB)
   */
  uploadBytesPerMinute: number;
  /**
   * Bytes a user may upload at once before `uploadBytesPerMinute` applies: 5 full images.
   * @default 26_214_400 (25 MiB)
   */
  uploadBurstBytes: number;
  /**
   * Bytes of attachments a user may have stored, attached or not (HTTP 413 `QUOTA_EXCEEDED`
   * beyond). Deleting a message frees its attachments (unless another live message of the
   * user carries them too).
   * @default 268_435_456 (256 MiB)
   */
  attachmentQuotaBytes: number;
  /**
   * Sustained sends per second per user, across their connections (`TOO_MANY_REQUESTS`).
   * @default 5
   */
  sendsPerSecond: number;
  /**
   * Sends a user may make at once before `sendsPerSecond` applies.
   * @default 10
   */
  sendBurst: number;
  /**
   * How long a typing signal shows, in milliseconds.
   * @default 5_000
   */
  typingTtlMs: number;
  /**
   * Public rooms listed by `chat.rooms`.
   * @default 50
   */
  discoverLimit: number;
  /**
   * Characters in a streamed message's whole text (`BAD_REQUEST` beyond).
   * @default 20_000
   */
  maxStreamTextLength: number;
  /**
   * How long a stream may run before it is ended as `interrupted`, in milliseconds.
   * @default 300_000 (5 minutes)
   */
  maxStreamDurationMs: number;
  /**
   * How long a stream may go without a chunk before it is ended as `interrupted`, in
   * milliseconds (the producer crashed or lost its connection for good).
   * @default 30_000
   */
  streamIdleTimeoutMs: number;
  /**
   * Sustained chunks per second per stream (`TOO_MANY_REQUESTS` beyond).
   * @default 50
   */
  chunksPerSecond: number;
  /**
   * Chunks a stream may send at once before `chunksPerSecond` applies.
   * @default 100
   */
  chunkBurst: number;
}

/** Defaults of {@link ChatLimits}. */
export const chatLimitsDefaults: ChatLimits = {
  maxTextLength: 4_000,
  maxAttachmentsPerMessage: 10,
  maxAttachmentBytes: 5_242_880,
  uploadsPerMinute: 30,
  uploadBurst: 10,
  uploadBytesPerMinute: 20_971_520,
  uploadBurstBytes: 26_214_400,
  attachmentQuotaBytes: 268_435_456,
  sendsPerSecond: 5,
  sendBurst: 10,
  typingTtlMs: 5_000,
  discoverLimit: 50,
  maxStreamTextLength: 20_000,
  maxStreamDurationMs: 300_000,
  streamIdleTimeoutMs: 30_000,
  chunksPerSecond: 50,
  chunkBurst: 100,
};
