/** Keeps the README true where it can be checked mechanically. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
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

  it('gives the two set-up commands of the quick start', () => {
    expect(readme).toContain('npm install && npm start');
    expect(readme).toContain('npm install && npm test');
  });
});
