/** The conformance suite on the database strategies (db-atomic, db-lock, db-batch), PostgreSQL and PGlite. */
import { ENGINES } from '../support/database.js';
import { DB_HARNESSES } from './strategies.js';
import { conformanceSuite } from './suite.js';

conformanceSuite(ENGINES, DB_HARNESSES);
