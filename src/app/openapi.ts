/**
 * The OpenAPI document's operations, in one table: for every route, its `operationId`, a
 * description, and the problem codes it can answer. {@link finishOpenApiDocument} applies the
 * table to the document @fastify/swagger generates from the routes' TypeBox schemas:
 *
 * - `operationId` and `description` from the table (a route missing from it fails the test suite,
 *   test/api/openapi.test.ts, which also runs Redocly's recommended rules on the document);
 * - problem responses per status, `application/problem+json` referencing the `Problem` schema,
 *   each listing its codes (from {@link STATUS_BY_CODE}, the one code → status table), instead of
 *   catch-all `4xx`/`5xx` entries;
 * - `security: []` on public operations, so a generated client knows no token is needed;
 * - a description on every success response.
 *
 * `/healthz`, `/readyz` and `/metrics` are probes for orchestrators and Prometheus, hidden from
 * the document.
 */
import { ERROR_CODES, type ErrorCode } from '../errors.js';
import { PROBLEM_CONTENT_TYPE, STATUS_BY_CODE } from '../http/errors.js';

export interface OperationDoc {
  operationId: string;
  description: string;
  /** Problem codes beyond the ones every operation of its kind can answer (see {@link problemsOf}). */
  problems?: ErrorCode[];
}

