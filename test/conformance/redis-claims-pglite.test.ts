/** The conformance suite on the Redis strategies (redis-lock, redis-gate) with the test Redis, PGlite. */
import { redisHarnesses } from './strategies.js';
import { conformanceSuite } from './suite.js';

conformanceSuite(['pglite'], redisHarnesses());
