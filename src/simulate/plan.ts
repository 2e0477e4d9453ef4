/**
 * The scenario of a simulated flash sale, as pure functions of a seed: how many claims each user
 * sends and in which order the claims leave. The same seed gives the same schedule, so a run that
 * broke an invariant can be replayed with `--seed`.
 *
 * Impatient retries: all attempts of one user sit next to each other in the schedule, so with any
 * concurrency above 1 they are in flight together (the user hammering the button).
 */

/** A seeded pseudo-random generator returning floats in [0, 1). */
export type Random = () => number;

/**
 * mulberry32 (Tommy Ettinger, public domain): a 32-bit state generator, fast and good enough to
 * shuffle a schedule. Not for anything secret.
 */
export function seededRandom(seed: number): Random {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

export interface PlanOptions {
  /** Number of distinct simulated users (>= 1). */
  users: number;
  /** Maximum claims per user (1..255); each user sends a uniform 1..attempts. */
  attempts: number;
  seed: number;
}

export interface ClaimPlan {
  /** Claims in sending order: the index (0-based) of the user sending each claim. */
  userOfClaim: Uint32Array;
  /** Claims sent by each user, 1..attempts. */
  attemptsOfUser: Uint8Array;
}

/**
 * Builds the claim schedule: each user draws 1..attempts claims, users are shuffled
 * (Fisher–Yates), and each user's claims are consecutive.
 * @throws RangeError when `users` < 1 or `attempts` is outside 1..255.
 */
export function planClaims({ users, attempts, seed }: PlanOptions): ClaimPlan {
  if (!Number.isInteger(users) || users < 1) throw new RangeError('users must be a positive integer');
  if (!Number.isInteger(attempts) || attempts < 1 || attempts > 255) {
    throw new RangeError('attempts must be an integer from 1 to 255');
  }
  const random = seededRandom(seed);
  const attemptsOfUser = new Uint8Array(users);
  let total = 0;
  for (let user = 0; user < users; user++) {
    const count = 1 + Math.floor(random() * attempts);
    attemptsOfUser[user] = count;
    total += count;
  }
  const order = shuffledIndices(users, random);
  const userOfClaim = new Uint32Array(total);
  let next = 0;
  for (const user of order) {
    for (let attempt = attemptsOfUser[user]!; attempt > 0; attempt--) userOfClaim[next++] = user;
  }
  return { userOfClaim, attemptsOfUser };
}

/** 0..n-1 in a random order (Fisher–Yates). */
export function shuffledIndices(n: number, random: Random): Uint32Array {
  const indices = new Uint32Array(n);
  for (let i = 0; i < n; i++) indices[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const swap = indices[i]!;
    indices[i] = indices[j]!;
    indices[j] = swap;
  }
  return indices;
}

/**
 * Picks `size` distinct items of `items` at random (all of them when there are fewer), keeping
 * their original order so the sample reads naturally.
 */
export function sample<T>(items: readonly T[], size: number, random: Random): T[] {
  if (size >= items.length) return [...items];
  const picked = shuffledIndices(items.length, random).subarray(0, Math.max(0, size)).sort();
  return Array.from(picked, (index) => items[index]!);
}

/** The simulated shop user id of user index `user` (stable across runs, scoped by the fresh campaign). */
export function simulatedUserId(user: number): string {
  return `sim-${user}`;
}
