/**
 * The Lua scripts of the redis-gate pipeline (src/gate/scripts/, one file per atomic operation,
 * header listing KEYS, ARGV and returns), the pure functions that build their arguments, and the
 * one place where their integer result codes become typed results or domain errors
 * ({@link GateCode}, {@link gateOutcome}).
 */
import type { Campaign } from '../campaigns/model.js';
import { DomainError } from '../errors.js';
import { claimRejection } from '../issuance/rules.js';
import type { CampaignKeys } from '../redis/keys.js';
import { type LuaScript, luaScript } from '../redis/scripts.js';
import { encodeStreamEntry, STREAM_ENTRY_FIELD_NAMES, type StreamClaim } from './stream-entry.js';

/** The consumer group of every campaign stream. */
export const WORKER_GROUP = 'workers';

const folder = new URL('./scripts/', import.meta.url);

/** The scripts of the pipeline, by name. */
export const GATE_SCRIPTS = {
  admitClaims: luaScript(folder, 'admitClaims', 4),
  loadGate: luaScript(folder, 'loadGate', 5),
  syncGate: luaScript(folder, 'syncGate', 1),
  ackClaims: luaScript(folder, 'ackClaims', 2),
  requeueClaim: luaScript(folder, 'requeueClaim', 2),
} satisfies Record<string, LuaScript>;

/** Result codes of admitClaims.lua: first element of its reply, and of each claim's reply. */
export enum GateCode {
  Admitted = 1,
  NotLoaded = 0,
  Rejected = -1,
  Gone = -2,
  RateLimited = -3,
}

/** The per-user claim rate limit the gate applies (CLAIM_RATE_LIMIT_*): `max` claims per `windowMs`; 0 = none. */
export interface GateRateLimit {
  max: number;
  windowMs: number;
}

export type GateResult = { kind: 'admitted'; position: number; userSlot: number } | { kind: 'not-loaded' };

/** Epoch ms as the gate stores it ('' = none) → Date or null. */
const dateOrNull = (ms: string | number) => (ms === '' ? null : new Date(Number(ms)));

/**
 * Turns one claim's reply of admitClaims.lua into a result, or throws the domain error of a rejection, named by
 * the same rule as the database strategies (claimRejection) from the snapshot the gate judged.
 * @throws DomainError `campaign-not-active`, `already-claimed`, `sold-out`, `not-found`;
 *   `rate-limited` (with `retryAfterSeconds`, at least 1: the rest of the user's window);
 *   `internal` for a reply no version of the script gives.
 */
export function gateOutcome(reply: readonly (number | string)[], campaignId: string): GateResult {
  switch (Number(reply[0])) {
    case GateCode.Admitted:
      return { kind: 'admitted', position: Number(reply[1]), userSlot: Number(reply[2]) };
    case GateCode.NotLoaded:
      return { kind: 'not-loaded' };
    case GateCode.Gone:
      throw new DomainError('not-found', `campaign ${campaignId} does not exist`);
    case GateCode.RateLimited: {
      const [, max, ttlMs, windowMs] = reply;
      throw new DomainError(
        'rate-limited',
        `at most ${max} claims per user in ${Number(windowMs) / 1000} s on this campaign`,
        { retryAfterSeconds: Math.max(1, Math.ceil(Number(ttlMs) / 1000)) },
      );
    }
    case GateCode.Rejected: {
      const [, status, startsMs, endsMs, total, issued, limit, held, nowMs] = reply;
      const state = {
        status: String(status),
        startsAt: dateOrNull(startsMs!),
        endsAt: dateOrNull(endsMs!),
        totalQuantity: Number(total),
        issuedCount: Number(issued),
        perUserLimit: Number(limit),
      };
      const rejection = claimRejection(state, Number(held), new Date(Number(nowMs)));
      if (rejection) throw rejection;
      break;
    }
  }
  throw new DomainError('internal', `unexpected gate reply ${JSON.stringify(reply)}`);
}

/** No claim rate limit in the gate. */
export const NO_RATE_LIMIT: GateRateLimit = { max: 0, windowMs: 1000 };

/**
 * KEYS and ARGV of admitClaims.lua for claims of one campaign, in arrival order, and how many of
 * them are KEYS: 4, plus one rate-limit counter per claim when `rateLimit.max` > 0 (the counters
 * are declared as KEYS so Redis Cluster routes and checks them; they share the campaign's slot).
 */