/** Every operation of the API, keyed by `METHOD /path` as OpenAPI spells the path. */
export const OPERATIONS: Record<string, OperationDoc> = {
  'POST /v1/auth/signup': {
    operationId: 'signUp',
    description: 'Creates an account with role `user`. Emails are case-insensitive.',
    problems: ['email-taken', 'rate-limited'],
  },
  'POST /v1/auth/login': {
    operationId: 'logIn',
    description:
      'Exchanges email and password for a short-lived bearer access token (HS256 JWT, `expiresIn` seconds) and a refresh token. Access tokens stop working within 5 s of a change to their user (role, password, disable, delete).',
    problems: ['invalid-credentials', 'account-disabled', 'rate-limited'],
  },
  'POST /v1/auth/refresh': {
    operationId: 'refreshSession',
    description:
      'Exchanges a refresh token for a new access token and a new refresh token. Each refresh token works once: presenting a used one again revokes the whole session (refresh token rotation).',
    problems: ['unauthorized'],
  },
  'POST /v1/auth/logout': {
    operationId: 'logOut',
    description:
      'Revokes the session of a refresh token (every token of its rotation). Answers 204 whether or not the token was known, so it tells nothing about tokens.',
  },
  'GET /v1/setup': {
    operationId: 'getSetupState',
    description:
      'Whether the installation still needs its first admin (the console shows its setup page then).',
    problems: ['rate-limited'],
  },
  'POST /v1/setup': {
    operationId: 'createFirstAdmin',
    description: 'Creates the first admin with the one-time setup token that `stampede serve` prints; once.',
    problems: ['invalid-setup-token', 'setup-done', 'rate-limited'],
  },
  'GET /v1/users': {
    operationId: 'listUsers',
    description: 'Accounts, newest first, optionally of one role; keyset pagination with `cursor`.',
  },
  'POST /v1/users': {
    operationId: 'createUser',
    description: 'Creates an account of any role (admin, service, user).',
    problems: ['email-taken'],
  },
  'PATCH /v1/users/{id}': {
    operationId: 'updateUser',
    description: 'Changes the role or password of an account, or disables / enables it.',
    problems: ['not-found', 'last-admin'],
  },
  'DELETE /v1/users/{id}': {
    operationId: 'deleteUser',
    description: 'Deletes an account. The last enabled admin cannot be deleted.',
    problems: ['not-found', 'last-admin'],
  },
  'POST /v1/campaigns': {
    operationId: 'createCampaign',
    description:
      'Creates a campaign: stock, per-user limit, claim window, discount, coupon validity and spend budget.',
  },
  'GET /v1/campaigns': {
    operationId: 'listCampaigns',
    description:
      'Campaigns, newest first, optionally of one status and whose name contains `q` (any case); drafts only for admins.',
  },
  'GET /v1/campaigns/{id}': {
    operationId: 'getCampaign',
    description:
      'A campaign with its issued and remaining counts; a draft is not found unless you are an admin.',
    problems: ['not-found'],
  },
  'PATCH /v1/campaigns/{id}': {
    operationId: 'updateCampaign',
    description:
      'Suspends, resumes or ends a campaign, or changes its window, stock, spend budget or name; a budget below `redeemedAmount` is refused.',
    problems: ['not-found', 'invalid-transition'],
  },
  'DELETE /v1/campaigns/{id}': {
    operationId: 'deleteCampaign',
    description: 'Soft-deletes a campaign; it can be restored until it is archived (ARCHIVE_AFTER).',
    problems: ['not-found'],
  },
  'POST /v1/campaigns/{id}/restore': {
    operationId: 'restoreCampaign',
    description: 'Undoes a soft delete within the retention period.',
    problems: ['not-found', 'retention-expired'],
  },
  'POST /v1/campaigns/{id}/claims': {
    operationId: 'claimCoupon',
    description:
      'Claims a coupon of the campaign for a user: 201 with the coupon, or 202 with a pending claim (redis-gate).',
    problems: ['not-found', 'sold-out', 'already-claimed', 'campaign-not-active', 'rate-limited'],
  },
  'GET /v1/claims/{id}': {
    operationId: 'getClaim',
    description:
      'A pending claim (redis-gate): pending, issued with its coupon, or failed with a reason code.',
    problems: ['not-found'],
  },
  'GET /v1/me/coupons': {
    operationId: 'listMyCoupons',
    description: "The caller's coupons (or, for admins and services, `userId`'s), newest first.",
  },
  'GET /v1/coupons': {
    operationId: 'searchCoupons',
    description: 'Searches coupons by campaign, user, code, status and dates; keyset pagination.',
  },
  'POST /v1/redemptions': {
    operationId: 'redeem',
    description: 'Redeems a coupon or a code for an order. Honours `Idempotency-Key`.',
    problems: [
      'not-found',
      'already-redeemed',
      'coupon-expired',
      'coupon-revoked',
      'campaign-not-active',
      'order-amount-too-low',
      'budget-exhausted',
      'sold-out',
      'already-claimed',
      'idempotency-key-reused',
      'idempotency-key-in-use',
      'rate-limited',
    ],
  },
  'GET /v1/redemptions': {
    operationId: 'searchRedemptions',
    description:
      'Redemptions of a coupon (`couponId`), of a generated code (`code`) or of an order (`orderId`), at least one ' +
      'given, each with its campaign, amounts and status (completed or rolled_back); newest first, keyset pagination.',
  },
  'POST /v1/redemptions/validate': {
    operationId: 'validateRedemption',
    description:
      'Says whether a coupon or code would be accepted for an order, and its discount; changes nothing.',
    problems: ['not-found', 'rate-limited'],
  },
  'POST /v1/redemptions/{id}/rollback': {
    operationId: 'rollBackRedemption',
    description: 'Undoes a redemption (a cancelled order): the coupon can be redeemed again.',
    problems: ['not-found', 'already-rolled-back'],
  },
  'GET /v1/dead-letters': {
    operationId: 'listDeadLetters',
    description:
      'Claims the redis-gate worker could not persist, newest first, optionally of one campaign: each with its ' +
      'stable `reason` code and, for admins, the stored error text. Empty where no redis-gate ran.',
  },
  'POST /v1/dead-letters/{id}/retry': {
    operationId: 'retryDeadLetter',
    description:
      "Puts a dead letter's claim back into its campaign stream for the worker, then deletes the dead letter " +
      '(as `stampede dead-letters retry --id`). Needs a server running the redis-gate.',
    problems: ['not-found', 'gate-not-configured', 'not-retryable'],
  },
  'POST /v1/campaigns/{id}/codes': {
    operationId: 'generateCodes',
    description: 'Generates unique codes: 201 with them up to 10,000, otherwise 202 with a job to follow.',
    problems: ['not-found', 'code-taken'],
  },
  'PUT /v1/campaigns/{id}/shared-code': {
    operationId: 'setSharedCode',
    description: "Sets the campaign's shared (public) code.",
    problems: ['not-found', 'code-taken'],
  },
  'GET /v1/campaigns/{id}/codes.csv': {
    operationId: 'exportCodes',
    description: "Streams the campaign's codes as CSV.",
    problems: ['not-found'],
  },
  'GET /v1/jobs/{id}': {
    operationId: 'getJob',
    description: 'Progress of a code generation or archival job.',
    problems: ['not-found'],
  },
  'GET /v1/archive/coupons': {
    operationId: 'findArchivedCoupon',
    description: 'Finds an archived coupon by its code.',
    problems: ['not-found'],
  },
  'GET /v1/campaigns/{id}/live': {
    operationId: 'followCampaignLive',
    description:
      'A text/event-stream: every second a message whose data is a LiveFrame (JSON) — issued and ' +
      'remaining stock, claims by outcome and per second, the sold-out moment, redemptions per second, ' +
      'the redis-gate backlog. Figures come from the database and Redis, so they agree whichever API ' +
      'process serves the stream.',
    problems: ['not-found'],
  },
  'POST /v1/webhooks': {
    operationId: 'createWebhook',
    description:
      'Creates a webhook endpoint subscribed to `events` and returns it with its signing secret ' +
      '(`whsec_…`, shown only here). Deliveries follow the Standard Webhooks specification. URLs on ' +
      'loopback, private or link-local addresses are refused unless WEBHOOK_ALLOW_PRIVATE_URLS=true.',
  },
  'GET /v1/webhooks': {
    operationId: 'listWebhooks',
    description: 'Webhook endpoints, newest first; keyset pagination with `cursor`. Secrets are not shown.',
  },
  'GET /v1/webhooks/{id}': {
    operationId: 'getWebhook',
    description: 'A webhook endpoint (without its secret).',
    problems: ['not-found'],
  },
  'PATCH /v1/webhooks/{id}': {
    operationId: 'updateWebhook',
    description:
      'Changes the URL, events or description of an endpoint, or disables / enables it (enabling one ' +
      'disabled by a 410 answer resumes its pending deliveries).',
    problems: ['not-found'],
  },
  'DELETE /v1/webhooks/{id}': {
    operationId: 'deleteWebhook',
    description: 'Deletes a webhook endpoint and its deliveries.',
    problems: ['not-found'],
  },
  'POST /v1/webhooks/{id}/rotate-secret': {
    operationId: 'rotateWebhookSecret',
    description:
      'Gives the endpoint a new secret, returned once; for 24 h deliveries carry two signatures, ' +
      'by the new and the previous secret.',
    problems: ['not-found'],
  },
  'GET /v1/webhooks/{id}/deliveries': {
    operationId: 'listWebhookDeliveries',
    description:
      "The endpoint's deliveries, newest first: status, attempts, last response code and time, next attempt.",
    problems: ['not-found'],
  },
  'POST /v1/webhooks/{id}/deliveries/{deliveryId}/retry': {
    operationId: 'retryWebhookDelivery',
    description: 'Makes a delivery due now, also a delivered or failed one (same webhook-id).',
    problems: ['not-found', 'delivery-in-flight'],
  },
};

