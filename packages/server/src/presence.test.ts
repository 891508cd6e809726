import { describe, expect, it } from 'vitest';
import { createMemoryPresence } from './presence';

describe('createMemoryPresence', () => {
  it('keeps a member present until their last connection leaves', async () => {
    const presence = createMemoryPresence();
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

  it('ignores a second leave of the same connection', async () => {
    const presence = createMemoryPresence();
    const a = await presence.join('room', { id: 'a', name: 'A' }, 'c1');
    await presence.join('room', { id: 'a', name: 'A' }, 'c2');
    await a.leave();
    expect(await a.leave()).toEqual({ last: false });
    expect(await presence.members('room')).toHaveLength(1);
  });

  it('keeps channels apart', async () => {
    const presence = createMemoryPresence();
    await presence.join('x', { id: 'a', name: 'A' }, 'c1');
    expect(await presence.members('y')).toEqual([]);
  });
});
