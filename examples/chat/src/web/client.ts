import { createDuplexClient } from '@duplex/client';
import { createDuplexReact } from '@duplex/react';
import type { AppRouter } from '../server/router';

/** The provider and hooks for the chat app's router. */
export const { DuplexProvider, useTRPC, useTRPCClient } = createDuplexReact<AppRouter>();

/** The signed-in user: the development sign-in trusts the name, and derives the id from it. */
export interface Me {
  id: string;
  name: string;
}

/**
 * The user a typed name signs in as, by the server's rule (`userIdOf` and `devAuthenticate` in
 * src/server/router.ts): spaces collapsed in the name; the id lower case, with each run of
 * spaces, `_` and `-` as one `-` ("Ada  Lovelace" and "ada_lovelace" are `ada-lovelace`).
 */
export const meOf = (typed: string): Me => {
  const name = typed.trim().replace(/\s+/g, ' ');
  return { id: name.toLowerCase().replace(/[\s_-]+/g, '-'), name };
};

/** Whether the server's development sign-in takes the name (as `devAuthenticate` checks it). */
export const validName = (typed: string): boolean => {
  const me = meOf(typed);
  return (
    /^[\p{L}\p{N} _.-]{1,32}$/u.test(me.name) && /[\p{L}\p{N}]/u.test(me.name) && me.id !== 'admin'
  );
};

/** The dev token is the display name (see `devAuthenticate` on the server). */
const tokenOf = (me: Me) => encodeURIComponent(me.name);

const wsUrl = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/trpc`;

/** Creates the page's one client; `DuplexProvider` calls it once, in the browser. */
export const createClient = (me: Me) => () =>
  createDuplexClient<AppRouter>({ url: wsUrl, token: () => tokenOf(me) });

/** Uploads an image over plain HTTP with the same token; resolves to its attachment id. */
export async function upload(me: Me, file: File): Promise<string> {
  const res = await fetch('/chat/attachments', {
    method: 'POST',
    headers: { authorization: `Bearer ${tokenOf(me)}` },
    body: file,
  });
  if (res.status === 413) throw new Error('That image is too large (5 MB at most)');
  if (res.status === 415) throw new Error('Only PNG, JPEG, GIF and WebP images can be sent');
  if (!res.ok) throw new Error(`Upload failed (${res.status})`);
  return ((await res.json()) as { id: string }).id;
}
