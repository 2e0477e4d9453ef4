import { describe, expect, it } from 'vitest';
import type { Campaign } from '../campaigns/model.js';
import { cachePutIfNewerScript } from '../campaigns/redis-cache-store.js';
import { DomainError } from '../errors.js';
import { RedisKeys } from '../redis/keys.js';
import { MUTEX_SCRIPTS } from '../redis/mutex.js';
import { declaredKeys } from '../redis/scripts.js';
import {
  ackClaimsArgs,
  admitClaimsArgs,
  GATE_SCRIPTS,
  GateCode,
  gateConfig,
  gateOutcome,
  parsePendingRecord,
  requeueClaimArgs,
  syncGateArgs,
} from './scripts.js';
import {
  decodeStreamEntry,
  encodeStreamEntry,
  STREAM_ENTRY_FIELD_NAMES,
  STREAM_ENTRY_FIELDS,
} from './stream-entry.js';

const keys = new RedisKeys('p:').campaign('c1');
const FIELD_NAMES = ['c', 'u', 's', 't', 'k'];

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
      keys.claimRate('u1'),
    ]) {
      expect(key.startsWith('p:{c:c1}:')).toBe(true);
    }
    expect(new RedisKeys('p:').streamRegistry).not.toContain('{');
  });
});

describe('script arguments', () => {
  it('builds admitClaims KEYS then ARGV in the order of the script header', () => {
    const claims = [
      { userId: 'u1', claimId: 'k1' },
      { userId: 'u2', claimId: 'k2' },
    ];
    expect(admitClaimsArgs(keys, 'c1', claims)).toEqual({
      numberOfKeys: 4,
      keysAndArgs: [
        'p:{c:c1}:gate',
        'p:{c:c1}:users',
        'p:{c:c1}:stream',
        'p:{c:c1}:claims',
        'c1',
        ...FIELD_NAMES,
        '0',
        '1000',
        'u1',
        'k1',
        'u2',
        'k2',
      ],
    });
  });

  it('declares one rate-limit counter per claim, under the campaign tag, when the limit is on', () => {
    const claims = [
      { userId: 'u1', claimId: 'k1' },
      { userId: 'u1', claimId: 'k2' },
    ];
    const { numberOfKeys, keysAndArgs } = admitClaimsArgs(keys, 'c1', claims, { max: 3, windowMs: 10_000 });
    expect(numberOfKeys).toBe(6);
    expect(keysAndArgs.slice(4, 6)).toEqual(['p:{c:c1}:ratelimit:u1', 'p:{c:c1}:ratelimit:u1']);
    expect(keysAndArgs.slice(6 + 1 + FIELD_NAMES.length)).toEqual(['3', '10000', 'u1', 'k1', 'u1', 'k2']);
  });

  it('declares for every script the number of KEYS its header lists', () => {
    const scripts = [...Object.values(GATE_SCRIPTS), ...MUTEX_SCRIPTS, cachePutIfNewerScript];
    for (const script of scripts) {
      expect(declaredKeys(script), script.name).toBe(script.numberOfKeys);
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

  it('passes requeueClaim the claim, its place in line and the encoded entry', () => {
    const claim = { claimId: 'k1', userId: 'u1', userSlot: 2, admittedMs: 123, campaignId: 'c1' };
    expect(requeueClaimArgs(keys, { ...claim, position: 7 })).toEqual([
      'p:{c:c1}:stream',
      'p:{c:c1}:claims',
      'k1',
      'u1',
      '7',
      ...encodeStreamEntry(claim),
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

  it('turns a rate-limited reply into 429 rate-limited with the rest of the window, at least 1 s', () => {
    const refusal = (ttlMs: number) => {
      try {
        gateOutcome([GateCode.RateLimited, 3, ttlMs, 10_000], 'c1');
      } catch (error) {
        return error as DomainError;
      }
      throw new Error('not refused');
    };
    expect(refusal(4_200)).toMatchObject({ code: 'rate-limited', retryAfterSeconds: 5 });
    expect(refusal(4_200).message).toBe('at most 3 claims per user in 10 s on this campaign');
    expect(refusal(30).retryAfterSeconds).toBe(1);
  });

  /** A rejection reply: the snapshot the gate judged (status, window, stock, issued, limit, held, now). */
  const judged = (
    over: Partial<Record<'status' | 'starts' | 'ends' | 'issued' | 'held', string | number>>,
  ) => [
    GateCode.Rejected,
    over.status ?? 'active',
    over.starts ?? '',
    over.ends ?? '',
    100,
    over.issued ?? 0,
    1,
    over.held ?? 0,
    5000,
  ];

  it.each([
    [judged({ status: 'suspended' }), 'campaign-not-active'],
    [judged({ starts: 6000 }), 'campaign-not-active'],
    [judged({ ends: 1000 }), 'campaign-not-active'],
    [judged({ held: 1 }), 'already-claimed'],
    [judged({ issued: 100 }), 'sold-out'],
    [[GateCode.Gone], 'not-found'],
    [[42], 'internal'],
    [judged({}), 'internal'],
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

  it('names a rejection with the same words as the database strategies', () => {
    expect(() => gateOutcome(judged({ status: 'suspended' }), 'c1')).toThrow('the campaign is suspended');
    expect(() => gateOutcome(judged({ ends: 1000 }), 'c1')).toThrow(
      `the campaign closed at ${new Date(1000).toISOString()}`,
    );
  });
});

describe('stream entries', () => {
  const K1 = '0192b6a0-0000-7000-8000-000000000001';
  const C1 = '0192b6a0-0000-7000-8000-0000000000c1';

  it('parses a complete entry and rejects a malformed one', () => {
    expect(decodeStreamEntry(['c', K1, 'u', 'u1', 's', '2', 't', '123', 'k', C1])).toEqual({
      claimId: K1,
      userId: 'u1',
      userSlot: 2,
      admittedMs: 123,
      campaignId: C1,
    });
    expect(decodeStreamEntry(['c', K1, 'u', 'u1', 's', 'x', 't', '123', 'k', C1])).toBeUndefined();
  });

  it.each([
    ['a claim id that is not a UUID', ['c', 'k1', 'u', 'u1', 's', '1', 't', '123', 'k', C1]],
    ['a NUL byte in the user id', ['c', K1, 'u', 'x\u0000y', 's', '1', 't', '123', 'k', C1]],
    ['a lone surrogate in the user id', ['c', K1, 'u', 'x\ud800', 's', '1', 't', '123', 'k', C1]],
    ['a slot beyond smallint', ['c', K1, 'u', 'u1', 's', '40000', 't', '123', 'k', C1]],
    ['slot 0', ['c', K1, 'u', 'u1', 's', '0', 't', '123', 'k', C1]],
    ['an admission time past year 9999', ['c', K1, 'u', 'u1', 's', '1', 't', '1e20', 'k', C1]],
    ['a fractional admission time', ['c', K1, 'u', 'u1', 's', '1', 't', '1.5', 'k', C1]],
    ['a campaign id that is not a UUID', ['c', K1, 'u', 'u1', 's', '1', 't', '123', 'k', 'c1']],
  ])('rejects an entry with %s (it could never be stored)', (_label, fields) => {
    expect(decodeStreamEntry(fields)).toBeUndefined();
  });

  it('decodes what it encodes', () => {
    const claim = {
      claimId: K1,
      userId: 'u:1 🙂',
      userSlot: 3,
      admittedMs: 1_700_000_000_123,
      campaignId: C1,
    };
    expect(decodeStreamEntry(encodeStreamEntry(claim))).toEqual(claim);
    expect(STREAM_ENTRY_FIELD_NAMES).toEqual(Object.values(STREAM_ENTRY_FIELDS));
  });

  it('leaves the field names to the codec in the scripts that append entries', () => {
    for (const script of [GATE_SCRIPTS.admitClaims, GATE_SCRIPTS.requeueClaim]) {
      const code = script.source.replace(/--\[\[[\s\S]*?\]\]/, '');
      const xadd = code.match(/'XADD'[^\n]*(\n\s+[^\n]*)?/)?.[0] ?? '';
      expect(xadd, script.name).not.toBe('');
      for (const name of FIELD_NAMES) expect(xadd, script.name).not.toContain(`'${name}'`);
    }
  });

  it('splits a pending record on its first colon only', () => {
    expect(parsePendingRecord('12:user:with:colons')).toEqual({ position: 12, userId: 'user:with:colons' });
  });
});
