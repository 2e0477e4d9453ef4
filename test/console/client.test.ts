/**
 * The typed client package (packages/client): its generated files match the server's live OpenAPI
 * document, and it works against a real listening server.
 */
import { readFileSync } from 'node:fs';
import { createStampedeClient, isProblem } from '@stampede/client';
import { beforeAll, describe, expect, it } from 'vitest';
import { CLIENT_FILES, clientFiles, liveOpenApiDocument } from '../../scripts/generate-client.js';
import { hashPassword } from '../../src/auth/passwords.js';
import { upsertUser } from '../../src/auth/users.js';
import { useTestApp } from '../helpers/app.js';

/** A campaign body, typed by the generated schema. */
const SALE = {
  name: 'Sale',
  totalQuantity: 5,
  perUserLimit: 1,
  status: 'active',
  discount: { type: 'fixed', amount: 500 },
} as const;

describe('typed client', () => {
  it('is generated from the live OpenAPI document (run npm run client:generate when this fails)', async () => {
    const files = await clientFiles(await liveOpenApiDocument());
    expect(readFileSync(CLIENT_FILES.openapi, 'utf8')).toBe(files.openapi);
    expect(readFileSync(CLIENT_FILES.schema, 'utf8')).toBe(files.schema);
  });

  describe('against a real server', () => {
    const t = useTestApp('pglite');
    let address = '';
    beforeAll(async () => {
      address = await t.app.listen({ port: 0, host: '127.0.0.1' });
    });

    it('signs in, creates a campaign and lists it', async () => {
      await upsertUser(t.database.db, {
        email: 'client-admin@example.com',
        passwordHash: await hashPassword('client-password'),
        role: 'admin',
      });
      let token: string | undefined;
      const stampede = createStampedeClient(address, () => token);

      const login = await stampede.POST('/v1/auth/login', {
        body: { email: 'client-admin@example.com', password: 'client-password' },
      });
      expect(login.error).toBeUndefined();
      token = login.data?.accessToken;
      expect(login.data?.user.role).toBe('admin');

      const created = await stampede.POST('/v1/campaigns', {
        body: { ...SALE, name: 'Client sale' },
      });
      expect(created.response.status).toBe(201);

      const list = await stampede.GET('/v1/campaigns', { params: { query: { limit: 10 } } });
      expect(list.data?.items.map((campaign) => campaign.name)).toContain('Client sale');
      expect(list.data?.items.find((campaign) => campaign.id === created.data?.id)?.remaining).toBe(5);
    });

    it('returns the problem body, naming the field, on a refused request', async () => {
      const stampede = createStampedeClient(address, () => t.adminToken);
      const refused = await stampede.POST('/v1/campaigns', {
        body: { ...SALE, totalQuantity: 0 },
      });
      expect(refused.response.status).toBe(400);
      expect(isProblem(refused.error)).toBe(true);
      expect(refused.error?.errors?.map((error) => error.field)).toContain('body/totalQuantity');
    });
  });
});
