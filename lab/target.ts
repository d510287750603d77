/**
 * The target that deploys the lab app: a `local` host (the lab's `host/` checkout), real shell
 * steps (git checkout of the ref, restart through `bin/app-ctl.sh`), a rollback to the commit
 * recorded before the checkout, and a health gate on the app's `/health`.
 *
 * `targets/demo.ts` is this target for the demo's lab; tests register it under other names, with
 * their own lab directory and port.
 */
import path from 'node:path';
import { defineTarget, type TargetInput } from '../shared/config/schema.ts';
import { labBackups } from './backup.ts';
import { DEMO_PORT, defaultLabDir } from './setup.ts';

/** Options of {@link labTarget}. */
export interface LabTargetOptions {
  /** The target's name (default `demo`). */
  name?: string;
  /** The lab directory, absolute or relative to the repository (default {@link defaultLabDir}). */
  dir?: string;
  /** The app's port (default {@link DEMO_PORT}). */
  port?: number;
  /** Seconds the health gate waits for the app to become healthy (default 8). */
  gateTimeout?: number;
}

/**
 * Records the running commit for this run (the one to return to), then checks out the ref: a
 * branch deploys its tip on origin, a tag or a commit deploys as it is. Runs in the host directory.
 * The record names the run, so that a rollback never acts on what an earlier run recorded.
 */
export const CHECKOUT_SCRIPT = `git fetch --quiet --tags --force origin
commit=$(git rev-parse --verify --quiet "refs/remotes/origin/\${STEPOPS_REF}^{commit}" ||
  git rev-parse --verify "\${STEPOPS_REF}^{commit}")
current=$(git rev-parse HEAD)
printf '%s\\n%s\\n' "$STEPOPS_RUN_ID" "$current" > ../run/previous-good
git checkout --quiet --force --detach "$commit"
echo "checked out $STEPOPS_REF ($(git rev-parse --short HEAD)); previous: $(git describe --tags --always "$current")"`;

/**
 * Returns the checkout to the commit {@link CHECKOUT_SCRIPT} recorded in this run; when this run
 * recorded nothing (it failed before its checkout), the checkout was not changed and stays.
 */
export const CHECKOUT_PREVIOUS_SCRIPT = `record=../run/previous-good
if [ -s "$record" ] && [ "$(sed -n 1p "$record")" = "$STEPOPS_RUN_ID" ]; then
  previous=$(sed -n 2p "$record")
  git checkout --quiet --force --detach "$previous"
  echo "returned to $(git describe --tags --always HEAD) ($(git rev-parse --short HEAD))"
else
  echo "run $STEPOPS_RUN_ID changed no checkout: staying at $(git describe --tags --always HEAD)"
fi`;

/** Restarts the app from the current checkout; fails when it does not listen within 10 s. */
export const RESTART_SCRIPT = '../bin/app-ctl.sh restart';

/**
 * The lab's maintenance job, `disk-hygiene`: a dry run that lists the app's logs older than 7 days
 * that a cleanup would delete (nothing is deleted), behind the app's health gate, with that probe
 * muted while it runs.
 *
 * @example
 * labMaintenance('.stepops/demo')['disk-hygiene'].steps[0].dryRun // true
 */
export function labMaintenance(dir: string = defaultLabDir()): NonNullable<TargetInput['maintenance']> {
  return {
    'disk-hygiene': {
      description:
        "Weekly: list the app's logs older than 7 days that a cleanup would delete (dry run: nothing is deleted), then the health gate.",
      schedule: 'cron(30 4 ? * SUN *)',
      timezone: 'Europe/London',
      steps: [
        {
          type: 'disk-cleanup',
          name: 'old-logs',
          oldFiles: [{ directory: path.resolve(dir, 'run'), pattern: '*.log*', olderThanDays: 7 }],
          dryRun: true,
          timeout: 60,
        },
      ],
      healthGate: ['app-health'],
      mute: ['app-health'],
    },
  };
}

/**
 * Builds the lab target (not yet validated: `findTarget` or `parseTarget` does that).
 *
 * @example
 * registerTarget(labTarget({ name: 'lab-e2e', dir: '/tmp/lab', port: 47700 }));
 */
export function labTarget(options: LabTargetOptions = {}): TargetInput {
  const dir = options.dir ?? defaultLabDir();
  const port = options.port ?? DEMO_PORT;
  // Relative to the current directory, as local host directories resolve (and the default lab is there).
  const relative = path.isAbsolute(dir) ? path.relative(process.cwd(), dir) : dir;
  const directory =
    path.isAbsolute(dir) && (relative.startsWith('..') || path.isAbsolute(relative))
      ? path.join(dir, 'host')
      : path.join(relative, 'host');
  return defineTarget({
    name: options.name ?? 'demo',
    description: `The lab app (lab/app) on a local host directory, ${directory}, port ${port}`,
    hosts: { type: 'local', directory },
    deploy: {
      steps: [
        { name: 'checkout', script: CHECKOUT_SCRIPT, timeout: 60 },
        { name: 'restart', script: RESTART_SCRIPT, timeout: 30 },
      ],
      rollback: [
        { name: 'checkout-previous', script: CHECKOUT_PREVIOUS_SCRIPT, timeout: 60 },
        { name: 'restart', script: RESTART_SCRIPT, timeout: 30 },
      ],
      batches: { size: 1, maxErrors: 0 },
      healthGate: { probes: ['app-health'], timeout: options.gateTimeout ?? 8, interval: 1, successes: 2 },
    },
    health: {
      schedule: 'rate(1 minute)',
      probes: [
        {
          name: 'app-health',
          type: 'http',
          url: `http://127.0.0.1:${port}/health`,
          expectStatus: [200],
          jsonField: { path: 'status', equals: 'ok' },
          timeout: 2,
        },
        { name: 'app-process', type: 'command', script: '../bin/app-ctl.sh status', timeout: 5 },
      ],
      failureThreshold: 2,
      onFailure: { runbook: 'restart-app' },
    },
    backup: labBackups(),
    recovery: {
      'restart-app': {
        description: 'Restart the lab app from its current checkout',
        steps: [{ type: 'script', name: 'restart', script: RESTART_SCRIPT, timeout: 30 }],
        verify: ['app-health'],
      },
    },
  });
}
