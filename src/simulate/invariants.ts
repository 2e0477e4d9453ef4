/**
 * The guarantees a simulated flash sale checks, and where their figures come from.
 *
 * Two sources: the responses the simulator received (always), and the database itself when the
 * simulator can read it (in-process server, or DATABASE_URL). The database is the truth: a server
 * could answer correctly and persist wrongly, or the reverse. Against a remote server (`--url`)
 * only responses and `GET /v1/campaigns/{id}` are available, and the report says so.
 */
import { sql } from 'drizzle-orm';
import { type Db, queryRows } from '../db/client.js';

/** What the database holds for one campaign after the run. */
export interface DatabaseTruth {
  stock: number;
  /** The campaign's `issued_count` counter. */
  issuedCount: number;
  /** Coupon rows of the campaign. */
  coupons: number;
  /** Distinct users holding a coupon of the campaign. */
  distinctUsers: number;
  /** Users holding more coupons than the per-user limit. */
  usersAboveLimit: number;
  /** Coupons of the campaign with more than one completed redemption. */
  doubleRedemptions: number;
  /** Acknowledged claims (201 coupon id or 202 claim id) with no coupon row. */
  missingAcknowledged: number;
}

/**
 * Reads the {@link DatabaseTruth} of `campaignId`.
 * @param acknowledgedIds coupon ids of 201 responses and claim ids of 202 responses (the coupon id
 *   is the claim id, DESIGN.md), checked for presence in one query.
 */
export async function readDatabaseTruth(
  db: Db,
  campaignId: string,
  acknowledgedIds: readonly string[],
): Promise<DatabaseTruth> {
  // A PostgreSQL array literal of uuids: one parameter, the same on node-postgres and PGlite.
  const acknowledged = `{${acknowledgedIds.join(',')}}`;
  const rows = await queryRows<DatabaseTruth>(
    db,
    sql`WITH per_user AS (
          SELECT user_id, count(*)::int AS n FROM coupons
          WHERE campaign_id = ${campaignId} AND user_id IS NOT NULL GROUP BY user_id
        )
        SELECT k.total_quantity AS "stock", k.issued_count AS "issuedCount",
          (SELECT count(*)::int FROM coupons WHERE campaign_id = k.id) AS "coupons",
          (SELECT count(*)::int FROM per_user) AS "distinctUsers",
          (SELECT count(*)::int FROM per_user WHERE n > k.per_user_limit) AS "usersAboveLimit",
          (SELECT count(*)::int FROM (
             SELECT r.coupon_id FROM redemptions r JOIN coupons c ON c.id = r.coupon_id
             WHERE c.campaign_id = k.id AND r.status = 'completed'
             GROUP BY r.coupon_id HAVING count(*) > 1) d) AS "doubleRedemptions",
          (SELECT count(*)::int FROM unnest(${acknowledged}::uuid[]) AS a(id)
             WHERE NOT EXISTS (SELECT 1 FROM coupons c WHERE c.id = a.id AND c.campaign_id = k.id))
            AS "missingAcknowledged"
        FROM campaigns k WHERE k.id = ${campaignId}`,
  );
  const truth = rows[0];
  if (!truth) throw new Error(`campaign ${campaignId} is not in the database`);
  return truth;
}

/** The figures the invariants are judged on; see {@link summarizeFigures}. */
export interface InvariantFigures {
  stock: number;
  perUserLimit: number;
  /** Coupons issued: rows in the database, or the campaign's issuedCount without database access. */
  issued: number;
  /** The campaign's issued counter (`issuedCount`). */
  issuedCount: number;
  /** 201 + 202 claim responses. */
  acknowledged: number;
  overIssued: number;
  usersAboveLimit: number;
  doubleRedemptions: number;
  missingAcknowledged: number;
  /** `sold-out` answers received while the campaign ended with stock left. */
  soldOutWithStockLeft: number;
  /** Users told `already-claimed` although they were issued fewer coupons than the limit. */
  alreadyClaimedBelowLimit: number;
  /** Responses with a 5xx status. */
  serverErrors: number;
  /** Requests that got no HTTP response at all. */
  unanswered: number;
}