/** The description of a success response by status. */
const SUCCESS: Record<string, string> = {
  '200': 'OK',
  '201': 'Created',
  '202': 'Accepted: the work goes on in the background',
  '204': 'Done, no content',
};

interface Operation {
  operationId?: string;
  summary?: string;
  description?: string;
  security?: unknown[];
  parameters?: unknown[];
  requestBody?: unknown;
  responses: Record<string, { description?: string; content?: Record<string, unknown> }>;
}

/**
 * The codes an operation can answer: its own, plus validation for any input, authentication and
 * authorization when secured, and overload and internal errors for all.
 */
function problemsOf(operation: Operation, doc: OperationDoc): ErrorCode[] {
  const codes = new Set<ErrorCode>(doc.problems);
  if (operation.parameters?.length || operation.requestBody) codes.add('validation-failed');
  if (operation.requestBody) {
    codes.add('unsupported-media-type');
    codes.add('payload-too-large');
  }
  if (operation.security?.length) {
    codes.add('unauthorized');
    codes.add('forbidden');
  }
  codes.add('service-unavailable');
  codes.add('internal');
  return [...codes];
}

/**
 * Applies {@link OPERATIONS} to the generated document (in place) and adds `servers`.
 * @throws Error naming an operation missing from the table.
 */
export function finishOpenApiDocument<T extends { paths?: Record<string, Record<string, unknown>> }>(
  document: T,
): T {
  for (const [path, methods] of Object.entries(document.paths ?? {})) {
    for (const [method, value] of Object.entries(methods)) {
      const operation = value as Operation;
      const key = `${method.toUpperCase()} ${path}`;
      const doc = OPERATIONS[key];
      if (!doc) throw new Error(`src/app/openapi.ts has no entry for ${key}`);
      operation.operationId = doc.operationId;
      operation.description = doc.description;
      operation.security ??= [];
      const responses: Operation['responses'] = {};
      for (const [status, response] of Object.entries(operation.responses)) {
        if (/^[45]XX$/i.test(status)) continue;
        responses[status] = { ...response, description: SUCCESS[status] ?? response.description ?? 'OK' };
      }
      const byStatus = new Map<number, ErrorCode[]>();
      for (const code of problemsOf(operation, doc)) {
        const status = STATUS_BY_CODE[code];
        byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
      }
      for (const [status, codes] of [...byStatus].sort(([a], [b]) => a - b)) {
        responses[String(status)] = {
          description: codes.map((code) => `\`${code}\`: ${ERROR_CODES[code]}`).join('; '),
          content: {
            [PROBLEM_CONTENT_TYPE.split(';')[0]!]: { schema: { $ref: '#/components/schemas/Problem' } },
          },
        };
      }
      operation.responses = responses;
    }
  }
  return document;
}
