/**
 * The PostgreSQL tables of Stampede (the system of record), as Drizzle definitions.
 *
 * `npm run db:generate` turns changes here into a new SQL file under `drizzle/`; the committed SQL
 * is what runs, identically on PostgreSQL and on PGlite. The constraints are the last line of
 * defence for the guarantees, whatever the issuance strategy does (DESIGN.md, "Defense in depth"):
 * - `campaigns_issued_within_stock`: issued_count <= total_quantity (never over-issue);
 * - `coupons_user_slot_unique`: (user_id, campaign_id, user_slot) with 1 <= user_slot <= per-user
 *   limit, so a user never holds more coupons of a campaign than the limit;
 * - `coupons.id` is the claim id, so persisting a claim twice is a no-op;
 * - `redemptions_one_completed_per_coupon`: a coupon has at most one completed redemption;
 * - `coupons_code_unique`: a generated code names one coupon (shared codes live on the campaign,
 *   `campaigns_shared_code_unique`, see src/codes/shared.ts).
 *
 * Money amounts are integers in minor currency units (cents); percentages are whole percent.
 */
import { sql } from 'drizzle-orm';
import {
  bigint,
  boolean,
  check,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  smallint,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';

const createdAt = () => timestamp('created_at', { withTimezone: true }).notNull().defaultNow();

export const users = pgTable(
  'users',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    email: text('email').notNull(),
    passwordHash: text('password_hash').notNull(),
    role: text('role').notNull(),
    createdAt: createdAt(),
    /** Set when an admin disables the account: it can no longer log in, and its tokens stop working. */
    disabledAt: timestamp('disabled_at', { withTimezone: true }),
    /**
     * Bumped by every change that must take the user's tokens back (role, password, disable,
     * enable): access tokens carry the version they were signed with (`ver`), and a request whose
     * token is older is refused (src/auth/principals.ts).
     */
    tokenVersion: integer('token_version').notNull().default(0),
  },
  (t) => [
    uniqueIndex('users_email_unique').on(t.email),
    check('users_role_valid', sql`${t.role} IN ('admin', 'service', 'user')`),
  ],
);

/** The CHECK that caps a campaign's redeemed discount at its budget; its violation is `budget-exhausted`. */
export const REDEEMED_WITHIN_BUDGET = 'campaigns_redeemed_within_budget';

/**
 * Refresh tokens (src/auth/refresh-tokens.ts), stored as the SHA-256 of the opaque token, never the
 * token itself. Each use rotates: the row is marked `used_at` and a new row of the same `family_id`
 * is issued; presenting a used token again revokes its whole family (OAuth 2.0 Security BCP,
 * https://datatracker.ietf.org/doc/html/draft-ietf-oauth-security-topics, "refresh token rotation").
 * Rows go with their user.
 */
export const refreshTokens = pgTable(
  'refresh_tokens',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    familyId: uuid('family_id').notNull(),
    /** Hex SHA-256 of the token. */
    tokenHash: text('token_hash').notNull(),
    /**
     * The user's token version when the session began (read before the password check): a later
     * change to the user (role, password, disable) bumps it, and the token no longer refreshes,
     * even one issued by a login or a rotation that raced the change.
     */
    tokenVersion: integer('token_version').notNull().default(0),
    createdAt: createdAt(),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
    /** Set when the token was exchanged for a new pair. */
    usedAt: timestamp('used_at', { withTimezone: true }),
    /** Set by logout, by reuse of a used token of the family, or by a user change. */
    revokedAt: timestamp('revoked_at', { withTimezone: true }),
  },
  (t) => [
    uniqueIndex('refresh_tokens_hash_unique').on(t.tokenHash),
    index('refresh_tokens_family').on(t.familyId),
    index('refresh_tokens_user').on(t.userId),
  ],
);