export function admitClaimsArgs(
  keys: CampaignKeys,
  campaignId: string,
  claims: readonly { userId: string; claimId: string }[],
  rateLimit: GateRateLimit = NO_RATE_LIMIT,
): { numberOfKeys: number; keysAndArgs: string[] } {
  const limited = rateLimit.max > 0;
  const keysAndArgs = [keys.gate, keys.users, keys.stream, keys.claims];
  if (limited) for (const claim of claims) keysAndArgs.push(keys.claimRate(claim.userId));
  const numberOfKeys = keysAndArgs.length;
  keysAndArgs.push(
    campaignId,
    ...STREAM_ENTRY_FIELD_NAMES,
    String(limited ? rateLimit.max : 0),
    String(rateLimit.windowMs),
  );
  for (const claim of claims) keysAndArgs.push(claim.userId, claim.claimId);
  return { numberOfKeys, keysAndArgs };
}

/**
 * Splits an admitClaims reply: undefined for "not loaded" (retry the batch after loading), else
 * one reply per claim, for {@link gateOutcome}.
 * @throws DomainError `not-found` when the campaign is gone (every claim of the batch).
 */
export function gateBatchReplies(
  reply: readonly unknown[],
  campaignId: string,
): (readonly (number | string)[])[] | undefined {
  switch (Number(reply[0])) {
    case GateCode.NotLoaded:
      return undefined;
    case GateCode.Gone:
      throw new DomainError('not-found', `campaign ${campaignId} does not exist`);
    case GateCode.Admitted:
      return reply.slice(1) as (readonly (number | string)[])[];
  }
  throw new DomainError('internal', `unexpected gate batch reply ${JSON.stringify(reply).slice(0, 200)}`);
}

/** The gate's configuration fields of a campaign (undefined = unknown campaign). */
export interface GateConfig {
  status: string;
  startsMs: string;
  endsMs: string;
  total: number;
  limit: number;
  /** `updated_at` in ms: orders concurrent writes of the config. */
  version: number;
}

/** Gate config of a campaign as stored; deleted or unknown campaigns become status `gone`. */
export function gateConfig(campaign: Campaign | undefined): GateConfig {
  if (!campaign || campaign.deletedAt) {
    return {
      status: 'gone',
      startsMs: '',
      endsMs: '',
      total: 0,
      limit: 0,
      version: campaign ? campaign.updatedAt.getTime() : 0,
    };
  }
  return {
    status: campaign.status,
    startsMs: campaign.startsAt ? String(campaign.startsAt.getTime()) : '',
    endsMs: campaign.endsAt ? String(campaign.endsAt.getTime()) : '',
    total: campaign.totalQuantity,
    limit: campaign.perUserLimit,
    version: campaign.updatedAt.getTime(),
  };
}

const configArgs = (c: GateConfig) => [c.status, c.startsMs, c.endsMs, c.total, c.limit, c.version];

/** KEYS and ARGV of loadGate.lua. */
export function loadGateArgs(
  keys: CampaignKeys,
  load: { token: string; issued: number; config: GateConfig },
): (string | number)[] {
  return [
    keys.gate,
    keys.users,
    keys.stream,
    keys.usersLoading(load.token),
    keys.loadLock,
    load.token,
    load.issued,
    ...configArgs(load.config),
    WORKER_GROUP,
  ];
}

/** Result codes of loadGate.lua. */
export enum LoadCode {
  Loaded = 1,
  AlreadyLoaded = 2,
  LockLost = 3,
}

/** KEYS and ARGV of syncGate.lua. */
export function syncGateArgs(keys: CampaignKeys, config: GateConfig): (string | number)[] {
  return [keys.gate, ...configArgs(config)];
}

/** KEYS and ARGV of ackClaims.lua for stream entries and their claim ids. */
export function ackClaimsArgs(keys: CampaignKeys, entries: { entryId: string; claimId: string }[]): string[] {
  const args = [keys.stream, keys.claims, WORKER_GROUP];
  for (const entry of entries) args.push(entry.entryId, entry.claimId);
  return args;
}

/** KEYS and ARGV of requeueClaim.lua. */
export function requeueClaimArgs(keys: CampaignKeys, claim: StreamClaim & { position: number }): string[] {
  return [
    keys.stream,
    keys.claims,
    claim.claimId,
    claim.userId,
    String(claim.position),
    ...encodeStreamEntry(claim),
  ];
}

/** A pending claim record (`claims` hash value "position:userId"). */
export function parsePendingRecord(value: string): { position: number; userId: string } {
  const colon = value.indexOf(':');
  return { position: Number(value.slice(0, colon)), userId: value.slice(colon + 1) };
}
