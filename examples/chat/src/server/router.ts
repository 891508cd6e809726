import { type ChatStore, type ChatUser, createChatRouter } from '@duplex/chat';
import { type Authenticate, initDuplex } from '@duplex/server';

export const duplex = initDuplex<ChatUser>();

/** The chat app's API: the chat module, plus who am I. */
export function createAppRouter(store: ChatStore) {
  return duplex.router({
    me: duplex.procedure.query(({ ctx }) => ctx.user),
    chat: createChatRouter(duplex, { store }),
  });
}

export type AppRouter = ReturnType<typeof createAppRouter>;

const namePattern = /^[\p{L}\p{N} _.-]{1,32}$/u;

/**
 * DEVELOPMENT ONLY: signs anyone in under the display name they send (the token *is* the name),
 * so two tabs can play two people. Replace it with real authentication (a session cookie, a
 * signed token) before exposing the server.
 */
export const devAuthenticate: Authenticate<ChatUser> = ({ connectionParams, req }) => {
  const raw = connectionParams?.token ?? req.headers.authorization?.replace(/^Bearer /, '');
  const name = raw ? decodeURIComponent(raw).trim() : '';
  if (!namePattern.test(name)) return null;
  return { user: { id: name.toLowerCase().replace(/\s+/g, '-'), name } };
};
