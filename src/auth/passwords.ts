/**
 * Password hashing with Argon2id (memory-hard), through @node-rs/argon2.
 *
 * Parameters follow the OWASP Password Storage Cheat Sheet's first Argon2id option:
 * m = 19 MiB, t = 2, p = 1. Hashes are PHC strings, so the parameters travel with each hash and
 * can be raised later without invalidating stored passwords.
 */
import { hash, verify } from '@node-rs/argon2';

/** `Algorithm.Argon2id` of @node-rs/argon2 (a const enum, which isolated modules cannot import). */
const ARGON2ID = 2;
const OPTIONS = { algorithm: ARGON2ID, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

/** A hash of a throw-away password, verified against when an email is unknown (equal timing). */
let dummyHash: Promise<string> | undefined;

/** Hashes a password into a PHC string (`$argon2id$v=19$m=19456,t=2,p=1$…`). ~20–40 ms of CPU. */
export function hashPassword(password: string): Promise<string> {
  return hash(password, OPTIONS);
}

/**
 * Verifies a password against a stored PHC hash. With `storedHash` undefined (unknown user) it
 * still spends the time of one verification and returns false, so timing does not reveal
 * which emails are registered.
 */
export async function verifyPassword(storedHash: string | undefined, password: string): Promise<boolean> {
  if (storedHash === undefined) {
    dummyHash ??= hashPassword('stampede-dummy-password');
    await verify(await dummyHash, password).catch(() => false);
    return false;
  }
  return verify(storedHash, password).catch(() => false);
}
