/** `stampede users add --email E --password P [--role admin|service|user]`: creates or updates a user. */
import type { Command } from 'commander';
import { Option } from 'commander';
import { openRuntime } from '../app/runtime.js';
import { hashPassword } from '../auth/passwords.js';
import { announcePrincipalChange } from '../auth/principals.js';
import { revokeUserRefreshTokens } from '../auth/refresh-tokens.js';
import { upsertUser } from '../auth/users.js';
import { loadConfig } from '../config.js';
import { ROLES, type Role } from '../http/auth.js';
import { Email, Password } from '../http/schemas.js';
import { valueChecker } from '../http/validation.js';
import { matching } from './options.js';

const checkPassword = valueChecker(Password);

export function registerUsers(program: Command): void {
  const users = program.command('users').description('manage user accounts');
  users
    .command('add')
    .description('create a user, or set the password and role of an existing one (idempotent)')
    .requiredOption('--email <email>', 'email address (case-insensitive)', matching<string>(Email))
    // Checked in the action, not by a parser: commander would print a refused value, a password.
    .requiredOption('--password <password>', 'password, 8 to 256 characters')
    .addOption(new Option('--role <role>', 'role').choices(ROLES).default('user'))
    .action(async (options: { email: string; password: string; role: Role }) => {
      const refused = checkPassword(options.password);
      if ('message' in refused) program.error(`error: option '--password <password>' ${refused.message}`);
      const runtime = await openRuntime(loadConfig(), { command: 'users add' });
      try {
        const passwordHash = await hashPassword(options.password);
        const { user, created } = await upsertUser(runtime.database.db, {
          email: options.email,
          passwordHash,
          role: options.role,
        });
        if (!created) {
          // A new password or role ends the account's sessions, as the users API does.
          await revokeUserRefreshTokens(runtime.database.db, user.id);
          await announcePrincipalChange(runtime.database, user.id);
        }
        console.log(`${created ? 'created' : 'updated'} ${user.role} ${user.email} (${user.id})`);
      } finally {
        await runtime.close();
      }
    });
}
