import { describe, expect, it } from 'vitest';
import { deliveryOf, inQuietHours } from './preferences';
import { defaultPreferences, type Preferences } from './schemas';

const at = (iso: string) => new Date(iso);

describe('the preference rule', () => {
  it('pushes and counts everything by default', () => {
    for (const priority of ['low', 'normal', 'high', 'urgent'] as const) {
      expect(deliveryOf(defaultPreferences, { category: 'x', priority }, new Date())).toEqual({
        counted: true,
        pushed: true,
      });
    }
  });

  it('neither pushes nor counts a muted category, urgent included', () => {
    const prefs: Preferences = { ...defaultPreferences, categories: { marketing: false } };
    const now = new Date();
    expect(deliveryOf(prefs, { category: 'marketing', priority: 'urgent' }, now)).toEqual({
      counted: false,
      pushed: false,
    });
    expect(deliveryOf(prefs, { category: 'billing', priority: 'low' }, now).pushed).toBe(true);
  });

  it('neither pushes nor counts below the minimum priority', () => {
    const prefs: Preferences = { ...defaultPreferences, minPriority: 'high' };
    const now = new Date();
    expect(deliveryOf(prefs, { category: 'x', priority: 'normal' }, now)).toEqual({
      counted: false,
      pushed: false,
    });
    expect(deliveryOf(prefs, { category: 'x', priority: 'high' }, now)).toEqual({
      counted: true,
      pushed: true,
    });
  });

  it('in quiet hours counts everything but pushes only urgent', () => {
    const prefs: Preferences = {
      ...defaultPreferences,
      quietHours: { start: '22:00', end: '07:00', timeZone: 'Europe/Berlin' },
    };
    // 23:30 in Berlin (UTC+1 in winter).
    const night = at('2026-11-23T22:30:00Z');
    expect(deliveryOf(prefs, { category: 'x', priority: 'high' }, night)).toEqual({
      counted: true,
      pushed: false,
    });
    expect(deliveryOf(prefs, { category: 'x', priority: 'urgent' }, night)).toEqual({
      counted: true,
      pushed: true,
    });
    // 12:00 in Berlin.
    const noon = at('2026-11-23T11:00:00Z');
    expect(deliveryOf(prefs, { category: 'x', priority: 'low' }, noon).pushed).toBe(true);
  });
});

describe('quiet hours', () => {
  const berlinNight = { start: '22:00', end: '07:00', timeZone: 'Europe/Berlin' };

  it('wraps midnight in the user’s time zone, start included and end excluded', () => {
    expect(inQuietHours(berlinNight, at('2026-11-23T20:59:00Z'))).toBe(false); // 21:59
    expect(inQuietHours(berlinNight, at('2026-11-23T21:00:00Z'))).toBe(true); // 22:00
    expect(inQuietHours(berlinNight, at('2026-11-24T02:00:00Z'))).toBe(true); // 03:00
    expect(inQuietHours(berlinNight, at('2026-11-24T05:59:00Z'))).toBe(true); // 06:59
    expect(inQuietHours(berlinNight, at('2026-11-24T06:00:00Z'))).toBe(false); // 07:00
  });

  it('follows the zone’s own offset, daylight saving included', () => {
    // 22:30 UTC is 23:30 in Berlin in winter but 18:30 in New York.
    const newYork = { ...berlinNight, timeZone: 'America/New_York' };
    expect(inQuietHours(newYork, at('2026-11-23T22:30:00Z'))).toBe(false);
    expect(inQuietHours(newYork, at('2026-11-24T03:30:00Z'))).toBe(true); // 22:30
    // In July Berlin is UTC+2: 20:30 UTC is 22:30 there.
    expect(inQuietHours(berlinNight, at('2026-07-01T20:30:00Z'))).toBe(true);
    expect(inQuietHours(berlinNight, at('2026-11-23T20:30:00Z'))).toBe(false);
  });

  it('handles a daytime window and an empty one', () => {
    const lunch = { start: '12:00', end: '13:00', timeZone: 'UTC' };
    expect(inQuietHours(lunch, at('2026-11-23T12:30:00Z'))).toBe(true);
    expect(inQuietHours(lunch, at('2026-11-23T13:00:00Z'))).toBe(false);
    expect(inQuietHours(lunch, at('2026-11-23T11:59:00Z'))).toBe(false);
    const never = { start: '09:00', end: '09:00', timeZone: 'UTC' };
    expect(inQuietHours(never, at('2026-11-23T09:00:00Z'))).toBe(false);
  });
});
