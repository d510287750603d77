/**
 * Where local adapters keep their state: command logs, leases, the outbox.
 */
import path from 'node:path';
import { PROJECT_ROOT } from '../../config/load.ts';

/**
 * The stepops state directory: `$STEPOPS_HOME` when set (resolved against the working directory),
 * else `.stepops` at the repository root. Read on every call so tests can point it elsewhere.
 *
 * @example
 * const logs = path.join(stepopsHome(), 'commands');
 */
export function stepopsHome(): string {
  const fromEnv = process.env.STEPOPS_HOME;
  return fromEnv ? path.resolve(fromEnv) : path.join(PROJECT_ROOT, '.stepops');
}

/**
 * Turns an id such as `local:lab/app` into a safe file name (`local_lab_app`).
 *
 * @example
 * fileSafe('local:lab/app') // 'local_lab_app'
 */
export function fileSafe(id: string): string {
  const safe = id.replace(/[^A-Za-z0-9._-]/g, '_').replace(/^\.+/, '_');
  return safe.slice(0, 200) || '_';
}
