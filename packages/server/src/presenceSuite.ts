import { afterEach, describe, expect, it } from 'vitest';
import type { Presence } from './presence';

/**
 * The contract of {@link Presence}, as one vitest suite that every implementation runs: the
 * in-memory presence and `@duplex/redis` pass the same cases. `create` is called once per
 * instance a case needs; `dispose` (if given) runs for each after the case.
 * @example
 * ```ts
 * presenceSuite('createMemoryPresence', () => createMemoryPresence());
 * ```
 */
export function presenceSuite<TPresence extends Presence>(
  name: string,
  create: () => TPresence | Promise<TPresence>,
  dispose?: (presence: TPresence) => Promise<void>,
): void {
  describe(`${name} (presence contract)`, () => {
    const made: TPresence[] = [];
    const make = async () => {
      const presence = await create();
      made.push(presence);
      return presence;
    };
    afterEach(async () => {
      await Promise.all(made.splice(0).map((p) => dispose?.(p)));
    });

    it('keeps a member present until their last connection leaves', async () => {
      const presence = await make();
      const ann = { id: 'ann', name: 'Ann' };
      const tab1 = await presence.join('room', ann, 'c1');
      const tab2 = await presence.join('room', ann, 'c2');
      expect([tab1.first, tab2.first]).toEqual([true, false]);
      expect(await presence.members('room')).toEqual([ann]);
      expect(await tab1.leave()).toEqual({ last: false });
      expect(await presence.members('room')).toEqual([ann]);
      expect(await tab2.leave()).toEqual({ last: true });
      expect(await presence.members('room')).toEqual([]);
    });

    it('lists members in the order they arrived', async () => {
      const presence = await make();
      const people = ['a', 'b', 'c'].map((id) => ({ id, name: id.toUpperCase() }));
      for (const [i, member] of people.entries()) await presence.join('room', member, `c${i}`);
      await presence.join('room', people[0]!, 'again');
      expect(await presence.members('room')).toEqual(people);
    });

    it('ignores a second leave of the same connection', async () => {
      const presence = await make();
      const a = await presence.join('room', { id: 'a', name: 'A' }, 'c1');
      await presence.join('room', { id: 'a', name: 'A' }, 'c2');
      await a.leave();
      expect(await a.leave()).toEqual({ last: false });
      expect(await presence.members('room')).toHaveLength(1);
    });

    it('keeps channels apart', async () => {
      const presence = await make();
      await presence.join('x', { id: 'a', name: 'A' }, 'c1');
      expect(await presence.members('y')).toEqual([]);
    });
  });
}
