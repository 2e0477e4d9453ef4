/**
 * The Lua scripts of src/redis/scripts/ (one file per atomic operation, header listing KEYS,
 * ARGV and returns), defined once per connection with ioredis `defineCommand` (EVALSHA, falling
 * back to EVAL once after a `NOSCRIPT`), called through {@link runScript}.
 *
 * Also the one place where integer result codes become typed results or domain errors
 * ({@link GateCode}, {@link gateOutcome}), and the pure functions that build script arguments.
 */
import { readFileSync } from 'node:fs';
import type { Campaign } from '../campaigns/model.js';
import { DomainError } from '../errors.js';
import type { RedisClient } from './connection.js';
import { type CampaignKeys, WORKER_GROUP } from './keys.js';

/** Script name → number of KEYS. The Lua source is `scripts/<name>.lua`. */
export const SCRIPTS = {
  admitClaim: 4,
  loadGate: 5,
  syncGate: 1,
  ackClaims: 2,
  requeueClaim: 2,
  releaseLock: 1,
  cachePutIfNewer: 1,
} as const;

export type ScriptName = keyof typeof SCRIPTS;

const sources = new Map<ScriptName, string>();

/** The Lua source of a script (read once per process). */
export function scriptSource(name: ScriptName): string {
  let source = sources.get(name);
  if (source === undefined) {
    source = readFileSync(new URL(`./scripts/${name}.lua`, import.meta.url), 'utf8');
    sources.set(name, source);
  }
  return source;
}

/** Defines every script on a client (`defineCommand`), once per connection. */
export function defineScripts(client: RedisClient): void {
  for (const [name, numberOfKeys] of Object.entries(SCRIPTS) as [ScriptName, number][]) {
    client.defineCommand(name, { numberOfKeys, lua: scriptSource(name) });
  }
}

/** Calls a defined script with its KEYS followed by its ARGV (as built by the *Args functions). */
export function runScript<T = unknown>(
  client: RedisClient,
  name: ScriptName,
  keysAndArgs: (string | number)[],
): Promise<T> {
  const command = (client as unknown as Record<ScriptName, (...args: (string | number)[]) => Promise<T>>)[
    name
  ];
  return command.apply(client, keysAndArgs);
}

/** Result codes of admitClaim.lua (first element of its reply). */
export enum GateCode {
  Admitted = 1,
  NotLoaded = 0,
  NotActive = -1,
  NotStarted = -2,
  Ended = -3,
  UserAtLimit = -4,
  SoldOut = -5,
  Gone = -6,
}

export type GateResult = { kind: 'admitted'; position: number; userSlot: number } | { kind: 'not-loaded' };

/**
 * Turns an admitClaim reply into a result, or throws the domain error of a rejection.
 * @throws DomainError `campaign-not-active`, `already-claimed`, `sold-out`, `not-found`.
 */
export function gateOutcome(reply: (number | string)[], campaignId: string): GateResult {
  const [code, a, b] = reply;
  switch (Number(code)) {
    case GateCode.Admitted:
      return { kind: 'admitted', position: Number(a), userSlot: Number(b) };
    case GateCode.NotLoaded:
      return { kind: 'not-loaded' };
    case GateCode.NotActive:
      throw new DomainError('campaign-not-active', `the campaign is ${a}`);
    case GateCode.NotStarted:
      throw new DomainError(
        'campaign-not-active',
        `the campaign opens at ${new Date(Number(a)).toISOString()}`,
      );
    case GateCode.Ended:
      throw new DomainError(
        'campaign-not-active',
        `the campaign closed at ${new Date(Number(a)).toISOString()}`,
      );
    case GateCode.UserAtLimit:
      throw new DomainError('already-claimed', `the user already holds ${a} of ${b} allowed`);
    case GateCode.SoldOut:
      throw new DomainError('sold-out', `all ${a} coupons have been issued`);
    case GateCode.Gone:
      throw new DomainError('not-found', `campaign ${campaignId} does not exist`);
    default:
      throw new DomainError('internal', `unexpected gate reply ${JSON.stringify(reply)}`);
  }
}

/** KEYS and ARGV of admitClaim.lua. */
export function admitClaimArgs(
  keys: CampaignKeys,
  claim: { campaignId: string; userId: string; claimId: string },
): string[] {
  return [keys.gate, keys.users, keys.stream, keys.claims, claim.userId, claim.claimId, claim.campaignId];
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

/** A claim as carried by a stream entry (fields c, u, s, t, k). */
export interface StreamClaim {
  claimId: string;
  userId: string;
  userSlot: number;
  /** Admission time, ms since epoch (Redis server clock). */
  admittedMs: number;
  campaignId: string;
}

/** KEYS and ARGV of requeueClaim.lua. */
export function requeueClaimArgs(
  keys: CampaignKeys,
  claim: StreamClaim & { position: number },
): (string | number)[] {
  return [
    keys.stream,
    keys.claims,
    claim.claimId,
    claim.userId,
    claim.userSlot,
    claim.admittedMs,
    claim.campaignId,
    claim.position,
  ];
}

/**
 * Parses the field list of a stream entry (`[name, value, …]`) into a claim; undefined when a
 * field is missing or malformed (a poison entry: the worker dead-letters it after its retries).
 */
export function parseStreamClaim(fields: string[]): StreamClaim | undefined {
  const map: Record<string, string> = {};
  for (let i = 0; i + 1 < fields.length; i += 2) map[fields[i]!] = fields[i + 1]!;
  const userSlot = Number(map.s);
  const admittedMs = Number(map.t);
  if (!map.c || !map.u || !map.k || !Number.isInteger(userSlot) || !Number.isFinite(admittedMs))
    return undefined;
  return { claimId: map.c, userId: map.u, userSlot, admittedMs, campaignId: map.k };
}

/** A pending claim record (`claims` hash value "position:userId"). */
export function parsePendingRecord(value: string): { position: number; userId: string } {
  const colon = value.indexOf(':');
  return { position: Number(value.slice(0, colon)), userId: value.slice(colon + 1) };
}
