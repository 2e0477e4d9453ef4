// Copies the non-TypeScript files the runtime reads (Lua scripts) from src/ to dist/, keeping paths.
import { cpSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const ASSET = /\.lua$/;
function walk(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path);
    else if (ASSET.test(name)) cpSync(path, path.replace(/^src/, 'dist'));
  }
}
walk('src');
