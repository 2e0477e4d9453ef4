/**
 * Standard Webhooks signing
 * (https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md):
 * secrets are `whsec_` + base64 of 32 random bytes; a delivery carries `webhook-id`,
 * `webhook-timestamp` (Unix seconds) and `webhook-signature`, `v1,<base64 HMAC-SHA256>` over
 * `{id}.{timestamp}.{body}` keyed with the secret's decoded bytes, one per valid secret,
 * space-separated. The HMAC is computed by the reference library `standardwebhooks`.
 */
import { randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';

/** Random bytes in a new secret (the specification asks for 24 to 64). */
const SECRET_BYTES = 32;

/** A new endpoint secret: `whsec_` + base64 of {@link SECRET_BYTES} random bytes. */
export function newSecret(): string {
  return `whsec_${randomBytes(SECRET_BYTES).toString('base64')}`;
}

/** The three headers of one delivery attempt. */
export interface SignedHeaders {
  'webhook-id': string;
  'webhook-timestamp': string;
  'webhook-signature': string;
}

/**
 * Headers signing `body` for message `id` at `at` with every secret of `secrets` (the current one
 * first; the previous one too while a rotation's grace period lasts).
 */
export function signDelivery(id: string, at: Date, body: string, secrets: string[]): SignedHeaders {
  const seconds = Math.floor(at.getTime() / 1000);
  const signatures = secrets.map((secret) => new Webhook(secret).sign(id, new Date(seconds * 1000), body));
  return {
    'webhook-id': id,
    'webhook-timestamp': String(seconds),
    'webhook-signature': signatures.join(' '),
  };
}
