import { describe, expect, it } from 'vitest';
import { limitsDefaults } from './limits';
import { UserBudgets } from './userBudgets';

describe('UserBudgets', () => {
  it('keeps a user’s bucket across connections, so a reconnect refills nothing', () => {
    let now = 0;
    const budgets = new UserBudgets(limitsDefaults, () => now);
    const first = budgets.connect('user:a');
    if (!first) throw new Error('refused');
    first.calls.take(limitsDefaults.userBurstCalls * 2);
    budgets.disconnect(first);
    now += 1_000;
    const second = budgets.connect('user:a');
    expect(second).toBe(first);
    expect(second?.calls.debt).toBeGreaterThan(0);
  });

  it('refuses a connection past maxConnectionsPerUser and frees the slot on disconnect', () => {
    const budgets = new UserBudgets({ ...limitsDefaults, maxConnectionsPerUser: 2 });
    const a = budgets.connect('user:a');
    expect(budgets.connect('user:a')).not.toBeNull();
    expect(budgets.connect('user:a')).toBeNull();
    expect(budgets.connect('user:b')).not.toBeNull();
    budgets.disconnect(a as NonNullable<typeof a>);
    expect(budgets.connect('user:a')).not.toBeNull();
  });

  it('drops idle users once many are tracked, never one with an open connection', () => {
    let now = 0;
    const budgets = new UserBudgets(limitsDefaults, () => now);
    const kept = budgets.connect('user:kept');
    for (let i = 0; i < 10_001; i++) {
      const budget = budgets.connect(`user:${i}`);
      if (budget) budgets.disconnect(budget);
    }
    expect(budgets.size).toBe(10_002);
    // Idle for less than it takes to refill from a burst of debt: nothing goes.
    now += 30_000;
    budgets.connect('user:late');
    expect(budgets.size).toBe(10_003);
    now += 60_000;
    budgets.connect('user:later');
    expect(budgets.size).toBe(3);
    expect(budgets.connect('user:kept')).toBe(kept);
  });
});
