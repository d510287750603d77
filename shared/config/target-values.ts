/**
 * Reading a validated target: the helpers the Lambdas use on a target (its values still to fill in,
 * the regions and classes its jobs resolve to), apart from the target model so that they bundle
 * without zod and the schema (`schema.ts` and `load.ts` re-export them). They take the parts of a
 * target they read, so that this module needs nothing of the model.
 */
import { InvalidInputError } from '../errors.ts';

/** The parts of a target a deploy reads (a validated `Target` is one). */
export interface TargetDeployParts {
  name: string;
  hosts: unknown;
  deploy?: { healthGate: { probes: readonly string[] } } | undefined;
  alerts?: unknown;
  health?: { probes: readonly { name: string }[] } | undefined;
}

/** A value written with {@link unfilled}: its operations document does not give it. */
export type Unfilled = string & { readonly __unfilled: true };

/** One marker, anywhere in a string: `<unfilled: what is missing>`. */
export const UNFILLED_MARKER = /<unfilled: ([^<>\n]+)>/g;

/**
 * Marks a value the target's operations document does not give (an RDS instance id, an Elastic IP
 * allocation, a bucket, a domain), instead of a plausible made-up one. The target validates and
 * plans with it; `stepops validate --stage` lists it, a stage refuses to deploy the target, and a
 * deploy that needs it is refused before it calls AWS.
 *
 * @example
 * snapshotBeforeDeploy: { rdsInstance: unfilled('RDS instance id of the app database') },
 * url: `https://${unfilled('domain of the site')}/`,
 * @throws TypeError when the description is empty, has several lines or `<`/`>`
 */
export function unfilled(what: string): Unfilled {
  const text = what.trim();
  if (!/^[^<>\n]+$/.test(text)) {
    throw new TypeError('unfilled(): describe the missing value in one line, without "<" or ">"');
  }
  return `<unfilled: ${text}>` as Unfilled;
}

/** A value still to fill in, where it is in the target. */
export interface UnfilledValue {
  /** Path inside the target, e.g. `deploy.snapshotBeforeDeploy.rdsInstance`. */
  path: string;
  /** What is missing, as the target file describes it. */
  what: string;
}

function pathText(segments: readonly (string | number)[]): string {
  return segments.map((s, i) => (typeof s === 'number' ? `[${s}]` : i === 0 ? s : `.${s}`)).join('');
}

function collectUnfilled(value: unknown, segments: (string | number)[], found: UnfilledValue[]): void {
  if (typeof value === 'string') {
    for (const match of value.matchAll(UNFILLED_MARKER))
      found.push({ path: pathText(segments), what: match[1] ?? '' });
  } else if (Array.isArray(value)) {
    value.forEach((item, i) => {
      collectUnfilled(item, [...segments, i], found);
    });
  } else if (typeof value === 'object' && value !== null) {
    for (const [key, item] of Object.entries(value)) collectUnfilled(item, [...segments, key], found);
  }
}

/**
 * Every value of a target still to fill in ({@link unfilled}), in file order.
 *
 * @example
 * unfilledValues(findTarget('datizmo'))
 * // [{ path: 'deploy.snapshotBeforeDeploy.rdsInstance', what: 'RDS instance id of …' }, …]
 */
export function unfilledValues(target: unknown): UnfilledValue[] {
  const found: UnfilledValue[] = [];
  collectUnfilled(target, [], found);
  return found;
}

/**
 * The values still to fill in that a deploy of the target uses: its hosts, deploy section, alerts
 * and the probes of its health gate (not those of backups, recovery or other probes).
 *
 * @example
 * deployUnfilledValues(findTarget('datizmo')) // [{ path: 'deploy.snapshotBeforeDeploy.rdsInstance', … }]
 */
export function deployUnfilledValues(target: TargetDeployParts): UnfilledValue[] {
  const gate = new Set(target.deploy?.healthGate.probes ?? []);
  const found: UnfilledValue[] = [];
  collectUnfilled(target.hosts, ['hosts'], found);
  collectUnfilled(target.deploy, ['deploy'], found);
  collectUnfilled(target.alerts, ['alerts'], found);
  target.health?.probes.forEach((probe, i) => {
    if (gate.has(probe.name)) collectUnfilled(probe, ['health', 'probes', i], found);
  });
  return found;
}

/**
 * A target has values its operations document does not give (`unfilled(…)`) where a run needs
 * them: nothing was started, and nothing calls AWS with a marker.
 */
export class UnfilledValuesError extends InvalidInputError {
  readonly target: string;
  readonly values: UnfilledValue[];

  constructor(target: string, values: UnfilledValue[], needs = 'deploys') {
    super(
      `target "${target}" has values to fill in before it ${needs} (marked unfilled in ${target}.ts of the targets directory): ${values
        .map((v) => `${v.path} (${v.what})`)
        .join('; ')}`,
    );
    this.name = 'UnfilledValuesError';
    this.target = target;
    this.values = values;
  }
}

/**
 * Refuses a deploy of a target whose deploy uses an `unfilled(…)` value (hosts, deploy section,
 * alerts, health gate probes).
 *
 * @example
 * refuseUnfilledDeploy(findTarget('datizmo')); // throws: deploy.snapshotBeforeDeploy.rdsInstance (RDS instance id …)
 * @throws UnfilledValuesError
 */
export function refuseUnfilledDeploy(target: TargetDeployParts): void {
  const values = deployUnfilledValues(target);
  if (values.length > 0) throw new UnfilledValuesError(target.name, values);
}

/**
 * The region of a dump job's bucket: its `bucketRegion`, else the hosts' region (undefined for
 * local hosts, whose dumps go to a directory). The stage creates the bucket there, and every S3
 * client and presigned URL of the job is made for it: S3 refuses a request signed for another
 * region, and SDK v3 does not follow the redirect.
 *
 * @example
 * dumpBucketRegion(findTarget('zmanim'), job) // 'eu-west-1'
 */
export function dumpBucketRegion(
  target: { hosts: { type: string; region?: string } },
  job: { bucketRegion?: string | undefined },
): string | undefined {
  return job.bucketRegion ?? (target.hosts.type === 'ec2' ? target.hosts.region : undefined);
}

/**
 * The instance class of an RDS restore test: the declared one, else the smallest that serves:
 * `db.t4g.micro` for an instance, `db.t4g.medium` for an Aurora cluster.
 *
 * @example
 * restoreTestInstanceClass({ dbCluster: 'app', restoreTest }) // 'db.t4g.medium'
 */
export function restoreTestInstanceClass(job: {
  dbCluster?: string | undefined;
  restoreTest?: { instanceClass?: string | undefined } | undefined;
}): string {
  return job.restoreTest?.instanceClass ?? (job.dbCluster ? 'db.t4g.medium' : 'db.t4g.micro');
}
