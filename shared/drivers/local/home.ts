/**
 * Where local adapters keep their state: runs, command logs, leases, the outbox, the backup
 * catalogue and copies, health records.
 */
import path from 'node:path';

/**
 * The stepops state directory: `$STEPOPS_HOME` when set, else `.stepops` in the current directory
 * (both resolved against the working directory). Every command (`deploy`, `status`, `history`,
 * `logs`, `backups`, `approve`, the demo) reads and writes here. Read on every call so tests can
 * point it elsewhere.
 *
 * @example
 * const logs = path.join(stepopsHome(), 'commands');
 */
export function stepopsHome(): string {
  const fromEnv = process.env.STEPOPS_HOME?.trim();
  return path.resolve(fromEnv || '.stepops');
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
