/** Keeps the README true where it can be checked mechanically. */
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { envExample } from '../scripts/env-example.js';
import { CONFIG_VARIABLES } from '../src/config.js';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');

describe('README', () => {
  it('documents every configuration variable with its default', () => {
    // Table rows as trimmed cells (the formatter pads Markdown tables).
    const rows = readme
      .split('\n')
      .filter((line) => line.startsWith('|'))
      .map((line) => line.split('|').map((cell) => cell.trim()));
    for (const variable of CONFIG_VARIABLES) {
      const row = rows.find((cells) => cells[1] === `\`${variable.name}\``);
      expect(row, `README row for ${variable.name}`).toBeDefined();
      if (variable.default !== undefined) expect(row?.[2]).toBe(`\`${variable.default}\``);
    }
  });

  it('has a .env.example that lists every setting with its default (npx tsx scripts/env-example.ts)', () => {
    const example = readFileSync(new URL('../.env.example', import.meta.url), 'utf8');
    expect(example).toBe(envExample());
    for (const variable of CONFIG_VARIABLES) expect(example).toContain(`# ${variable.name}=`);
  });

  it('ships the MIT licence that package.json names', () => {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
    expect(pkg.license).toBe('MIT');
    expect(readFileSync(new URL('../LICENSE', import.meta.url), 'utf8')).toMatch(/^MIT License/);
  });

  it('links only to files of the repository (no link leaves a clone)', () => {
    expect(readme).not.toContain('../shared');
    const targets = [...readme.matchAll(/\]\(([^)#\s]+)(#[^)]*)?\)/g)].map((match) => match[1]!);
    const local = targets.filter((target) => !/^[a-z]+:/.test(target));
    expect(local.length).toBeGreaterThan(0);
    for (const target of local)
      expect(existsSync(new URL(`../${target}`, import.meta.url)), target).toBe(true);
  });

  it('gives the two set-up commands of the quick start', () => {
    expect(readme).toContain('npm install && npm start');
    expect(readme).toContain('npm install && npm test');
  });
});
