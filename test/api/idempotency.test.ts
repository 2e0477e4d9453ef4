/** Expiry of idempotency keys, on PostgreSQL and PGlite. */
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryRows } from '../../src/db/client.js';
import { purgeExpiredKeys } from '../../src/idempotency/store.js';
import { createTestDatabase, ENGINES, type TestDatabase } from '../support/database.js';

describe.each(ENGINES)('idempotency key expiry on %s', (engine) => {
  let database: TestDatabase;

  beforeAll(async () => {
    database = await createTestDatabase(engine);
  });
  afterAll(async () => {
    await database?.close();
  });

  it('purges keys older than 24 hours and keeps younger ones', async () => {
    await database.db.execute(
      sql`INSERT INTO idempotency_keys (principal, key, request_hash, response_status, created_at) VALUES
            ('p', 'old', 'h', 201, now() - interval '25 hours'),
            ('p', 'young', 'h', 201, now() - interval '23 hours')`,
    );
    expect(await purgeExpiredKeys(database.db)).toBe(1);
    const left = await queryRows<{ key: string }>(database.db, sql`SELECT key FROM idempotency_keys`);
    expect(left.map((row) => row.key)).toEqual(['young']);
  });
});
