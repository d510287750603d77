/**
 * When the health workflow publishes the public status page: at once when one of the target's
 * public probes changed state in this round, else at most every few minutes (the time of the last
 * publish is kept in the target's health state). Pure: the fold of check-target calls it.
 */
import type { Target } from '../config/schema.ts';
import type { FoldResult, TargetHealthState } from './state.ts';

/**
 * Seconds between two publishes of an unchanged page: each publish is one S3 PUT ($0.005 per
 * 1,000), one more Lambda request ($0.20 per million) and its GB-seconds, and a GetItem per target.
 * Every 5 minutes that is 8,760 publishes a month per target with public probes, about $0.05.
 */
export const STATUS_PUBLISH_EVERY_SECONDS = 300;

/**
 * The names of a target's public probes: HTTP probes made from outside (not `from: 'host'`).
 *
 * @example
 * publicProbeNames(findTarget('demo')) // ['app-health']
 */
export function publicProbeNames(target: Target): string[] {
  return (target.health?.probes ?? [])
    .filter((p) => p.type === 'http' && (p as { from?: string }).from !== 'host')
    .map((p) => p.name);
}

/**
 * Whether to publish the page now: at once when a probe changed state in this round (or it was
 * never published), else once `everyMs` passed since the last publish.
 *
 * @example
 * shouldPublish({ changed: false, lastPublishedAt: Date.now() - 60_000, now: Date.now(), everyMs: 300_000 }) // false
 */
export function shouldPublish(input: {
  changed: boolean;
  lastPublishedAt: number | undefined;
  now: number;
  everyMs: number;
}): boolean {
  if (input.changed || input.lastPublishedAt === undefined || !Number.isFinite(input.lastPublishedAt))
    return true;
  return input.now - input.lastPublishedAt >= input.everyMs;
}

/**
 * Adds the publish decision to a fold: `publishStatus` is true when a public probe went down or
 * up, appeared for the first time, or the last publish recorded in the state is `everyMs` old or
 * more; the state then records this round's time as the last publish (a publish that fails is
 * tried again by the run after the interval, or at the next change). A target without public
 * probes never publishes.
 *
 * @example
 * const folded = withStatusPublish(previous, foldRound(previous, results, options), { publicProbes: ['site'], now, everyMs: 300_000 });
 * folded.publishStatus // true when 'site' went down this round
 */
export function withStatusPublish(
  previous: TargetHealthState,
  folded: FoldResult,
  options: { publicProbes: readonly string[]; now: Date; everyMs: number },
): FoldResult {
  const carried = previous.statusPublishedAt;
  const keep = (state: TargetHealthState): TargetHealthState =>
    carried ? { ...state, statusPublishedAt: carried } : state;
  if (options.publicProbes.length === 0)
    return { ...folded, state: keep(folded.state), publishStatus: false };
  const isPublic = (probe: string, host?: string) => !host && options.publicProbes.includes(probe);
  const changed =
    folded.events.some((e) => (e.kind === 'down' || e.kind === 'up') && isPublic(e.probe, e.host)) ||
    Object.values(folded.state.probes).some(
      (p) => isPublic(p.probe, p.host) && previous.probes[p.probe] === undefined,
    );
  const publish = shouldPublish({
    changed,
    lastPublishedAt: carried === undefined ? undefined : Date.parse(carried),
    now: options.now.getTime(),
    everyMs: options.everyMs,
  });
  if (!publish) return { ...folded, state: keep(folded.state), publishStatus: false };
  return {
    ...folded,
    state: { ...folded.state, statusPublishedAt: options.now.toISOString() },
    publishStatus: true,
  };
}
