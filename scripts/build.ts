/**
 * `npm run build`: compiles the package into `dist/` (JavaScript with `.d.ts` declarations, since
 * Node does not strip types inside `node_modules`), copies the lab's non-TypeScript files and makes
 * the `stepops` bin executable. TypeScript 7 emits both, rewriting `./x.ts` imports to `./x.js`.
 *
 * The stacks type-check against SST's platform types (`.sst/platform`), so `sst install` runs
 * first when they are missing (offline, about a minute the first time).
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, cpSync, rmSync } from 'node:fs';
import path from 'node:path';
import { ensureSstPlatform } from '../tests/infra/sst-install.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const DIST = path.join(ROOT, 'dist');

/** Files the compiled code reads at run time that are not TypeScript (the demo's lab). */
export const ASSETS = ['lab/app/server.mjs', 'lab/app/README.md', 'lab/bin/app-ctl.sh'];

/** The compiled `stepops` command (the package's bin). */
export const BIN = path.join(DIST, 'cli', 'stepops.js');

/**
 * Builds `dist/` from scratch.
 *
 * @example
 * build(); // dist/cli/stepops.js, dist/index.js, dist/stacks/index.js, … with .d.ts beside each
 */
export function build(): void {
  ensureSstPlatform();
  rmSync(DIST, { recursive: true, force: true });
  execFileSync(
    process.execPath,
    [path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'],
    { cwd: ROOT, stdio: 'inherit' },
  );
  for (const asset of ASSETS) {
    cpSync(path.join(ROOT, asset), path.join(DIST, asset), { preserveTimestamps: true });
  }
  chmodSync(BIN, 0o755);
}

if (import.meta.main) build();
