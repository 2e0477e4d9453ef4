/**
 * Structured logs of a real app: one JSON object per line, a request id taken from
 * `x-request-id` (or generated) on every line of a request and echoed in the response, and no
 * secret (password, token, authorization header) anywhere in the output.
 */
import { describe, expect, it } from 'vitest';
import { loggerOptions } from '../../src/http/logging.js';
import { bearer, useTestApp } from '../helpers/app.js';

const lines: string[] = [];
const stream = { write: (line: string) => void lines.push(line) };
const records = () => lines.map((line) => JSON.parse(line) as Record<string, unknown>);

const t = useTestApp('pglite', { logger: loggerOptions('info', stream) });

describe('logs', () => {
  it('carry the caller x-request-id on every line of the request and echo it in the response', async () => {
    const response = await t.app.inject({
      method: 'GET',
      url: '/healthz',
      headers: { 'x-request-id': 'lb-7f3a.42' },
    });
    expect(response.headers['x-request-id']).toBe('lb-7f3a.42');
    const ofRequest = records().filter((record) => record.reqId === 'lb-7f3a.42');
    expect(ofRequest.map((record) => record.msg)).toEqual(['request completed']);
    expect(ofRequest[0]).toMatchObject({ method: 'GET', url: '/healthz', statusCode: 200 });
    expect(ofRequest.every((record) => typeof record.time === 'number' && record.level === 30)).toBe(true);
  });

  it('replace a malformed x-request-id with a fresh UUID, also in problem bodies', async () => {
    const response = await t.app.inject({
      method: 'GET',
      url: '/v1/no-such-route',
      headers: { 'x-request-id': 'has spaces\tand tabs' },
    });
    const id = response.headers['x-request-id'];
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect((response.json() as { requestId: string }).requestId).toBe(id);
  });

  it('never contain passwords, tokens or authorization headers', async () => {
    const password = 'correct-horse-battery-staple';
    const signup = await t.app.inject({
      method: 'POST',
      url: '/v1/auth/signup',
      payload: { email: 'logs@example.com', password },
    });
    expect(signup.statusCode).toBe(201);
    const login = await t.app.inject({
      method: 'POST',
      url: '/v1/auth/login',
      payload: { email: 'logs@example.com', password },
    });
    const token = (login.json() as { accessToken: string }).accessToken;
    expect(token).toEqual(expect.any(String));
    await t.app.inject({ method: 'GET', url: '/v1/me/coupons', headers: bearer(token) });
    // A careless log call that dumps a request, a body and a config: redaction still applies.
    const dumped = {
      request: { headers: { authorization: `Bearer ${token}`, accept: 'application/json' } },
      body: { password, email: 'logs@example.com' },
      token,
      config: { jwtSecret: password },
    };
    t.app.log.warn(dumped, 'careless');
    // The caller's objects are left as they were.
    expect(dumped.body.password).toBe(password);
    expect(dumped.request.headers.authorization).toBe(`Bearer ${token}`);

    const careless = records().find((record) => record.msg === 'careless');
    expect(careless).toMatchObject({
      request: { headers: { authorization: '[Redacted]', accept: 'application/json' } },
      body: { password: '[Redacted]', email: 'logs@example.com' },
      token: '[Redacted]',
      config: { jwtSecret: '[Redacted]' },
    });
    const all = lines.join('');
    expect(all).not.toContain(password);
    expect(all).not.toContain(token);
  });
});
