/**
 * The wire format of an admitted claim in a campaign stream, written once: the field names, and
 * the encode and decode functions beside them. The gate scripts that append entries
 * (admitClaims.lua, requeueClaim.lua) receive the names in their ARGV from
 * {@link STREAM_ENTRY_FIELD_NAMES} instead of spelling them; the worker, reconcile and the tests
 * read entries with {@link decodeStreamEntry}.
 *
 * An entry is the flat Redis field list `[name, value, name, value, …]` with the fields, in order:
 * | field | name | value |
 * | --- | --- | --- |
 * | claimId | `c` | the claim id (becomes the coupon id) |
 * | userId | `u` | the user the coupon is issued to |
 * | userSlot | `s` | the user's slot, 1..per-user limit (the gate's count after this claim) |
 * | admittedMs | `t` | Redis server time of the admission, ms since the epoch (the coupon's issue time) |
 * | campaignId | `k` | the campaign, repeated so an entry is complete on its own |
 * Names are one letter because every admitted claim carries them through Redis memory and the wire.
 */
import { isUuid } from '../db/ids.js';

/** An admitted claim as carried by a stream entry. */
export interface StreamClaim {
  claimId: string;
  userId: string;
  userSlot: number;
  admittedMs: number;
  campaignId: string;
}

/** Field name of each claim property, in the order the entry lists them. */
export const STREAM_ENTRY_FIELDS = {
  claimId: 'c',
  userId: 'u',
  userSlot: 's',
  admittedMs: 't',
  campaignId: 'k',
} as const satisfies Record<keyof StreamClaim, string>;

/** The field names in entry order: the ARGV the appending scripts take. */
export const STREAM_ENTRY_FIELD_NAMES: readonly string[] = Object.values(STREAM_ENTRY_FIELDS);

/** The field list of a claim, as XADD takes it after the entry id. */
export function encodeStreamEntry(claim: StreamClaim): string[] {
  const f = STREAM_ENTRY_FIELDS;
  return [
    f.claimId,
    claim.claimId,
    f.userId,
    claim.userId,
    f.userSlot,
    String(claim.userSlot),
    f.admittedMs,
    String(claim.admittedMs),
    f.campaignId,
    claim.campaignId,
  ];
}

/** The fields of an entry as a record (`name → value`), malformed or not; the last value of a repeated name wins. */
export function entryFields(fields: readonly string[]): Record<string, string> {
  const record: Record<string, string> = {};
  for (let i = 0; i + 1 < fields.length; i += 2) record[fields[i]!] = fields[i + 1]!;
  return record;
}

/**
 * What PostgreSQL `text` and `jsonb` cannot hold faithfully: NUL (refused, SQLSTATE 22021 and
 * 22P05) and unpaired UTF-16 surrogates (not UTF-8; replaced by U+FFFD or refused).
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: NUL is what must be found
const UNSTORABLE = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/**
 * `text` with every character PostgreSQL cannot store written as a `\uXXXX` escape (six plain
 * characters), so a dead letter keeps what the entry held and always stores.
 */
export function storableText(text: string): string {
  return text.replace(
    new RegExp(UNSTORABLE.source, 'g'),
    (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}
/** The largest user slot `coupons.user_slot` (smallint) holds. */
const MAX_USER_SLOT = 32_767;
/** 9999-12-31T23:59:59.999Z: admission times beyond it are no instant the API could return. */
const MAX_ADMITTED_MS = 253_402_300_799_999;

/**
 * The claim of an entry's field list; undefined when a field is missing or could not be stored
 * as a coupon whatever the database's state (a poison entry, dead-lettered at once): claim and
 * campaign ids must be UUIDs, the user id text PostgreSQL can store, the slot 1..32767, the
 * admission time a whole ms from the epoch to year 9999.
 */
export function decodeStreamEntry(fields: readonly string[]): StreamClaim | undefined {
  const record = entryFields(fields);
  const f = STREAM_ENTRY_FIELDS;
  const claimId = record[f.claimId];
  const userId = record[f.userId];
  const campaignId = record[f.campaignId];
  const userSlot = Number(record[f.userSlot]);
  const admittedMs = Number(record[f.admittedMs]);
  if (
    !claimId ||
    !isUuid(claimId) ||
    !userId ||
    UNSTORABLE.test(userId) ||
    !campaignId ||
    !isUuid(campaignId) ||
    !Number.isInteger(userSlot) ||
    userSlot < 1 ||
    userSlot > MAX_USER_SLOT ||
    !Number.isInteger(admittedMs) ||
    admittedMs < 0 ||
    admittedMs > MAX_ADMITTED_MS
  )
    return undefined;
  return { claimId, userId, userSlot, admittedMs, campaignId };
}
