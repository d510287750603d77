/**
 * `sst install`, offline and cached: writes `.sst/platform/` (config.d.ts for `tsc`, SST's components,
 * and `@pulumi/pulumi` and `@pulumi/aws` in its node_modules). It needs the npm registry only (no AWS,
 * no Pulumi plugin downloads). Skipped when `.sst/platform/config.d.ts` is newer than
 * `sst.config.ts` and `package-lock.json`.
 *
 * Run it directly (`node tests/infra/sst-install.ts`) or as the vitest global setup of the infra tests.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const MARKER = path.join(ROOT, '.sst', 'platform', 'config.d.ts');
const INPUTS = ['sst.config.ts', 'package-lock.json'].map((f) => path.join(ROOT, f));

/** Whether `.sst/platform` is missing or older than what it was installed from. */
export function installNeeded(): boolean {
  if (
    !existsSync(MARKER) ||
    !existsSync(path.join(ROOT, '.sst', 'platform', 'node_modules', '@pulumi', 'aws'))
  ) {
    return true;
  }
  const installed = statSync(MARKER).mtimeMs;
  return INPUTS.some((file) => existsSync(file) && statSync(file).mtimeMs > installed);
}

/**
 * Runs `sst install` with the offline flags unless the platform is up to date.
 *
 * @example
 * ensureSstPlatform(); // ~1 minute the first time, instant afterwards
 */
export function ensureSstPlatform(stage = 'test'): void {
  if (!installNeeded()) return;
  const started = Date.now();
  process.stderr.write('stepops: sst install (offline; first run takes about a minute)\n');
  execFileSync(process.execPath, [path.join(ROOT, 'node_modules', 'sst', 'bin', 'sst.mjs'), 'install'], {
    cwd: ROOT,
    stdio: ['ignore', 'inherit', 'inherit'],
    env: {
      ...process.env,
      SST_SKIP_DEPENDENCY_CHECK: '1',
      SST_NO_BUN: '1',
      SST_TELEMETRY_DISABLED: '1',
      SST_STAGE: stage,
      // The platform's npm install must not pick up the repository's allowScripts policy.
      PATH: `${path.dirname(process.execPath)}${path.delimiter}${process.env.PATH ?? ''}`,
    },
    timeout: 10 * 60 * 1000,
  });
  if (!existsSync(MARKER)) throw new Error('sst install finished without writing .sst/platform/config.d.ts');
  process.stderr.write(`stepops: sst install done in ${Math.round((Date.now() - started) / 1000)} s\n`);
}

/** Vitest global setup. */
export function setup(): void {
  ensureSstPlatform();
}

if (import.meta.main) ensureSstPlatform(process.argv[2]);
