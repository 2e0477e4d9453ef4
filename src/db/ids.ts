/**
 * Time-ordered coupon ids: UUIDv7 (RFC 9562 §5.7) with a 12-bit counter in `rand_a` (RFC 9562
 * §6.2 method 1), so ids made in a row are strictly increasing within a process, and ids of
 * several processes interleave by millisecond. 62 random bits per id (`rand_b`).
 *
 * Used for every coupon id Stampede makes: claim ids (which become coupon ids) and the ids of
 * generated codes. Why: the primary key and the keyset indexes `(…, issued_at, id)` then receive
 * new coupons at their right edge instead of scattered over the whole index (a buffer miss, and
 * after a checkpoint a full-page WAL image, per row once the index outgrows the cache). Measured
 * by bench/codes.ts and by the worker drain of bench/gate.ts. An id reveals when it was made,
 * which the coupon's `issuedAt` shows its owner anyway; access is by ownership, never by
 * knowing an id.
 */
import { randomBytes } from 'node:crypto';

/** Two hex digits per byte value. */
const HEX = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, '0'));

let lastMs = 0;
let counter = 0;

/**
 * Random bytes are drawn from the operating system 4 KiB at a time (512 ids' worth), as
 * `crypto.randomUUID` does with its own cache: one `randomBytes` call per id cost more than the
 * rest of the id (CPU profile of the claim route).
 */
const POOL_BYTES = 4096;
let pool = Buffer.alloc(0);
let poolOffset = 0;

/** `length` unused random bytes: a buffer and the offset where they start. */
function randomSpan(length: number): { bytes: Buffer; start: number } {
  if (poolOffset + length > pool.length) {
    pool = randomBytes(Math.max(POOL_BYTES, length));
    poolOffset = 0;
  }
  const start = poolOffset;
  poolOffset += length;
  return { bytes: pool, start };
}

/** `count` UUIDv7 strings, strictly increasing within this process. */
export function timeOrderedIds(count: number): string[] {
  const { bytes: random, start } = randomSpan(count * 8);
  const ids = new Array<string>(count);
  let ms = Math.max(Date.now(), lastMs);
  if (ms !== lastMs) counter = 0;
  let prefix = timePrefix(ms);
  for (let i = 0; i < count; i++) {
    if (counter > 0xfff) {
      // Counter exhausted within one millisecond: borrow the next (RFC 9562 §6.2 allows it).
      ms += 1;
      counter = 0;
      prefix = timePrefix(ms);
    }
    const c = counter++;
    const r = start + i * 8;
    ids[i] =
      `${prefix}7${HEX[c >> 4]}${HEX[c & 0xf]![1]}-${HEX[(random[r]! & 0x3f) | 0x80]}${HEX[random[r + 1]!]}-` +
      `${HEX[random[r + 2]!]}${HEX[random[r + 3]!]}${HEX[random[r + 4]!]}${HEX[random[r + 5]!]}${HEX[random[r + 6]!]}${HEX[random[r + 7]!]}`;
  }
  lastMs = ms;
  return ids;
}

/** One UUIDv7 string, greater than every id this process made before. */
export function timeOrderedId(): string {
  return timeOrderedIds(1)[0]!;
}

/** `tttttttt-tttt-` for a 48-bit millisecond timestamp. */
function timePrefix(ms: number): string {
  const time = ms.toString(16).padStart(12, '0');
  return `${time.slice(0, 8)}-${time.slice(8)}-`;
}

/** The text form of any UUID (any version, either case), as PostgreSQL's `uuid` type accepts it. */
const UUID_TEXT = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** True when `value` is a UUID in its text form: safe to compare with a `uuid` column. */
export function isUuid(value: string): boolean {
  return UUID_TEXT.test(value);
}
