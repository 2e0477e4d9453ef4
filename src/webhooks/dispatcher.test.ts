import { describe, expect, it } from 'vitest';
import { leaseMsFor, outcomeOf, RETRY_SCHEDULE_MS, retryDelayMs } from './dispatcher.js';
import { refusedAddress } from './ssrf.js';

describe('webhook retry schedule', () => {
  it('follows 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h, then gives up after the 8th attempt', () => {
    const delays = [1, 2, 3, 4, 5, 6, 7].map((attempts) => retryDelayMs(attempts, 5000));
    expect(delays).toEqual([5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000]);
    expect(retryDelayMs(8, 5000)).toBeUndefined();
    expect(outcomeOf(500, 8, 5000)).toMatchObject({ status: 'failed', statusCode: 500 });
  });

  it('scales the whole schedule with WEBHOOK_RETRY_BASE_MS', () => {
    expect(RETRY_SCHEDULE_MS.map((_, i) => retryDelayMs(i + 1, 10))).toEqual([
      10, 600, 3600, 14_400, 36_000, 72_000, 72_000,
    ]);
  });

  it('delivers on 2xx, retries other answers, and disables the endpoint on 410', () => {
    expect(outcomeOf(204, 1, 5000)).toEqual({ status: 'delivered', statusCode: 204, error: null });
    expect(outcomeOf(301, 1, 5000)).toMatchObject({ status: 'retry', retryInMs: 5000, statusCode: 301 });
    expect(outcomeOf(503, 2, 5000)).toMatchObject({ status: 'retry', retryInMs: 300_000 });
    expect(outcomeOf(410, 1, 5000)).toMatchObject({
      status: 'failed',
      disableEndpoint: expect.stringContaining('410'),
    });
  });

  it('leases a delivery for longer than its request can last', () => {
    expect(leaseMsFor(15_000)).toBeGreaterThan(15_000);
  });
});

describe('webhook address guard', () => {
  it('refuses loopback, private, link-local, unique-local, CGNAT, multicast and unspecified addresses', () => {
    for (const address of [
      '127.0.0.1',
      '10.0.0.1',
      '172.16.5.4',
      '192.168.1.1',
      '169.254.169.254',
      '100.64.0.1',
      '224.0.0.1',
      '0.0.0.0',
      '::1',
      '::',
      'fe80::1',
      'fd12:3456::1',
      '::ffff:127.0.0.1',
    ]) {
      expect(refusedAddress(address), address).toBeDefined();
    }
  });

  it('accepts public unicast addresses', () => {
    for (const address of ['1.1.1.1', '8.8.8.8', '2606:4700:4700::1111'])
      expect(refusedAddress(address)).toBeUndefined();
  });
});
