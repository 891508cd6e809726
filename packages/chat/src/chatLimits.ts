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
}

/** Defaults of {@link ChatLimits}. */
export const chatLimitsDefaults: ChatLimits = {
  maxTextLength: 4_000,
  maxAttachmentsPerMessage: 10,
  maxAttachmentBytes: 5_242_880,
  sendsPerSecond: 5,
  sendBurst: 10,
  typingTtlMs: 5_000,
  discoverLimit: 50,
};