export const campaigns = pgTable(
  'campaigns',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    name: text('name').notNull(),
    status: text('status').notNull(),
    totalQuantity: integer('total_quantity').notNull(),
    issuedCount: integer('issued_count').notNull().default(0),
    perUserLimit: smallint('per_user_limit').notNull().default(1),
    startsAt: timestamp('starts_at', { withTimezone: true }),
    endsAt: timestamp('ends_at', { withTimezone: true }),
    couponValiditySeconds: integer('coupon_validity_seconds'),
    couponValidUntil: timestamp('coupon_valid_until', { withTimezone: true }),
    discountType: text('discount_type').notNull(),
    discountValue: integer('discount_value').notNull(),
    discountMaxAmount: integer('discount_max_amount'),
    minOrderAmount: integer('min_order_amount'),
    createdAt: createdAt(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
    deletedAt: timestamp('deleted_at', { withTimezone: true }),
    /** A public code any user may redeem (once per per-user limit, up to the stock); see src/codes/shared.ts. */
    sharedCode: text('shared_code'),
    /** Total discount the campaign may grant, minor currency units; null = unlimited. */
    budget: bigint('budget', { mode: 'number' }),
    /** Sum of the discounts of its completed redemptions, minor units (src/redemptions/repository.ts). */
    redeemedAmount: bigint('redeemed_amount', { mode: 'number' }).notNull().default(0),
    /** Number of its completed redemptions, kept beside `redeemed_amount` in the same statements. */
    redeemedCount: integer('redeemed_count').notNull().default(0),
  },
  (t) => [
    uniqueIndex('campaigns_shared_code_unique').on(t.sharedCode),
    check('campaigns_status_valid', sql`${t.status} IN ('draft', 'active', 'suspended', 'ended')`),
    check('campaigns_total_quantity_positive', sql`${t.totalQuantity} > 0`),
    check('campaigns_issued_count_not_negative', sql`${t.issuedCount} >= 0`),
    check('campaigns_issued_within_stock', sql`${t.issuedCount} <= ${t.totalQuantity}`),
    check('campaigns_budget_not_negative', sql`${t.budget} IS NULL OR ${t.budget} >= 0`),
    check('campaigns_redeemed_amount_not_negative', sql`${t.redeemedAmount} >= 0`),
    check('campaigns_redeemed_count_not_negative', sql`${t.redeemedCount} >= 0`),
    check(REDEEMED_WITHIN_BUDGET, sql`${t.budget} IS NULL OR ${t.redeemedAmount} <= ${t.budget}`),
    check('campaigns_per_user_limit_positive', sql`${t.perUserLimit} >= 1`),
    check(
      'campaigns_window_ordered',
      sql`${t.startsAt} IS NULL OR ${t.endsAt} IS NULL OR ${t.startsAt} < ${t.endsAt}`,
    ),
    check(
      'campaigns_validity_positive',
      sql`${t.couponValiditySeconds} IS NULL OR ${t.couponValiditySeconds} > 0`,
    ),
    check('campaigns_discount_type_valid', sql`${t.discountType} IN ('fixed', 'percent')`),
    check(
      'campaigns_discount_value_valid',
      sql`${t.discountValue} > 0 AND (${t.discountType} = 'fixed' OR ${t.discountValue} <= 100)`,
    ),
    index('campaigns_created_idx').on(t.createdAt.desc(), t.id.desc()),
  ],
);

export const coupons = pgTable(
  'coupons',
  {
    /** For an issued coupon this is the claim id (idempotent persistence). */
    id: uuid('id').primaryKey(),
    campaignId: uuid('campaign_id')
      .notNull()
      .references(() => campaigns.id),
    userId: text('user_id'),
    userSlot: smallint('user_slot'),
    code: text('code'),
    status: text('status').notNull().default('issued'),
    issuedAt: timestamp('issued_at', { withTimezone: true }).notNull().defaultNow(),
    expiresAt: timestamp('expires_at', { withTimezone: true }),
    redeemedAt: timestamp('redeemed_at', { withTimezone: true }),
  },
  (t) => [
    // Partial (owned coupons only): owner-less generated codes never conflict here anyway (NULLs
    // are distinct), and skipping them keeps bulk code generation off these two indexes.
    // User first: it is also the index of a user's coupons (`GET /v1/me/coupons`, search by
    // user), read whole and sorted — a user holds few coupons. A second index keyed by user in
    // the keyset order cost a third of the worker's insert time (migration 0008).
    uniqueIndex('coupons_user_slot_unique')
      .on(t.userId, t.campaignId, t.userSlot)
      .where(sql`${t.userId} IS NOT NULL`),
    // Partial: issued coupons (no code) add no entry, which keeps the claim's insert short.
    uniqueIndex('coupons_code_unique').on(t.code).where(sql`${t.code} IS NOT NULL`),
    index('coupons_campaign_issued_idx').on(t.campaignId, t.issuedAt.desc(), t.id.desc()),
    // Coupon search (src/coupons/search.ts): one index per filter, each in the keyset order.
    // Only the settled statuses: `issued` (most rows, and every new code) is served by
    // coupons_issued_idx with a filter, so inserting codes does not touch this index.
    index('coupons_status_issued_idx')
      .on(t.status, t.issuedAt.desc(), t.id.desc())
      .where(sql`${t.status} IN ('redeemed', 'revoked')`),
    index('coupons_issued_idx').on(t.issuedAt.desc(), t.id.desc()),
    index('coupons_redeemed_idx')
      .on(t.redeemedAt.desc(), t.id.desc())
      .where(sql`${t.redeemedAt} IS NOT NULL`),
    check('coupons_status_valid', sql`${t.status} IN ('issued', 'redeemed', 'revoked')`),
    check('coupons_owner_has_slot', sql`(${t.userId} IS NULL) = (${t.userSlot} IS NULL)`),
    check('coupons_user_slot_positive', sql`${t.userSlot} IS NULL OR ${t.userSlot} >= 1`),
  ],
);

