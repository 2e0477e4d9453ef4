/**
 * The principal directory every authenticated request consults (src/http/auth.ts): does the
 * token's user still exist, is it enabled, and does it still have the token version the token was
 * signed with?
 *
 * The answer comes from a short in-process cache of the users table: an entry lives at most
 * {@link PRINCIPAL_CACHE_TTL_MS}, and any change to a user (role, password, disable, delete) drops
 * it at once in the process that made the change and, through PostgreSQL `LISTEN/NOTIFY` on
 * `stampede_principals`, in every other process. So a revoked token stops working everywhere within
 * 5 s even if a notification is lost (the TTL bounds it), and usually within a few milliseconds.
 *
 * A flash sale's claims come from a few service tokens (a shop backend acting for its users) or
 * from many user tokens; either way each principal costs one indexed primary-key read per TTL, and
 * concurrent misses for one principal share that read.
 */
import { and, eq, isNull } from 'drizzle-orm';
import { LRUCache } from 'lru-cache';
import type { Database } from '../db/client.js';
import { isUuid } from '../db/ids.js';
import { type NotificationChannel, notificationChannel } from '../db/notifications.js';
import { users } from '../db/schema.js';
import type { PrincipalDirectory, PrincipalState, Role } from '../http/auth.js';

/** How long a principal's state is trusted without a notification, ms (the bound is 5 s). */
export const PRINCIPAL_CACHE_TTL_MS = 4000;
/** Principals remembered at most (about 150 bytes each). */
const PRINCIPAL_CACHE_MAX = 100_000;
/** The NOTIFY channel carrying the ids of changed users. */
export const PRINCIPALS_CHANNEL = 'stampede_principals';

/** A cached answer: the state, or null for unknown, deleted or disabled. */
interface Entry {
  state: PrincipalState | null;
}

export class PrincipalCache implements PrincipalDirectory {
  private readonly entries = new LRUCache<string, Entry>({
    max: PRINCIPAL_CACHE_MAX,
    ttl: PRINCIPAL_CACHE_TTL_MS,
  });
  private readonly inFlight = new Map<string, Promise<PrincipalState | null>>();
  /** Bumped by every invalidation: a read that started before one must not fill the cache. */
  private epoch = 0;
  private readonly channel: NotificationChannel;

  /** @param onError where a lost LISTEN connection is reported (it is re-opened). */
  constructor(
    private readonly database: Database,
    onError: (error: unknown) => void = () => {},
  ) {
    this.channel = notificationChannel(database, PRINCIPALS_CHANNEL, onError);
  }

  /** Starts listening for changes made by other processes. */
  async start(): Promise<void> {
    await this.channel.listen((userId) => this.forget(userId));
  }

  lookup(sub: string): PrincipalState | null | Promise<PrincipalState | null> {
    // Users are UUIDs: anything else was never a user (and must not reach a uuid comparison).
    if (!isUuid(sub)) return null;
    const entry = this.entries.get(sub);
    if (entry) return entry.state;
    const pending = this.inFlight.get(sub);
    if (pending) return pending;
    const epoch = this.epoch;
    const startedAt = Date.now();
    const read = this.read(sub).then(
      (state) => {
        this.inFlight.delete(sub);
        // The entry's age counts from the read's start: the bound holds however long it took.
        const ttl = PRINCIPAL_CACHE_TTL_MS - (Date.now() - startedAt);
        if (epoch === this.epoch && ttl > 0) this.entries.set(sub, { state }, { ttl });
        return state;
      },
      (error: unknown) => {
        this.inFlight.delete(sub);
        throw error;
      },
    );
    this.inFlight.set(sub, read);
    return read;
  }

  /**
   * Call after committing a change to user `userId` (role, password, disabled, deleted): drops it
   * here at once and tells every other process.
   */
  async changed(userId: string): Promise<void> {
    this.forget(userId);
    await this.channel.notify(userId);
  }

  async close(): Promise<void> {
    await this.channel.close();
  }

  private forget(userId: string): void {
    this.epoch += 1;
    this.entries.delete(userId);
    this.inFlight.delete(userId);
  }

  private async read(userId: string): Promise<PrincipalState | null> {
    const rows = await this.database.db
      .select({ role: users.role, tokenVersion: users.tokenVersion })
      .from(users)
      .where(and(eq(users.id, userId), isNull(users.disabledAt)))
      .limit(1);
    const row = rows[0];
    return row ? { role: row.role as Role, tokenVersion: row.tokenVersion } : null;
  }
}

/**
 * Tells every serving process that user `userId` changed, from a process that keeps no cache of
 * its own (the CLI). On the embedded database the serving process's cache expires the entry within
 * {@link PRINCIPAL_CACHE_TTL_MS}.
 */
export async function announcePrincipalChange(database: Database, userId: string): Promise<void> {
  const channel = notificationChannel(database, PRINCIPALS_CHANNEL);
  try {
    await channel.notify(userId);
  } finally {
    await channel.close();
  }
}
