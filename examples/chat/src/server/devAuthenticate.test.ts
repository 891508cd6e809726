import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { devAuthenticate, userIdOf } from './router';

const signIn = (token: string) =>
  devAuthenticate('secret-token')({
    req: { headers: {} } as IncomingMessage,
    connectionParams: { token },
    transport: 'ws',
  });

describe('the development sign-in', () => {
  it('signs every spelling of one name in to one account, named by userIdOf', () => {
    for (const name of ['Ada Lovelace', 'ada-lovelace', 'ADA  LOVELACE', 'ada_lovelace']) {
      expect(signIn(encodeURIComponent(name))).toMatchObject({
        user: { id: 'ada-lovelace', admin: false },
      });
    }
    expect(userIdOf('  Grace   Hopper ')).toBe('grace-hopper');
  });

  it('keeps the spelling given as the display name, spaces collapsed', () => {
    expect(signIn('ADA%20%20LOVELACE')).toEqual({
      user: { id: 'ada-lovelace', name: 'ADA LOVELACE', admin: false },
    });
  });

  it('gives the handle that @mentions an account the same id as its sign-in', () => {
    // `@Ada_Lovelace` used to reach "ada_lovelace" and "Ada Lovelace", two accounts.
    expect(signIn('ada_lovelace')).toMatchObject({ user: { id: userIdOf('Ada Lovelace') } });
  });

  it('refuses names that name no one and every spelling of the operator', () => {
    for (const name of ['---', '...', 'Admin', 'ADMIN', '%20admin%20', '', 'x'.repeat(33)]) {
      expect(signIn(name)).toBeNull();
    }
    expect(signIn('admin:secret-token')).toMatchObject({ user: { id: 'admin', admin: true } });
  });
});