export const redemptions = pgTable(
  'redemptions',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    couponId: uuid('coupon_id')
      .notNull()
      .references(() => coupons.id),
    userId: text('user_id').notNull(),
    orderId: text('order_id').notNull(),
    orderAmount: integer('order_amount').notNull(),
    discountAmount: integer('discount_amount').notNull(),
    status: text('status').notNull().default('completed'),
    createdAt: createdAt(),
    rolledBackAt: timestamp('rolled_back_at', { withTimezone: true }),
  },
  (t) => [
    uniqueIndex('redemptions_one_completed_per_coupon').on(t.couponId).where(sql`${t.status} = 'completed'`),
    index('redemptions_coupon_idx').on(t.couponId),
    // Redemption look-up by order (GET /v1/redemptions?orderId=), in its keyset order.
    index('redemptions_order_idx').on(t.orderId, t.createdAt.desc(), t.id.desc()),
    check('redemptions_status_valid', sql`${t.status} IN ('completed', 'rolled_back')`),
    check('redemptions_amounts_valid', sql`${t.orderAmount} >= 0 AND ${t.discountAmount} >= 0`),
  ],
);

/**
 * Idempotency keys of mutating requests (Stripe semantics), scoped to the calling principal.
 * `response_status` is null while the first request is in flight.
 */
export const idempotencyKeys = pgTable(
  'idempotency_keys',
  {
    principal: text('principal').notNull(),
    key: text('key').notNull(),
    requestHash: text('request_hash').notNull(),
    responseStatus: smallint('response_status'),
    responseBody: jsonb('response_body'),
    lockedAt: timestamp('locked_at', { withTimezone: true }).notNull().defaultNow(),
    createdAt: createdAt(),
  },
  (t) => [
    primaryKey({ columns: [t.principal, t.key] }),
    index('idempotency_keys_created_idx').on(t.createdAt),
  ],
);

/**
 * Long-running work done in-process (code generation, archival) with its progress. `updated_at`
 * is the heartbeat: a `running` job whose heartbeat is older than a minute belonged to a process
 * that died, and is marked `failed` at the next start (src/jobs/store.ts).
 */
export const jobs = pgTable(
  'jobs',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    kind: text('kind').notNull(),
    status: text('status').notNull().default('running'),
    params: jsonb('params').notNull(),
    total: integer('total').notNull(),
    done: integer('done').notNull().default(0),
    result: jsonb('result'),
    error: text('error'),
    createdAt: createdAt(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
    finishedAt: timestamp('finished_at', { withTimezone: true }),
  },
  (t) => [
    check('jobs_status_valid', sql`${t.status} IN ('running', 'succeeded', 'failed')`),
    check('jobs_progress_valid', sql`${t.done} >= 0 AND ${t.total} >= 0`),
    // At most one archival runs at a time across all processes.
    uniqueIndex('jobs_one_running_archive')
      .on(t.kind)
      .where(sql`${t.kind} = 'archive' AND ${t.status} = 'running'`),
    index('jobs_kind_created_idx').on(t.kind, t.createdAt.desc()),
  ],
);

/*
 * Archive tables (src/archive/): rows of campaigns soft-deleted longer than ARCHIVE_AFTER, moved
 * out of the live tables. `data` is the whole original row (`to_jsonb`), so the archive keeps
 * every column, including ones added after this table was created; the few columns searched
 * on are copied out beside it.
 */
const archivedAt = () => timestamp('archived_at', { withTimezone: true }).notNull().defaultNow();

export const archivedCampaigns = pgTable('archived_campaigns', {
  id: uuid('id').primaryKey(),
  deletedAt: timestamp('deleted_at', { withTimezone: true }),
  data: jsonb('data').notNull(),
  archivedAt: archivedAt(),
});

export const archivedCoupons = pgTable(
  'archived_coupons',
  {
    id: uuid('id').primaryKey(),
    campaignId: uuid('campaign_id').notNull(),
    code: text('code'),
    data: jsonb('data').notNull(),
    archivedAt: archivedAt(),
  },
  (t) => [
    index('archived_coupons_code_idx').on(t.code),
    index('archived_coupons_campaign_idx').on(t.campaignId),
  ],
);

export const archivedRedemptions = pgTable(
  'archived_redemptions',
  {
    id: uuid('id').primaryKey(),
    couponId: uuid('coupon_id').notNull(),
    campaignId: uuid('campaign_id').notNull(),
    data: jsonb('data').notNull(),
    archivedAt: archivedAt(),
  },
  (t) => [index('archived_redemptions_coupon_idx').on(t.couponId)],
);

