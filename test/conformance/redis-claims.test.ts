/** The conformance suite on the Redis strategies (redis-lock, redis-gate) with the test Redis. */
import { ENGINES } from '../helpers/database.js';
import { redisHarnesses } from './strategies.js';
import { conformanceSuite } from './suite.js';

conformanceSuite(ENGINES, redisHarnesses());