export type InvariantName =
  | 'over-issue'
  | 'user-above-limit'
  | 'double-redemption'
  | 'acknowledged-claim-missing'
  | 'issued-count-drift'
  | 'sold-out-with-stock-left'
  | 'already-claimed-below-limit'
  | 'server-error'
  | 'unanswered-request';

export interface Violation {
  invariant: InvariantName;
  detail: string;
}

/** What the responses showed, counted by the simulator. */
export interface ResponseFacts {
  /** 201 + 202 claim responses. */
  acknowledged: number;
  /** Users with more acknowledged claims than the limit. */
  usersAboveLimit: number;
  /** Coupons redeemed successfully (201) by more than one of their attempts. */
  doubleRedemptions: number;
  soldOutResponses: number;
  alreadyClaimedBelowLimit: number;
  serverErrors: number;
  unanswered: number;
}

/**
 * Merges what the responses showed with what the database (or, remotely, the campaign JSON)
 * holds; each figure is the worse of the two sources, so neither can hide a breach.
 * @param campaign stock and issued counter from the database or `GET /v1/campaigns/{id}`.
 */
export function summarizeFigures(
  campaign: { stock: number; perUserLimit: number; issuedCount: number },
  responses: ResponseFacts,
  truth: DatabaseTruth | undefined,
): InvariantFigures {
  const issued = truth ? truth.coupons : campaign.issuedCount;
  return {
    stock: campaign.stock,
    perUserLimit: campaign.perUserLimit,
    issued,
    issuedCount: campaign.issuedCount,
    acknowledged: responses.acknowledged,
    overIssued: Math.max(0, issued - campaign.stock, responses.acknowledged - campaign.stock),
    usersAboveLimit: Math.max(responses.usersAboveLimit, truth?.usersAboveLimit ?? 0),
    doubleRedemptions: Math.max(responses.doubleRedemptions, truth?.doubleRedemptions ?? 0),
    // Without the database only the count can betray a lost claim.
    missingAcknowledged: truth
      ? truth.missingAcknowledged
      : Math.max(0, responses.acknowledged - campaign.issuedCount),
    soldOutWithStockLeft: issued < campaign.stock ? responses.soldOutResponses : 0,
    alreadyClaimedBelowLimit: responses.alreadyClaimedBelowLimit,
    serverErrors: responses.serverErrors,
    unanswered: responses.unanswered,
  };
}

/** The broken invariants, in a fixed order; empty when the run upheld every guarantee. */
export function findViolations(f: InvariantFigures): Violation[] {
  const violations: Violation[] = [];
  const add = (invariant: InvariantName, broken: boolean, detail: string) => {
    if (broken) violations.push({ invariant, detail });
  };
  add('over-issue', f.overIssued > 0, `${f.overIssued} coupons beyond the stock of ${f.stock}`);
  add(
    'user-above-limit',
    f.usersAboveLimit > 0,
    `${f.usersAboveLimit} users hold more than the per-user limit of ${f.perUserLimit}`,
  );
  add('double-redemption', f.doubleRedemptions > 0, `${f.doubleRedemptions} coupons redeemed more than once`);
  add(
    'acknowledged-claim-missing',
    f.missingAcknowledged > 0,
    `${f.missingAcknowledged} acknowledged claims have no coupon`,
  );
  add(
    'issued-count-drift',
    f.issuedCount !== f.issued,
    `the campaign counts ${f.issuedCount} issued but ${f.issued} coupons exist`,
  );
  add(
    'sold-out-with-stock-left',
    f.soldOutWithStockLeft > 0,
    `${f.soldOutWithStockLeft} claims were told sold-out, yet only ${f.issued} of ${f.stock} were issued`,
  );
  add(
    'already-claimed-below-limit',
    f.alreadyClaimedBelowLimit > 0,
    `${f.alreadyClaimedBelowLimit} users were told already-claimed while below the limit`,
  );
  add('server-error', f.serverErrors > 0, `${f.serverErrors} responses with a 5xx status`);
  add('unanswered-request', f.unanswered > 0, `${f.unanswered} requests got no HTTP response`);
  return violations;
}
