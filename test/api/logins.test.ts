/**
 * Failed logins and signups are throttled (issue 12, item 3), with the counters in this process
 * and in Redis: logins per email and per client IP, only failures counting, a locked key refusing
 * even the right password with 429 + Retry-After, the lock growing with each attempt made during
 * it, the refusals counted in the metrics; signups per client IP.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { Config } from '../../src/config.js';
import { problemOf, useTestApp } from '../helpers/app.js';
import { sampleValue } from '../helpers/prometheus.js';
import { dropPrefix, testRedisConfig } from '../support/redis.js';

const LIMITS: Config['loginFailureLimit'] = { max: 3, ipMax: 8, windowMs: 60_000 };
const PASSWORD = 'correct horse battery';

describe.each([
  ['in-process counters', {}],
  ['Redis counters', { redis: testRedisConfig() }],
])('failed logins with %s', (_label, redis) => {
  const t = useTestApp('postgres', { config: { ...redis, loginFailureLimit: LIMITS } });
  afterAll(async () => {
    if (t.app?.services.redis) await dropPrefix(t.app.services.redis);
  });

  const signUp = (email: string) =>
    t.app.inject({ method: 'POST', url: '/v1/auth/signup', payload: { email, password: PASSWORD } });
  const logIn = (email: string, password: string) =>
    t.app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email, password } });
  const throttled = async () =>
    sampleValue(
      (await t.app.inject({ method: 'GET', url: '/metrics' })).body,
      'stampede_rate_limited_requests_total',
      {
        route: '/v1/auth/login',
      },
    );

  it('never counts successful logins', async () => {
    expect((await signUp('regular@example.com')).statusCode).toBe(201);
    for (let i = 0; i < 6; i++) expect((await logIn('regular@example.com', PASSWORD)).statusCode).toBe(200);
  });

  it('locks an email after 3 failures, even against the right password, with a growing Retry-After', async () => {
    expect((await signUp('target@example.com')).statusCode).toBe(201);
    const before = await throttled();
    for (let i = 0; i < 3; i++)
      expect((await logIn('target@example.com', `wrong-${i}-pass`)).statusCode).toBe(401);
    const locked = await logIn('Target@Example.com', PASSWORD);
    expect(problemOf(locked)).toMatchObject({ status: 429, body: { code: 'rate-limited' } });
    const firstWait = Number(locked.headers['retry-after']);
    const again = await logIn('target@example.com', PASSWORD);
    expect(problemOf(again).status).toBe(429);
    expect(Number(again.headers['retry-after'])).toBeGreaterThan(firstWait);
    expect((await throttled()) - before).toBe(2);
    // Another account is not locked by this one's failures.
    expect((await signUp('neighbour@example.com')).statusCode).toBe(201);
    expect((await logIn('neighbour@example.com', PASSWORD)).statusCode).toBe(200);
  });

  it('holds a burst of 30 concurrent bogus logins to the limit: 3 reach the password check', async () => {
    const burst = await Promise.all(
      Array.from({ length: 30 }, () =>
        t.app.inject({
          method: 'POST',
          url: '/v1/auth/login',
          remoteAddress: '10.1.0.1',
          payload: { email: 'burst@example.com', password: 'wrong-pass' },
        }),
      ),
    );
    const statuses = burst.map((response) => response.statusCode).sort();
    expect(statuses).toEqual([...Array(3).fill(401), ...Array(27).fill(429)]);
  });

  it('locks a client IP after 8 failures spread over many emails', async () => {
    // Unknown emails fail like wrong passwords; other tests of this file may have spent some of
    // the IP's 8 failures already, so: 9 attempts, and once locked, locked.
    const statuses: number[] = [];
    for (let i = 0; i < 9; i++)
      statuses.push((await logIn(`nobody-${i}@example.com`, 'wrong-pass')).statusCode);
    const firstLocked = statuses.indexOf(429);
    expect(firstLocked).toBeGreaterThan(0);
    expect(statuses.slice(0, firstLocked).every((status) => status === 401)).toBe(true);
    expect(statuses.slice(firstLocked).every((status) => status === 429)).toBe(true);
    expect(problemOf(await logIn('regular@example.com', PASSWORD)).status).toBe(429);
  });
});

describe('signups', () => {
  const t = useTestApp('postgres', { config: { signupRateLimit: { max: 4, windowMs: 60_000 } } });

  it('limits signups per client IP with 429 + Retry-After', async () => {
    const answers = [];
    for (let i = 0; i < 6; i++) {
      answers.push(
        await t.app.inject({
          method: 'POST',
          url: '/v1/auth/signup',
          payload: { email: `newcomer-${i}@example.com`, password: PASSWORD },
        }),
      );
    }
    expect(answers.map((a) => a.statusCode)).toEqual([201, 201, 201, 201, 429, 429]);
    expect(problemOf(answers[4]!).body.code).toBe('rate-limited');
    expect(Number(answers[4]!.headers['retry-after'])).toBeGreaterThanOrEqual(1);
  });
});
