/**
 * Writes `.env.example` from the configuration schema: every setting, its description and its
 * default, commented out. `npx tsx scripts/env-example.ts > .env.example` regenerates it;
 * test/readme.test.ts fails when the file and the schema disagree.
 */
import { fileURLToPath } from 'node:url';
import { CONFIG_VARIABLES } from '../src/config.js';

/** The text of `.env.example`. */
export function envExample(): string {
  const lines = [
    '# Stampede settings, one per environment variable (src/config.ts), each shown with its default.',
    '# Copy to .env, uncomment what you change, and start with: node --env-file=.env dist/main.js serve',
    '',
  ];
  for (const variable of CONFIG_VARIABLES) {
    if (variable.description) lines.push(`# ${variable.description}`);
    lines.push(`# ${variable.name}=${variable.default === undefined ? '' : String(variable.default)}`, '');
  }
  return lines.join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) process.stdout.write(envExample());
