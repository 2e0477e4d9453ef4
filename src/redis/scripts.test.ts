import { describe, expect, it } from 'vitest';
import type { Campaign } from '../campaigns/model.js';
import { DomainError } from '../errors.js';
import { RedisKeys } from './keys.js';
import {
  ackClaimsArgs,
  admitClaimArgs,
  GateCode,
  gateConfig,
  gateOutcome,
  parsePendingRecord,
  parseStreamClaim,
  SCRIPTS,
  scriptSource,
  syncGateArgs,
} from './scripts.js';

const keys = new RedisKeys('p:').campaign('c1');

describe('redis keys', () => {
  it('puts every key of a campaign under the hash tag {c:<id>} after the prefix', () => {
    for (const key of [
      keys.gate,
      keys.users,
      keys.stream,
      keys.claims,
      keys.loadLock,
      keys.lock,
      keys.usersLoading('t'),
    ]) {
      expect(key.startsWith('p:{c:c1}:')).toBe(true);
    }
    expect(new RedisKeys('p:').streamRegistry).not.toContain('{');
  });
});

describe('script arguments', () => {
  it('builds admitClaim KEYS then ARGV in the order of the script header', () => {
    expect(admitClaimArgs(keys, { campaignId: 'c1', userId: 'u1', claimId: 'k1' })).toEqual([
      'p:{c:c1}:gate',
      'p:{c:c1}:users',
      'p:{c:c1}:stream',
      'p:{c:c1}:claims',
      'u1',
      'k1',
      'c1',
    ]);
  });

  it('declares in SCRIPTS the number of KEYS each script header lists', () => {
    for (const [name, count] of Object.entries(SCRIPTS)) {
      const declared = scriptSource(name as keyof typeof SCRIPTS).match(/^\s*KEYS\[\d+\]/gm) ?? [];
      expect(declared.length, name).toBe(count);
    }
  });

  it('maps a deleted campaign to status gone and keeps windows as epoch ms', () => {
    const campaign = {
      status: 'active',
      startsAt: new Date(1000),
      endsAt: null,
      totalQuantity: 10,
      perUserLimit: 2,
      updatedAt: new Date(5000),
      deletedAt: null,
    } as unknown as Campaign;
    expect(gateConfig(campaign)).toEqual({
      status: 'active',
      startsMs: '1000',
      endsMs: '',
      total: 10,
      limit: 2,
      version: 5000,
    });
    expect(gateConfig({ ...campaign, deletedAt: new Date() }).status).toBe('gone');
    expect(syncGateArgs(keys, gateConfig(campaign))).toEqual([
      'p:{c:c1}:gate',
      'active',
      '1000',
      '',
      10,
      2,
      5000,
    ]);
  });

  it('pairs entry ids with claim ids for ackClaims', () => {
    expect(ackClaimsArgs(keys, [{ entryId: '1-0', claimId: 'a' }])).toEqual([
      'p:{c:c1}:stream',
      'p:{c:c1}:claims',
      'workers',
      '1-0',
      'a',
    ]);
  });
});

describe('gate result codes', () => {
  it('returns the position and slot of an admitted claim', () => {
    expect(gateOutcome([GateCode.Admitted, 7, 1], 'c1')).toEqual({
      kind: 'admitted',
      position: 7,
      userSlot: 1,
    });
    expect(gateOutcome([GateCode.NotLoaded], 'c1')).toEqual({ kind: 'not-loaded' });
  });

  it.each([
    [[GateCode.NotActive, 'suspended'], 'campaign-not-active'],
    [[GateCode.NotStarted, 1000], 'campaign-not-active'],
    [[GateCode.Ended, 1000], 'campaign-not-active'],
    [[GateCode.UserAtLimit, 1, 1], 'already-claimed'],
    [[GateCode.SoldOut, 100], 'sold-out'],
    [[GateCode.Gone], 'not-found'],
    [[42], 'internal'],
  ])('turns reply %j into the domain error %s', (reply, code) => {
    let thrown: unknown;
    try {
      gateOutcome(reply as (number | string)[], 'c1');
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(DomainError);
    expect((thrown as DomainError).code).toBe(code);
  });
});

describe('stream entries', () => {
  it('parses a complete entry and rejects a malformed one', () => {
    expect(parseStreamClaim(['c', 'k1', 'u', 'u1', 's', '2', 't', '123', 'k', 'c1'])).toEqual({
      claimId: 'k1',
      userId: 'u1',
      userSlot: 2,
      admittedMs: 123,
      campaignId: 'c1',
    });
    expect(parseStreamClaim(['c', 'k1', 'u', 'u1', 's', 'x', 't', '123', 'k', 'c1'])).toBeUndefined();
  });

  it('splits a pending record on its first colon only', () => {
    expect(parsePendingRecord('12:user:with:colons')).toEqual({ position: 12, userId: 'user:with:colons' });
  });
});
