import { describe, expect, it } from 'vitest';
import { planClaims, sample, seededRandom, shuffledIndices } from './plan.js';

describe('planClaims', () => {
  it('gives every user between 1 and attempts claims, all of them in the schedule', () => {
    const plan = planClaims({ users: 1000, attempts: 3, seed: 42 });
    const sent = new Uint32Array(1000);
    for (const user of plan.userOfClaim) sent[user]!++;
    const total = plan.attemptsOfUser.reduce((sum, n) => sum + n, 0);
    expect(plan.userOfClaim.length).toBe(total);
    for (let user = 0; user < 1000; user++) {
      expect(plan.attemptsOfUser[user]).toBeGreaterThanOrEqual(1);
      expect(plan.attemptsOfUser[user]).toBeLessThanOrEqual(3);
      expect(sent[user]).toBe(plan.attemptsOfUser[user]);
    }
    // With 1000 users every count 1..3 occurs.
    expect(new Set(plan.attemptsOfUser)).toEqual(new Set([1, 2, 3]));
  });

  it('puts the attempts of one user next to each other so they are in flight together', () => {
    const { userOfClaim } = planClaims({ users: 500, attempts: 4, seed: 9 });
    const seen = new Set<number>();
    for (let i = 0; i < userOfClaim.length; i++) {
      const user = userOfClaim[i]!;
      if (i > 0 && userOfClaim[i - 1] === user) continue;
      expect(seen.has(user)).toBe(false);
      seen.add(user);
    }
    expect(seen.size).toBe(500);
  });

  it('is reproducible with a seed and differs with another seed', () => {
    const a = planClaims({ users: 300, attempts: 3, seed: 7 });
    const b = planClaims({ users: 300, attempts: 3, seed: 7 });
    const c = planClaims({ users: 300, attempts: 3, seed: 8 });
    expect(b.userOfClaim).toEqual(a.userOfClaim);
    expect(b.attemptsOfUser).toEqual(a.attemptsOfUser);
    expect(c.userOfClaim).not.toEqual(a.userOfClaim);
  });

  it('sends exactly one claim per user with attempts 1', () => {
    const plan = planClaims({ users: 50, attempts: 1, seed: 1 });
    expect(plan.userOfClaim.length).toBe(50);
    expect([...plan.userOfClaim].sort((x, y) => x - y)).toEqual(Array.from({ length: 50 }, (_, i) => i));
  });

  it('rejects a non-positive user count and attempts outside 1..255', () => {
    expect(() => planClaims({ users: 0, attempts: 1, seed: 1 })).toThrow(RangeError);
    expect(() => planClaims({ users: 1, attempts: 0, seed: 1 })).toThrow(RangeError);
    expect(() => planClaims({ users: 1, attempts: 256, seed: 1 })).toThrow(RangeError);
  });
});

describe('seeded helpers', () => {
  it('draws floats in [0, 1) from a seed, the same sequence for the same seed', () => {
    const first = seededRandom(123);
    const second = seededRandom(123);
    for (let i = 0; i < 1000; i++) {
      const value = first();
      expect(value).toBeGreaterThanOrEqual(0);
      expect(value).toBeLessThan(1);
      expect(second()).toBe(value);
    }
  });

  it('shuffles into a permutation', () => {
    const shuffled = shuffledIndices(100, seededRandom(5));
    expect([...shuffled].sort((a, b) => a - b)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect([...shuffled]).not.toEqual(Array.from({ length: 100 }, (_, i) => i));
  });

  it('samples distinct items in their original order, or all of them when asked for more', () => {
    const items = Array.from({ length: 100 }, (_, i) => `c${i}`);
    const picked = sample(items, 10, seededRandom(3));
    expect(picked).toHaveLength(10);
    expect(new Set(picked).size).toBe(10);
    expect(picked).toEqual([...picked].sort((a, b) => Number(a.slice(1)) - Number(b.slice(1))));
    expect(sample(items, 500, seededRandom(3))).toEqual(items);
    expect(sample(items, 0, seededRandom(3))).toEqual([]);
  });
});
