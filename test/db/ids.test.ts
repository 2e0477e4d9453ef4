import { describe, expect, it } from 'vitest';
import { timeOrderedId, timeOrderedIds } from '../../src/db/ids.js';

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('time-ordered ids', () => {
  it('are UUIDv7 strings (version 7, RFC 9562 variant)', () => {
    for (const id of [timeOrderedId(), ...timeOrderedIds(100)]) expect(id).toMatch(UUID_V7);
  });

  it('increase strictly across single ids and batches, beyond 4,096 per millisecond', () => {
    const ids = [timeOrderedId(), ...timeOrderedIds(10_000), timeOrderedId(), ...timeOrderedIds(3)];
    for (let i = 1; i < ids.length; i++)
      expect(ids[i]! > ids[i - 1]!, `${ids[i - 1]} < ${ids[i]}`).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('carry the current time in their first 48 bits', () => {
    const before = Date.now();
    const id = timeOrderedId();
    const ms = Number.parseInt(id.replace(/-/g, '').slice(0, 12), 16);
    // The counter may borrow milliseconds ahead after a burst (RFC 9562 §6.2); a few at most here.
    expect(ms).toBeGreaterThanOrEqual(before);
    expect(ms).toBeLessThan(Date.now() + 1000);
  });
});
