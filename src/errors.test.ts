import { describe, expect, it } from 'vitest';
import { DomainError } from './errors.js';

describe('DomainError', () => {
  it('builds an answer to the client (a refusal) without stack frames, and a fault with them', () => {
    const refusal = new DomainError('sold-out');
    expect(refusal.stack).toBe('DomainError: The campaign has no stock left');
    const fault = new DomainError('internal', 'broken');
    expect(fault.stack).toMatch(/^DomainError: broken\n\s+at /);
  });

  it('leaves the stack trace limit of other errors as it was', () => {
    const limit = Error.stackTraceLimit;
    new DomainError('not-found');
    expect(Error.stackTraceLimit).toBe(limit);
    expect(new Error('other').stack).toMatch(/\n\s+at /);
  });
});
