/** anogen's version, read from the package.json above this file (src/ or dist/src/). */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

function findVersion(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const p = path.join(dir, 'package.json');
    if (fs.existsSync(p)) {
      try {
        const j = JSON.parse(fs.readFileSync(p, 'utf8')) as { name?: string; version?: string };
        if (j.name === 'anogen' && typeof j.version === 'string') return j.version;
      } catch {
        /* keep looking */
      }
    }
    dir = path.dirname(dir);
  }
  return '0.0.0';
}

/** The anogen version (package.json's "version"). */
export const ANOGEN_VERSION: string = findVersion();