/**
 * redis-gate claims the worker could not persist after WORKER_MAX_DELIVERIES deliveries, or whose
 * user slot was already taken (possible only after the gate was reloaded while a batch was in
 * flight). They still count as admitted (gate issued = persisted + pending + dead letters);
 * `stampede dead-letters retry` puts them back into the stream and deletes the row.
 * Fields of a malformed entry may be null; `fields` keeps the raw stream entry.
 */
export const deadLetters = pgTable(
  'dead_letters',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    claimId: text('claim_id'),
    campaignId: uuid('campaign_id').notNull(),
    userId: text('user_id'),
    userSlot: smallint('user_slot'),
    admittedAt: timestamp('admitted_at', { withTimezone: true }),
    position: integer('position'),
    entryId: text('entry_id').notNull(),
    fields: jsonb('fields').notNull(),
    deliveries: integer('deliveries').notNull(),
    error: text('error').notNull(),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex('dead_letters_claim_unique').on(t.claimId),
    index('dead_letters_campaign_idx').on(t.campaignId, t.createdAt),
  ],
);

/**
 * Webhook endpoints (src/webhooks/): where events of the subscribed types are POSTed, signed per
 * the Standard Webhooks specification with `secret` (`whsec_` + base64). After a rotation the
 * previous secret also signs until `previous_secret_expires_at`. An endpoint that answered 410
 * is disabled (`enabled` false, `disabled_reason` says why); its pending deliveries are `paused`
 * until it is enabled again.
 */
export const webhookEndpoints = pgTable(
  'webhook_endpoints',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    url: text('url').notNull(),
    description: text('description'),
    events: text('events').array().notNull(),
    secret: text('secret').notNull(),
    previousSecret: text('previous_secret'),
    previousSecretExpiresAt: timestamp('previous_secret_expires_at', { withTimezone: true }),
    enabled: boolean('enabled').notNull().default(true),
    disabledReason: text('disabled_reason'),
    createdAt: createdAt(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index('webhook_endpoints_created_idx').on(t.createdAt.desc(), t.id.desc())],
);

/**
 * The transactional outbox: one row per event, written in the transaction of the change it
 * reports, and only when an enabled endpoint subscribes to its type (src/webhooks/outbox.ts).
 * `id` is the `webhook-id` of every delivery of the event (`msg_` + 32 hex digits).
 */
export const webhookEvents = pgTable(
  'webhook_events',
  {
    id: text('id').primaryKey().default(sql`'msg_' || replace(gen_random_uuid()::text, '-', '')`),
    type: text('type').notNull(),
    payload: jsonb('payload').notNull(),
    createdAt: createdAt(),
  },
  // The purge finds old events by it (src/webhooks/repository.ts purgeSettledEvents).
  (t) => [index('webhook_events_created_idx').on(t.createdAt)],
);

/**
 * One event to one endpoint. `pending` rows are due at `next_attempt_at`; a dispatcher claims due
 * rows with FOR UPDATE SKIP LOCKED and leases them until `locked_until` while it delivers, so a
 * killed dispatcher's rows come back when the lease ends. `attempts` counts the requests sent.
 * `paused` rows belong to a disabled endpoint: out of the due index, so they cost the dispatchers
 * nothing, and `pending` again when it is enabled.
 *
 * `endpoint_id` has no foreign key on purpose: the claim statements insert deliveries, and a key
 * would make each of them lock the endpoint row (KEY SHARE, a hot row during a sale) and fail
 * with 23503 while an endpoint is being deleted. Deleting an endpoint deletes its deliveries; the
 * purge removes the few a racing claim may still add.
 */
export const webhookDeliveries = pgTable(
  'webhook_deliveries',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    endpointId: uuid('endpoint_id').notNull(),
    eventId: text('event_id')
      .notNull()
      .references(() => webhookEvents.id, { onDelete: 'cascade' }),
    status: text('status').notNull().default('pending'),
    attempts: integer('attempts').notNull().default(0),
    nextAttemptAt: timestamp('next_attempt_at', { withTimezone: true }).notNull().defaultNow(),
    lockedUntil: timestamp('locked_until', { withTimezone: true }),
    lastStatusCode: integer('last_status_code'),
    lastAttemptAt: timestamp('last_attempt_at', { withTimezone: true }),
    lastError: text('last_error'),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex('webhook_deliveries_event_endpoint_unique').on(t.eventId, t.endpointId),
    index('webhook_deliveries_endpoint_idx').on(t.endpointId, t.createdAt.desc(), t.id.desc()),
    index('webhook_deliveries_due_idx').on(t.nextAttemptAt).where(sql`status = 'pending'`),
    check(
      'webhook_deliveries_status_valid',
      sql`${t.status} IN ('pending', 'paused', 'delivered', 'failed')`,
    ),
  ],
);
