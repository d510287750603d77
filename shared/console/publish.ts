/**
 * publish-status-page: reads every target's health state, renders the public status page with the
 * same pure functions as `stepops status-page`, and publishes it (the stage's bucket, or the local
 * file). The handler parses its input and calls {@link publishStatusStep} with the real drivers.
 */
import { en } from 'zod/locales';
import * as z from 'zod/mini';
import { NAME_PATTERN } from '../config/names.ts';
import type { Target } from '../config/schema.ts';
import type { Notification } from '../drivers/ports.ts';
import { publicStatusOf, statusPageHtml } from './status-page.ts';
import type { HealthStateView } from './transitions.ts';

z.config(en());

/** What the health workflow hands the step: the run that decided to publish. */
export const publishStatusInputSchema = z.strictObject({
  target: z.string().check(z.regex(NAME_PATTERN, { error: 'expected a target name' })),
  runId: z.string().check(z.minLength(1), z.maxLength(128)),
});
export type PublishStatusInput = z.infer<typeof publishStatusInputSchema>;

/** What the step answers (the health run's `statusPage`). */
export interface PublishStatusOutput {
  published: true;
  /** Where the page went: `s3://bucket/index.html`, or a file. */
  location: string;
  /** Targets on the page. */
  targets: number;
  /** Targets whose health state could not be read (shown as unknown). */
  unreadable: string[];
  bytes: number;
}

/** What the step needs from the outside world (tests swap any of them). */
export interface PublishStatusDeps {
  /** The targets the page shows. */
  targets(): Target[];
  /** A target's stored health state (undefined when never checked). */
  readState(target: Target): Promise<HealthStateView | undefined>;
  /** The health alerts (the local outbox); none on a stage. */
  alerts(): Promise<Notification[]>;
  publish(html: string): Promise<{ location: string }>;
  title: string;
  now(): number;
}

/**
 * Builds the page from every target's health state and publishes it. A state that cannot be read
 * leaves that target's probes unknown (the page still goes out); a failed publish throws, for the
 * workflow to catch.
 *
 * @example
 * await publishStatusStep({ target: 'zmanim', runId: 'health-1' }, deps) // { published: true, location: 's3://stepops-prod-status/index.html', … }
 */
export async function publishStatusStep(
  _input: PublishStatusInput,
  deps: PublishStatusDeps,
): Promise<PublishStatusOutput> {
  const targets = deps.targets();
  const unreadable: string[] = [];
  const states = await Promise.all(
    targets.map(async (target) => {
      try {
        return { target, state: await deps.readState(target) };
      } catch {
        unreadable.push(target.name);
        return { target, state: undefined };
      }
    }),
  );
  const alerts = await deps.alerts().catch(() => []);
  const page = statusPageHtml(
    publicStatusOf({ title: deps.title, now: deps.now(), targets: states, alerts }),
  );
  const { location } = await deps.publish(page);
  return {
    published: true,
    location,
    targets: targets.length,
    unreadable: unreadable.sort(),
    bytes: Buffer.byteLength(page),
  };
}

/**
 * The targets a page shows: those named in `STEPOPS_STATUS_TARGETS` (the stage's, set by the
 * stack), else every registered target with hosts of the same kind as `target` (local ones on this
 * machine).
 *
 * @example
 * pageTargets(['zmanim', 'shop', 'demo'], findTarget, 'zmanim', { STEPOPS_STATUS_TARGETS: 'zmanim,shop' }) // zmanim, shop
 */
export function pageTargets(
  names: readonly string[],
  find: (name: string) => Target,
  runTarget: string,
  env: NodeJS.ProcessEnv = process.env,
): Target[] {
  const listed = (env.STEPOPS_STATUS_TARGETS ?? '')
    .split(',')
    .map((n) => n.trim())
    .filter(Boolean);
  if (listed.length > 0) return listed.filter((n) => names.includes(n)).map(find);
  const kind = find(runTarget).hosts.type;
  return names.map(find).filter((t) => t.hosts.type === kind);
}
