/**
 * The target model: what a target file in `targets/` may declare.
 *
 * Every message here is written for the person editing the target file; the loader prefixes it
 * with the file and the path inside it (`targets/datizmo.ts: deploy.steps[2].timeout: …`).
 */
import { isIP } from 'node:net';
import { posix } from 'node:path';
import { en } from 'zod/locales';
import * as z from 'zod/mini';
import { NAME_PATTERN, NUMERIC_CONDITION_PATTERN } from './names.ts';
import { scheduleIntervalSeconds } from './schedule.ts';
import { UNFILLED_MARKER } from './target-values.ts';

export {
  deployUnfilledValues,
  dumpBucketRegion,
  restoreTestInstanceClass,
  type Unfilled,
  type UnfilledValue,
  unfilled,
  unfilledValues,
} from './target-values.ts';
export { NAME_PATTERN };

// Written with zod/mini, which keeps the Lambdas that read a target small; it loads no messages by
// itself: zod's English ones, so that an issue reads as it does with zod.
z.config(en());

const name = z.string({ error: 'expected a name' }).check(
  z.regex(NAME_PATTERN, {
    error: 'expected a lowercase name of letters, digits and dashes (e.g. "web-1")',
  }),
);

/** The message of a value that is neither valid nor a well-formed {@link unfilled} marker. */
export const UNFILLED_MISMATCH = 'expected an unfilled(...) marker';

/**
 * A field that takes its real value or one {@link unfilled} marker (alone, or inside the value as in
 * `https://<unfilled: domain>/`); with each marker replaced by `standIn`, the value must still be
 * valid, so a marker never hides anything else.
 */
function fillable<T extends z.ZodMiniType<string, string>>(schema: T, standIn: string) {
  const marked = z.string().check(
    z.refine(
      (value) => {
        const replaced = value.replace(UNFILLED_MARKER, standIn);
        return replaced !== value && schema.safeParse(replaced).success;
      },
      { error: UNFILLED_MISMATCH },
    ),
  );
  return z.union([schema, marked], {
    // The field's own message: the marker is only the alternative.
    error: (issue) =>
      issue.code === 'invalid_union' ? (issue.errors[0]?.[0]?.message ?? undefined) : undefined,
  });
}

/** A string schema that matches `pattern`, with the message for a string that does not. */
function matching(pattern: RegExp, error: string, typeError?: string) {
  return z
    .string(typeError === undefined ? undefined : { error: typeError })
    .check(z.regex(pattern, { error }));
}

/** A whole number from `min` to `max`, every failure worded `error`. */
function wholeNumber(error: string, min: number, max: number) {
  return z.number({ error }).check(z.int({ error }), z.gte(min, { error }), z.lte(max, { error }));
}

const seconds = z
  .number({ error: 'expected a positive number of seconds' })
  .check(
    z.int({ error: 'expected a whole number of seconds' }),
    z.positive({ error: 'expected a positive number of seconds' }),
  );

const positiveCount = z
  .number({ error: 'expected a positive whole number' })
  .check(
    z.int({ error: 'expected a positive whole number' }),
    z.positive({ error: 'expected a positive whole number' }),
  );

const script = z
  .string({ error: 'expected a shell script' })
  .check(z.trim(), z.minLength(1, { error: 'expected a non-empty shell script' }));

const absolutePath = matching(
  /^\/[A-Za-z0-9._/@+-]*$/,
  'expected an absolute path of plain characters (e.g. "/opt/app")',
  'expected an absolute path',
);

const region = matching(
  /^[a-z]{2}(-[a-z]+)+-\d$/,
  'expected an AWS region such as "eu-west-1"',
  'expected an AWS region',
);

const unixUser = matching(
  /^[a-z_][a-z0-9_-]{0,31}$/,
  'expected a unix user name (e.g. "ubuntu")',
  'expected a user name',
);

/** An EventBridge Scheduler expression: `rate(…)` or a six-field `cron(…)`. */
export const scheduleExpression = matching(
  /^(rate\(\d+ (minute|minutes|hour|hours|day|days)\)|cron\(\S+ \S+ \S+ \S+ \S+ \S+\))$/,
  'expected "rate(N minutes|hours|days)" or a six-field "cron(m h dom mon dow year)"',
  'expected a schedule expression',
);

/** `3` or `"25%"`: an absolute count or a percentage of the hosts. */
const countOrPercent = z.union(
  [positiveCount, matching(/^(100|[1-9][0-9]?)%$/, 'expected a percentage from 1% to 100%')],
  { error: 'expected a positive whole number or a percentage such as "25%"' },
);

const MAX_ERRORS_MESSAGE = 'expected a whole number of hosts (0 or more) or a percentage such as "10%"';
const maxErrors = z.union(
  [
    z.number().check(z.int({ error: MAX_ERRORS_MESSAGE }), z.nonnegative({ error: MAX_ERRORS_MESSAGE })),
    matching(/^(100|[1-9]?[0-9])%$/, 'expected a percentage from 0% to 100%'),
  ],
  { error: MAX_ERRORS_MESSAGE },
);

const tagKey = matching(/^[A-Za-z0-9 _.:/=+@-]{1,128}$/, 'expected an EC2 tag key');
const tagValue = matching(/^[A-Za-z0-9 _.:/=+@-]{0,256}$/, 'expected an EC2 tag value');

/**
 * The hosts' region, or one {@link unfilled} marker when the document names none. One pattern, not
 * {@link fillable}'s union: inside the hosts union, a failed inner union would hide which field is
 * wrong behind the hosts' own message.
 */
const hostsRegion = matching(
  /^([a-z]{2}(-[a-z]+)+-\d|<unfilled: [^<>\n]+>)$/,
  'expected an AWS region such as "eu-west-1"',
  'expected an AWS region',
);

const ec2HostsById = z.strictObject({
  type: z.literal('ec2'),
  region: hostsRegion,
  // One pattern with its unfilled(…) alternative, as hostsRegion (a union would hide the message).
  instanceIds: z
    .array(
      matching(
        /^(i-[0-9a-f]{8,17}|<unfilled: [^<>\n]+>)$/,
        'expected an EC2 instance id such as "i-0abc12345def67890"',
      ),
    )
    .check(z.minLength(1, { error: 'expected at least one instance id' })),
  user: z._default(unixUser, 'root'),
  workingDirectory: absolutePath,
  /** Runs every step in a login shell (`bash --login`: /etc/profile and the user's profile are read). */
  loginShell: z.optional(z.boolean({ error: 'expected true or false' })),
  /** Directories put before `PATH` in every step (e.g. "/usr/local/go/bin"), after any login profile. */
  path: z.optional(z.array(absolutePath)),
});

const ec2HostsByTags = z.strictObject({
  type: z.literal('ec2'),
  region: hostsRegion,
  tags: z.record(tagKey, tagValue).check(
    z.refine((tags) => Object.keys(tags).length > 0, {
      error: 'expected at least one tag to select instances',
    }),
  ),
  user: z._default(unixUser, 'root'),
  workingDirectory: absolutePath,
  /** Runs every step in a login shell (`bash --login`: /etc/profile and the user's profile are read). */
  loginShell: z.optional(z.boolean({ error: 'expected true or false' })),
  /** Directories put before `PATH` in every step (e.g. "/usr/local/go/bin"), after any login profile. */
  path: z.optional(z.array(absolutePath)),
});

const localDirectory = matching(
  /^[A-Za-z0-9._/@+][A-Za-z0-9._/@+-]*$/,
  'expected a directory path of plain characters, not starting with "-"',
  'expected a directory',
);

const localHost = z.strictObject({
  type: z.literal('local'),
  /**
   * Directory on this machine that plays the host, or several (one host each, in this order);
   * relative paths are relative to the repository.
   */
  directory: z.union(
    [localDirectory, z.array(localDirectory).check(z.minLength(1, { error: 'expected a directory' }))],
    {
      error: (issue) =>
        typeof issue.input === 'string'
          ? 'expected a directory path of plain characters, not starting with "-"'
          : 'expected a directory, or a list of directories (one host each)',
    },
  ),
  /** Runs every step in a login shell (`bash --login`: /etc/profile and the user's profile are read). */
  loginShell: z.optional(z.boolean({ error: 'expected true or false' })),
  /** Directories put before `PATH` in every step (e.g. "/usr/local/go/bin"), after any login profile. */
  path: z.optional(z.array(absolutePath)),
});

export const hostsSchema = z.union([ec2HostsById, ec2HostsByTags, localHost], {
  error: (issue) =>
    issue.code === 'invalid_union'
      ? 'expected { type: "ec2", region, instanceIds | tags, user, workingDirectory } or { type: "local", directory }'
      : undefined,
});

const stepSchema = z.strictObject({
  name,
  script,
  timeout: seconds,
  /**
   * Runs on one host only, the first host of the first batch (database migrations); the other
   * hosts skip it. Every step sees `STEPOPS_HOST_INDEX` (0-based) and `STEPOPS_HOST_COUNT`.
   */
  runOnce: z.optional(z.boolean({ error: 'expected true or false' })),
});

/** An ALB/NLB target group ARN, or {@link unfilled} (whole or in part) when the document gives none. */
const targetGroupArn = fillable(
  matching(
    /^arn:aws[a-z-]*:elasticloadbalancing:[a-z]{2}(-[a-z]+)+-\d:\d{12}:targetgroup\/[A-Za-z0-9-]{1,32}\/[0-9a-f]{16}$/,
    'expected a target group ARN such as "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/web/0123456789abcdef"',
    'expected a target group ARN',
  ),
  'arn:aws:elasticloadbalancing:eu-west-1:000000000000:targetgroup/unfilled/0000000000000000',
);

/** Load balancer target groups the hosts serve in: each batch leaves them while it deploys. */
const loadBalancerSchema = z.strictObject({
  targetGroups: z
    .array(targetGroupArn, { error: 'expected a list of target group ARNs' })
    .check(z.minLength(1, { error: 'expected at least one target group ARN' })),
  /** Seconds to wait for a batch's connections to drain (at least the groups' deregistration delay). */
  drainTimeout: z._default(seconds, 330),
  /** Seconds to wait for the hosts to be healthy in every group once registered again. */
  healthyTimeout: z._default(seconds, 300),
});

function isRegExp(pattern: string): boolean {
  try {
    new RegExp(pattern);
    return true;
  } catch {
    return false;
  }
}

const probeFrom = z._default(
  z.enum(['outside', 'host'], { error: 'expected "outside" or "host"' }),
  'outside',
);
const hostName = matching(/^[A-Za-z0-9.][A-Za-z0-9.-]*$/, 'expected a host name');

const numericCondition = matching(
  NUMERIC_CONDITION_PATTERN,
  'expected a numeric condition such as "< 60" (one of <, <=, >, >=, ==, != and a number)',
);

/**
 * What every probe may declare besides its check: the recovery runbook its failure requests
 * (`false`: alert only, even when the health section has an `onFailure` default), and, for a probe
 * that runs on the hosts, whether it runs on each host (`host`, default) or once per round on one
 * healthy host (`fleet`: a queue latency, a database check; alerted once per target).
 */
const probeRouting = {
  runbook: z.optional(
    z.union([name, z.literal(false)], { error: 'expected a runbook name, or false to only alert' }),
  ),
  scope: z.optional(z.enum(['host', 'fleet'], { error: 'expected "host" or "fleet"' })),
};

const httpProbe = z
  .strictObject({
    name,
    ...probeRouting,
    type: z.literal('http'),
    url: fillable(
      z.url({ protocol: /^https?$/, error: 'expected an http:// or https:// URL' }).check(
        z.refine((u) => !/[\s'"`$\\]/.test(u), {
          error: 'expected a URL without quotes, spaces or backslashes',
        }),
      ),
      'unfilled.invalid',
    ),
    method: z._default(z.enum(['GET', 'HEAD', 'POST'], { error: 'expected GET, HEAD or POST' }), 'GET'),
    expectStatus: z._default(
      z
        .array(wholeNumber('expected an HTTP status code from 100 to 599', 100, 599), {
          error: 'expected a list of HTTP status codes',
        })
        .check(z.minLength(1, { error: 'expected at least one HTTP status code' })),
      [200],
    ),
    bodyContains: z.optional(z.string().check(z.minLength(1, { error: 'expected a non-empty string' }))),
    jsonField: z.optional(
      z
        .strictObject({
          path: matching(/^[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*$/, 'expected a dotted path such as "db.status"'),
          equals: z.optional(z.union([z.string(), z.number(), z.boolean()])),
          oneOf: z.optional(z.array(z.union([z.string(), z.number(), z.boolean()])).check(z.minLength(1))),
          /** A numeric condition on the field, such as `"< 60"`. */
          compare: z.optional(numericCondition),
        })
        .check(
          z.refine((f) => [f.equals, f.oneOf, f.compare].filter((c) => c !== undefined).length === 1, {
            error: 'expected exactly one of "equals", "oneOf" or "compare"',
          }),
        ),
    ),
    /** A regular expression the body must match. */
    bodyMatches: z.optional(
      z.string().check(z.refine(isRegExp, { error: 'expected a valid regular expression' })),
    ),
    maxLatencyMs: z.optional(positiveCount),
    /** For `https://` URLs probed from outside: the certificate must be valid this many more days. */
    minCertDaysLeft: z.optional(positiveCount),
    /**
     * Where the request is made: `outside` (default) from the prober, as a visitor would; `host` on
     * the host itself with curl, for endpoints that listen only on the host (e.g. `http://127.0.0.1:9200`).
     */
    from: probeFrom,
    /**
     * Follow redirects to the same origin (scheme, host and port), at most five. Off by default: a
     * redirect is judged as the response it is, so a down app that redirects to a page elsewhere is
     * not counted up, and no redirect leads the prober to another address.
     */
    followRedirects: z.optional(z.boolean({ error: 'expected true or false' })),
    timeout: z._default(seconds, 10),
  })
  .check(
    z.refine((p) => !(p.followRedirects && p.from === 'host'), {
      error: 'followRedirects is for probes from outside; a probe from the host judges the first response',
      path: ['followRedirects'],
    }),
  );

const tlsProbe = z.strictObject({
  name,
  ...probeRouting,
  type: z.literal('tls'),
  host: fillable(hostName, 'unfilled.invalid'),
  port: z._default(wholeNumber('expected a port from 1 to 65535', 1, 65535), 443),
  minDaysLeft: positiveCount,
  timeout: z._default(seconds, 10),
});

/** A line a TCP probe sends or expects: printable characters, no line break. */
const probeLine = matching(/^[\x20-\x7e]{1,200}$/, 'expected up to 200 printable characters, no line break');

/** TCP: the port accepts a connection; optionally a line is sent and the reply line must contain `expect`. */
const tcpProbe = z.strictObject({
  name,
  ...probeRouting,
  type: z.literal('tcp'),
  host: fillable(hostName, 'unfilled.invalid'),
  port: wholeNumber('expected a port from 1 to 65535', 1, 65535),
  /** A line to send once connected (`PING` for Redis); sent with a CRLF. */
  send: z.optional(probeLine),
  /** Text the first line the server sends back must contain (`+PONG`). */
  expect: z.optional(probeLine),
  /** `outside` (default) from the prober; `host` on each host, for ports that listen only there. */
  from: probeFrom,
  timeout: z._default(seconds, 10),
});

/** DNS: a name resolves (through the system resolver), optionally to an expected address. */
const dnsProbe = z.strictObject({
  name,
  ...probeRouting,
  type: z.literal('dns'),
  hostname: fillable(hostName, 'unfilled.invalid'),
  /** An address the name must resolve to (one of its addresses). */
  expectAddress: z.optional(
    z.string().check(z.refine((a) => isIP(a) !== 0, { error: 'expected an IPv4 or IPv6 address' })),
  ),
  from: probeFrom,
  timeout: z._default(seconds, 10),
});

const systemdUnit = matching(
  /^[A-Za-z0-9@._:-]+$/,
  'expected a systemd unit name of letters, digits, "@", ".", "_", ":" and "-"',
);
const containerName = matching(
  /^[A-Za-z0-9][A-Za-z0-9_.-]*$/,
  'expected a container name of letters, digits, "_", "." and "-"',
);
const percent = wholeNumber('expected a percentage from 1 to 100', 1, 100);

/** Host probe: every listed systemd unit is active. */
const systemdProbe = z.strictObject({
  name,
  ...probeRouting,
  type: z.literal('systemd'),
  units: z.array(systemdUnit).check(z.minLength(1, { error: 'expected at least one unit' })),
  timeout: z._default(seconds, 15),
});
/** Host probe: every listed Docker container is running, and healthy when it has a health check. */
const dockerProbe = z.strictObject({
  name,
  ...probeRouting,
  type: z.literal('docker'),
  containers: z.array(containerName).check(z.minLength(1, { error: 'expected at least one container' })),
  /** A container with a health check must report `healthy` (default); `false` accepts `starting`. */
  requireHealthy: z._default(z.boolean(), true),
  timeout: z._default(seconds, 15),
});
/** Host probe: the file system of a mount point is at most this full. */
const diskProbe = z.strictObject({
  name,
  ...probeRouting,
  type: z.literal('disk'),
  mount: z._default(absolutePath, '/'),
  maxUsedPercent: percent,
  timeout: z._default(seconds, 15),
});
/** Host probe: memory in use (total minus available) is at most this share. */
const memoryProbe = z.strictObject({
  name,
  ...probeRouting,
  type: z.literal('memory'),
  maxUsedPercent: percent,
  timeout: z._default(seconds, 15),
});

const ec2StatusProbe = z.strictObject({ name, ...probeRouting, type: z.literal('ec2-status') });
const ssmAgentProbe = z.strictObject({ name, ...probeRouting, type: z.literal('ssm-agent') });

const commandProbe = z.strictObject({
  name,
  ...probeRouting,
  type: z.literal('command'),
  script,
  expectExitCode: z._default(wholeNumber('expected an exit code from 0 to 255', 0, 255), 0),
  outputMatches: z.optional(
    z.string().check(z.refine(isRegExp, { error: 'expected a valid regular expression' })),
  ),
  /** A numeric condition on the output's last line, such as `"< 60"` (a queue latency, a count). */
  outputCompare: z.optional(numericCondition),
  timeout: z._default(seconds, 30),
});

export const probeSchema = z.discriminatedUnion(
  'type',
  [
    httpProbe,
    tlsProbe,
    tcpProbe,
    dnsProbe,
    ec2StatusProbe,
    ssmAgentProbe,
    commandProbe,
    systemdProbe,
    dockerProbe,
    diskProbe,
    memoryProbe,
  ],
  {
    error:
      'expected a probe of type "http", "tls", "tcp", "dns", "ec2-status", "ssm-agent", "command", "systemd", "docker", "disk" or "memory"',
  },
);

const keptCount = z
  .number({ error: 'expected a whole number' })
  .check(
    z.int({ error: 'expected a whole number' }),
    z.nonnegative({ error: 'expected a whole number, 0 or more' }),
  );

/**
 * What a backup keeps: copies younger than `days`, the newest `count`, and the newest copy of each
 * of the last `daily` days, `weekly` ISO weeks and `monthly` months (a copy kept by any rule is
 * kept). The newest good copy is always kept, whatever the rules say.
 */
const retention = z
  .strictObject({
    days: z.optional(keptCount),
    count: z.optional(keptCount),
    daily: z.optional(keptCount),
    weekly: z.optional(keptCount),
    monthly: z.optional(keptCount),
  })
  .check(
    z.refine((r) => Object.values(r).some((v) => v !== undefined), {
      error: 'expected "days", "count" or both (the last good copy is always kept)',
    }),
    z.refine((r) => Object.values(r).some((v) => v !== undefined && v > 0), {
      error:
        'this retention keeps no copy: give "days", "count", "daily", "weekly" or "monthly" a value above 0',
    }),
  );

const s3Bucket = fillable(
  matching(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'expected an S3 bucket name'),
  'unfilled',
);
const s3Prefix = matching(
  /^[A-Za-z0-9._/-]*$/,
  'expected an S3 key prefix of letters, digits, ".", "_", "/" and "-"',
).check(
  // S3 (and every URL) resolves "." and ".." in a path: the object would land elsewhere.
  z.refine((p) => !p.split('/').some((segment) => segment === '.' || segment === '..'), {
    error: 'expected an S3 key prefix without "." or ".." segments (S3 normalises them away)',
  }),
);

const TIME_ZONES = new Set(['UTC', ...Intl.supportedValuesOf('timeZone')]);
/** An IANA time zone for EventBridge Scheduler (`Europe/London`, `America/New_York`, `UTC`). */
const timeZone = z.string({ error: 'expected a time zone' }).check(
  z.refine((tz) => TIME_ZONES.has(tz), {
    error: 'expected an IANA time zone such as "Europe/London" or "UTC"',
  }),
);

/** Fields every backup job has. */
const backupCommon = {
  name,
  schedule: scheduleExpression,
  /** The time zone the schedule's cron fields are read in (EventBridge Scheduler). */
  timezone: z._default(timeZone, 'UTC'),
  retention,
  /** Recovery point objective in hours: an alert goes out when the newest good copy is older. */
  rpoHours: z.optional(positiveCount),
  /** Announce successful runs too (failures are always announced). */
  notifyOnSuccess: z._default(z.boolean(), false),
};

const ebsVolumeId = fillable(
  matching(/^vol-[0-9a-f]{8,17}$/, 'expected an EBS volume id (vol-…)'),
  'vol-00000000',
);

const ebsBackup = z.strictObject({
  ...backupCommon,
  type: z.literal('ebs-snapshot'),
  /** Snapshot only these volumes (default: every volume attached to the hosts). */
  volumes: z.optional(z.array(ebsVolumeId).check(z.minLength(1))),
});

const dbInstance = fillable(
  matching(/^[a-zA-Z][a-zA-Z0-9-]{0,62}$/, 'expected an RDS DB instance identifier'),
  'unfilled',
);

/**
 * A restore test of an RDS snapshot: restored to a temporary instance (an Aurora cluster snapshot:
 * a temporary cluster and one instance in it), checked available, deleted.
 */
const rdsRestoreTest = z.strictObject({
  schedule: scheduleExpression,
  timezone: z._default(timeZone, 'UTC'),
  /** Default: `db.t4g.micro` for an instance, `db.t4g.medium` (Aurora's smallest) for a cluster. */
  instanceClass: z.optional(
    matching(/^db\.[a-z0-9]+\.[a-z0-9]+$/, 'expected a DB instance class such as "db.t4g.micro"'),
  ),
  /** Seconds the temporary instance may take to become available. */
  timeout: z._default(seconds, 3600),
  /**
   * The DB subnet group the temporary database goes into. Without it RDS uses the default VPC's,
   * and the restore fails in an account or region that has no default VPC.
   */
  dbSubnetGroup: z.optional(
    fillable(matching(/^[a-zA-Z0-9 ._-]{1,255}$/, 'expected a DB subnet group name'), 'unfilled'),
  ),
  /** VPC security groups of the temporary database (default: the VPC's default group). */
  securityGroupIds: z.optional(
    z
      .array(fillable(matching(/^sg-[0-9a-f]{8,17}$/, 'expected a security group id (sg-…)'), 'sg-00000000'))
      .check(z.minLength(1)),
  ),
  /** An Aurora cluster snapshot's engine (RestoreDBClusterFromSnapshot needs it). */
  engine: z.optional(
    z.enum(['aurora-postgresql', 'aurora-mysql'], {
      error: 'expected "aurora-postgresql" or "aurora-mysql"',
    }),
  ),
});

const rdsBackup = z
  .strictObject({
    ...backupCommon,
    type: z.literal('rds-snapshot'),
    dbInstance: z.optional(dbInstance),
    /** An Aurora cluster instead of an instance (`CreateDBClusterSnapshot`). */
    dbCluster: z.optional(dbInstance),
    region,
    restoreTest: z.optional(rdsRestoreTest),
  })
  .check(
    z.refine((j) => (j.dbInstance === undefined) !== (j.dbCluster === undefined), {
      error: 'expected exactly one of "dbInstance" and "dbCluster"',
    }),
    z.superRefine((j, ctx) => {
      if (j.dbCluster !== undefined && j.restoreTest && !j.restoreTest.engine) {
        ctx.addIssue({
          code: 'custom',
          message:
            'a restore test of an Aurora cluster snapshot needs its engine ("aurora-postgresql" or "aurora-mysql"): the cluster is restored with RestoreDBClusterFromSnapshot',
          path: ['restoreTest', 'engine'],
        });
      }
      if (j.dbInstance !== undefined && j.restoreTest?.engine) {
        ctx.addIssue({
          code: 'custom',
          message:
            'an engine is for Aurora cluster snapshots only (dbCluster): an instance snapshot keeps its own',
          path: ['restoreTest', 'engine'],
        });
      }
    }),
  );

const awsBackupJob = z.strictObject({
  ...backupCommon,
  type: z.literal('aws-backup'),
  vault: fillable(matching(/^[a-zA-Z0-9_-]{2,50}$/, 'expected an AWS Backup vault name'), 'unfilled'),
  iamRoleArn: fillable(
    matching(/^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]+$/, 'expected an IAM role ARN'),
    'arn:aws:iam::000000000000:role/unfilled',
  ),
  resourceArns: z.optional(
    z
      .array(
        fillable(matching(/^arn:aws[a-z-]*:[a-z0-9-]+:/, 'expected a resource ARN'), 'arn:aws:unfilled:'),
      )
      .check(z.minLength(1)),
  ),
});

/** An SSM parameter name (`/zmanim/prod/restic-password`). */
const ssmParameterName = matching(
  /^\/[A-Za-z0-9_.\-/]{1,1010}$/,
  'expected an SSM parameter name starting with "/"',
);

/**
 * A restore test of a dump: `script` restores `$STEPOPS_RESTORE_FILE` (the newest good dump, fetched
 * by stepops) into a scratch database or `$STEPOPS_SCRATCH_DIR`; `check` then runs (a query, a row
 * count, a file test) and must exit 0.
 */
const dumpRestoreTest = z.strictObject({
  schedule: scheduleExpression,
  timezone: z._default(timeZone, 'UTC'),
  script,
  check: script,
  timeout: seconds,
});

/** The fewest days S3 accepts before a lifecycle transition to STANDARD_IA. */
export const STANDARD_IA_MIN_DAYS = 30;

const dumpBackup = z.strictObject({
  ...backupCommon,
  type: z.literal('dump'),
  /**
   * Runs on the host and writes the dump to the file `$STEPOPS_DUMP_FILE`; stepops checks it is not
   * empty, records its SHA-256 and size, and uploads it (a presigned PUT with curl: no AWS CLI
   * needed) to `$STEPOPS_DUMP_URI`. A script that fails leaves nothing uploaded.
   */
  script,
  timeout: seconds,
  bucket: s3Bucket,
  prefix: z._default(s3Prefix, ''),
  /**
   * Environment variables read from SSM SecureString parameters on the host just before the script
   * runs (`{ PGPASSWORD: '/docsai/prod/db-password' }`); only the names are in the command.
   */
  secrets: z._default(
    z.record(matching(/^[A-Z][A-Z0-9_]*$/, 'expected an environment variable name'), ssmParameterName),
    {},
  ),
  /** The hosts have the AWS CLI (needed on ec2 hosts to read `secrets`). */
  awsCli: z._default(z.boolean(), false),
  restoreTest: z.optional(dumpRestoreTest),
  /**
   * The bucket's lifecycle for this job's dumps: move them to a colder storage class after some
   * days. S3 refuses a transition to STANDARD_IA before 30 days (the `Days` of a lifecycle
   * `Transition`), so `afterDays` is at least 30 for it.
   */
  archive: z.optional(
    z
      .strictObject({
        afterDays: positiveCount,
        storageClass: z.enum(['STANDARD_IA', 'GLACIER_IR', 'GLACIER'], {
          error: 'expected "STANDARD_IA", "GLACIER_IR" or "GLACIER"',
        }),
      })
      .check(
        z.superRefine((archive, ctx) => {
          if (archive.storageClass === 'STANDARD_IA' && archive.afterDays < STANDARD_IA_MIN_DAYS) {
            ctx.addIssue({
              code: 'custom',
              message: `a transition to STANDARD_IA needs afterDays of at least ${STANDARD_IA_MIN_DAYS} (S3 refuses an earlier one and the stage would not deploy); use GLACIER_IR or GLACIER to archive sooner`,
              path: ['afterDays'],
            });
          }
        }),
      ),
  ),
  /**
   * The bucket exists already and stepops did not create it: stepops then creates nothing, changes
   * none of its settings and writes no lifecycle rule; it only writes, reads and deletes its own
   * dumps under the job's prefix. Without it, the stage creates the bucket, and a deploy fails if a
   * bucket of that name exists (stepops never takes over a bucket it did not create).
   */
  existingBucket: z._default(z.boolean(), false),
  /** The bucket's region (default: the hosts' region). Every S3 call and presigned URL is made there. */
  bucketRegion: z.optional(region),
});

export const backupJobSchema = z.discriminatedUnion(
  'type',
  [ebsBackup, rdsBackup, awsBackupJob, dumpBackup],
  { error: 'expected a backup of type "ebs-snapshot", "rds-snapshot", "aws-backup" or "dump"' },
);

/** How a target's backup runs go: jobs in parallel or one at a time; how often freshness is checked. */
const backupOptions = z.strictObject({
  parallel: z._default(z.boolean(), false),
  freshnessSchedule: z._default(scheduleExpression, 'rate(1 hour)'),
});

const serviceManager = z.enum(['systemd', 'pm2', 'docker-compose'], {
  error: 'expected "systemd", "pm2" or "docker-compose"',
});
/** A service name; never starting with "-", so that no tool reads it as an option. */
const serviceName = matching(
  /^[A-Za-z0-9@._][A-Za-z0-9@._-]*$/,
  'expected a service name of letters, digits, ".", "_", "@" and "-", not starting with "-"',
);

const runbookStep = z.discriminatedUnion(
  'type',
  [
    z.strictObject({
      type: z.literal('script'),
      name,
      script,
      timeout: seconds,
      /** Needs a human approval before the runbook acts (restore and replace steps always do). */
      destructive: z._default(z.boolean(), false),
      /**
       * Read-only commands whose output must be the same on every host: `before` runs on all hosts
       * before any changes (its output is the step's `$STEPOPS_AGREED`, e.g. the release to return
       * to), `after` once every host ran the step (e.g. `git rev-parse HEAD`). Hosts that disagree
       * fail the step, naming each host's answer: a fleet never ends half on one release.
       */
      agree: z.optional(z.strictObject({ before: z.optional(script), after: z.optional(script) })),
    }),
    z.strictObject({
      type: z.literal('restart'),
      name,
      manager: serviceManager,
      services: z.array(serviceName).check(z.minLength(1, { error: 'expected at least one service' })),
      /** docker compose: the compose file, relative to the working directory. */
      composeFile: z.optional(
        matching(/^[A-Za-z0-9._/][A-Za-z0-9._/-]*$/, 'expected a file path, not starting with "-"'),
      ),
      timeout: z._default(seconds, 120),
      destructive: z._default(z.boolean(), false),
    }),
    z.strictObject({
      type: z.literal('reboot'),
      name,
      timeout: z._default(seconds, 600),
      destructive: z._default(z.boolean(), false),
    }),
    z.strictObject({
      type: z.literal('restore-volume'),
      name,
      /** The device the restored volume is attached as, e.g. `/dev/sdf`. */
      device: matching(/^\/dev\/[a-z0-9]+$/, 'expected a device such as "/dev/sdf"'),
      /** Which snapshot: the newest stepops snapshot of this device unless a snapshot id is given. */
      snapshot: z._default(
        z.union(
          [
            z.literal('latest'),
            matching(
              /^snap-[0-9a-f]{8,17}$/,
              'expected "latest" or a snapshot id such as "snap-0123456789abcdef0"',
            ),
          ],
          { error: 'expected "latest" or a snapshot id such as "snap-0123456789abcdef0"' },
        ),
        'latest',
      ),
      timeout: z._default(seconds, 1800),
    }),
    z.strictObject({
      type: z.literal('replace-instance'),
      name,
      /** AMI to launch from; the newest stepops AMI of the target when omitted. */
      amiId: z.optional(fillable(matching(/^ami-[0-9a-f]{8,17}$/, 'expected an AMI id'), 'ami-00000000')),
      elasticIpAllocationId: fillable(
        matching(/^eipalloc-[0-9a-f]{8,17}$/, 'expected an Elastic IP allocation id'),
        'eipalloc-00000000',
      ),
      /** Launch from this launch template (its AMI, type, network); else the old instance's settings. */
      launchTemplate: z.optional(
        z.strictObject({
          id: fillable(
            matching(/^lt-[0-9a-f]{8,17}$/, 'expected a launch template id such as "lt-0abc…"'),
            'lt-00000000',
          ),
          version: z._default(
            matching(
              /^(\$Latest|\$Default|[1-9][0-9]*)$/,
              'expected "$Latest", "$Default" or a version number',
            ),
            '$Default',
          ),
        }),
      ),
      /** A data volume to detach from the old instance and attach to the new one. */
      dataVolumeDevice: z.optional(
        fillable(matching(/^\/dev\/[a-z0-9]+$/, 'expected a device such as "/dev/sdf"'), '/dev/sdz'),
      ),
      /**
       * Seconds the old instance is kept stopped (untagged, out of every selection) before the run
       * terminates it; 7 days by default, at most 30.
       */
      retainOldFor: z._default(
        seconds.check(z.lte(2_592_000, { error: 'expected at most 2592000 seconds (30 days)' })),
        604_800,
      ),
      timeout: z._default(seconds, 1800),
    }),
    z.strictObject({
      type: z.literal('restore-rds'),
      name,
      /** The RDS instance to bring back; it keeps its identifier (and so its endpoint). */
      dbInstance,
      /** Which snapshot: the newest snapshot of the instance (stepops or automated) unless an id is given. */
      snapshot: z._default(
        z.union(
          [
            z.literal('latest'),
            matching(
              /^[a-zA-Z][a-zA-Z0-9:-]{0,254}$/,
              'expected "latest" or an RDS snapshot identifier such as "rds:datizmo-db-2025-01-01-03-00"',
            ),
          ],
          {
            error:
              'expected "latest" or an RDS snapshot identifier such as "rds:datizmo-db-2025-01-01-03-00"',
          },
        ),
        'latest',
      ),
      /** The instance's region; the hosts' region when omitted. */
      region: z.optional(region),
      /**
       * After the restored instance is available: `false` stops there and prints its endpoint;
       * `true` renames the old instance away and gives the restored one its identifier (and endpoint).
       */
      swapNames: z._default(z.boolean(), false),
      /** A runbook parameter that, when given, names the snapshot instead of `snapshot`. */
      snapshotParam: z.optional(name),
      timeout: z._default(seconds, 3600),
    }),
    z.strictObject({
      type: z.literal('restore-dump'),
      name,
      /** The `dump` backup job whose newest dump is restored. */
      backup: name,
      /** Runs on the host; reads the dump from `$STEPOPS_DUMP_URI`. */
      script,
      timeout: seconds,
    }),
  ],
  {
    error:
      'expected a step of type "script", "restart", "reboot", "restore-volume", "replace-instance", "restore-rds" or "restore-dump"',
  },
);

const runbookParam = z.strictObject({
  type: z.enum(['string', 'number', 'boolean'], { error: 'expected "string", "number" or "boolean"' }),
  description: z
    .string()
    .check(z.trim(), z.minLength(1, { error: 'expected a description shown to the operator' })),
  /** Used when the run does not give the parameter; a parameter without one is required. */
  default: z.optional(z.union([z.string(), z.number(), z.boolean()])),
});

const runbook = z.strictObject({
  description: z
    .string()
    .check(z.trim(), z.minLength(1, { error: 'expected a description shown to the operator' })),
  steps: z.array(runbookStep).check(z.minLength(1, { error: 'expected at least one step' })),
  /** Probes that must pass after the runbook; every health probe when omitted. */
  verify: z.optional(z.array(name)),
  /**
   * Parameters a run may give (`--param k=v`, `"params"` in the input). Host scripts read them as
   * `$STEPOPS_PARAM_<NAME>` (upper case, `-` as `_`); strings are limited to plain characters.
   */
  params: z.optional(z.record(name, runbookParam)),
  /** Needs a human approval before it acts, whatever its steps (restore and replace steps always do). */
  destructive: z._default(z.boolean(), false),
  /** A run started by a health alert may act without approval (never when the runbook is destructive). */
  unattended: z._default(z.boolean(), false),
  /**
   * When a run that needs approval asks for it: once, before the first step (`run`, the default), or
   * right before each destructive step, showing the resources that step will change (`each-step`).
   * With `each-step`, the run is asked once up front only for what is not a destructive step (the
   * runbook marked destructive, a run a health alert started).
   */
  approve: z._default(
    z.enum(['run', 'each-step'], { error: 'expected "run" (one approval) or "each-step"' }),
    'run',
  ),
  /** Seconds an approval request stays open before the run ends, changing nothing (at most 7 days). */
  approvalTimeout: z._default(
    seconds.check(z.lte(604_800, { error: 'expected at most 604800 seconds (7 days)' })),
    3600,
  ),
  /** Seconds the final health probes may take to pass. */
  verifyTimeout: z._default(seconds, 300),
  /**
   * How the steps that run on the hosts roll over them, as a deploy does: batches of `batchSize`
   * hosts, each drained from the load balancer, run, passed through the health gate and registered
   * again; the run stops once more than `maxErrors` hosts failed. One host at a time by default for
   * a target behind a load balancer; every host at once otherwise.
   */
  rolling: z.optional(
    z.strictObject({ batchSize: z.optional(countOrPercent), maxErrors: z._default(maxErrors, 0) }),
  ),
});

const healthGate = z
  .strictObject({
    probes: z.array(name).check(z.minLength(1, { error: 'expected at least one probe name' })),
    /** How long to wait for the hosts to become healthy after each batch. */
    timeout: seconds,
    interval: z._default(seconds, 5),
    /** Consecutive passing rounds required. */
    successes: z._default(positiveCount, 2),
  })
  .check(
    z.superRefine((gate, ctx) => {
      // Rounds start `interval` apart from the first, so `successes` rounds need (successes - 1) intervals.
      const needed = (gate.successes - 1) * gate.interval;
      if (needed > gate.timeout) {
        ctx.addIssue({
          code: 'custom',
          path: ['timeout'],
          message: `the gate can never pass: ${gate.successes} passing rounds ${gate.interval} s apart need at least ${needed} s, the timeout is ${gate.timeout} s`,
        });
      } else if (gate.timeout < gate.interval) {
        ctx.addIssue({
          code: 'custom',
          path: ['timeout'],
          message: `${gate.timeout} s is shorter than the interval (${gate.interval} s): the gate gets one round and no second chance; make the timeout at least the interval`,
        });
      }
    }),
  );

const deploySchema = z.strictObject({
  /**
   * Checks run on every host before any host changes (e.g. that the ref exists); they must change
   * nothing. A failure ends the deploy before the first batch.
   */
  verify: z.optional(
    z.array(stepSchema).check(z.minLength(1, { error: 'expected at least one verify step, or no "verify"' })),
  ),
  steps: z.array(stepSchema).check(z.minLength(1, { error: 'expected at least one deploy step' })),
  rollback: z.array(stepSchema).check(z.minLength(1, { error: 'expected at least one rollback step' })),
  batches: z._default(
    z.strictObject({ size: z._default(countOrPercent, '100%'), maxErrors: z._default(maxErrors, 0) }),
    { size: '100%', maxErrors: 0 },
  ),
  snapshotBeforeDeploy: z.optional(
    z.strictObject({
      ebs: z._default(z.boolean(), false),
      rdsInstance: z.optional(dbInstance),
      /**
       * Which pre-deploy snapshots are kept: those of the last `deploys` deploys and any younger
       * than `days` (the newest is always kept); the others are deleted after each deploy's own
       * snapshots are taken, so that they never fill the manual-snapshot quota.
       */
      retention: z._default(
        z.strictObject({ deploys: z._default(positiveCount, 3), days: z._default(keptCount, 7) }),
        { deploys: 3, days: 7 },
      ),
    }),
  ),
  healthGate,
  loadBalancer: z.optional(loadBalancerSchema),
});

/**
 * Why EventBridge (a scheduled rule or Scheduler) cannot run a schedule expression, or undefined
 * when it can: a rate of 0, a unit whose number does not agree ("rate(1 minutes)", "rate(5 minute)"),
 * or a cron with both a day of month and a day of week (one must be "?").
 *
 * @example
 * unschedulable('rate(1 minutes)') // 'expected "rate(1 minute)": a rate of 1 takes the singular unit'
 */
export function unschedulable(expression: string): string | undefined {
  const rate = /^rate\((\d+) (minute|hour|day)(s?)\)$/.exec(expression);
  if (rate) {
    const [, value, unit, plural] = rate as unknown as [string, string, string, string];
    const count = Number(value);
    if (count < 1) return 'expected a rate of at least 1 (e.g. "rate(1 minute)")';
    if (count === 1 && plural) return `expected "rate(1 ${unit})": a rate of 1 takes the singular unit`;
    if (count > 1 && !plural)
      return `expected "rate(${count} ${unit}s)": a rate above 1 takes the plural unit`;
    return undefined;
  }
  const cron = /^cron\((\S+) (\S+) (\S+) (\S+) (\S+) (\S+)\)$/.exec(expression);
  if (cron) {
    const [dayOfMonth, dayOfWeek] = [cron[3], cron[5]];
    if ((dayOfMonth === '?') === (dayOfWeek === '?')) {
      return 'expected "?" in exactly one of day-of-month and day-of-week (e.g. "cron(0 3 * * ? *)")';
    }
  }
  return undefined;
}

const healthSchedule = scheduleExpression.check(
  z.superRefine((expression, ctx) => {
    const why = unschedulable(expression);
    if (why) ctx.addIssue({ code: 'custom', message: why });
  }),
);

const hhmm = matching(
  /^([01][0-9]|2[0-3]):[0-5][0-9]$/,
  'expected a time of day as "HH:MM" (UTC)',
  'expected a time of day as "HH:MM" (UTC)',
);

/** A weekly maintenance window, in UTC: probes are recorded but not alerted during it. */
const maintenanceWindow = z.strictObject({
  /** Days the window opens; every day when omitted. */
  days: z.optional(
    z
      .array(z.enum(['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'], { error: 'expected mon … sun' }))
      .check(z.minLength(1, { error: 'expected at least one day' })),
  ),
  /** When the window opens, "HH:MM" in UTC. */
  start: hhmm,
  /** How long it stays open. */
  durationMinutes: wholeNumber('expected a whole number of minutes from 1 to 1440', 1, 1440),
});

const healthSchema = z.strictObject({
  schedule: healthSchedule,
  probes: z.array(probeSchema).check(z.minLength(1, { error: 'expected at least one probe' })),
  /** Consecutive failing checks before a probe is down (and alerted). */
  failureThreshold: z._default(positiveCount, 3),
  /** Consecutive passing checks before a down probe is up again. */
  successThreshold: z._default(positiveCount, 2),
  /**
   * The default runbook: requested when a probe that names no runbook of its own (and is in no
   * group) stays down. Without it, such a probe only alerts.
   */
  onFailure: z.optional(
    z.strictObject({
      runbook: name,
      /** Minutes between two starts of the runbook. */
      cooldownMinutes: z._default(positiveCount, 30),
      /** Starts at most this many times a day (UTC). */
      maxPerDay: z._default(positiveCount, 3),
    }),
  ),
  /** Named groups of probes whose failure requests one runbook (a probe's own `runbook` wins). */
  groups: z.optional(
    z.record(
      name,
      z.strictObject({
        probes: z.array(z.string()).check(z.minLength(1, { error: 'expected at least one probe' })),
        runbook: name,
      }),
    ),
  ),
  /** Cooldown and daily cap per runbook a probe or group requests (30 min and 3 a day by default). */
  runbooks: z.optional(
    z.record(
      name,
      z.strictObject({
        cooldownMinutes: z._default(positiveCount, 30),
        maxPerDay: z._default(positiveCount, 3),
      }),
    ),
  ),
  /**
   * Flapping: over the last `window` checks, a probe whose share of failing checks reaches
   * `ratio` (and that is not down) is "flapping", alerted once, and clears when the share falls
   * under half of it.
   */
  flapping: z._default(
    z.strictObject({
      window: z._default(wholeNumber('expected a whole number of checks from 4 to 100', 4, 100), 20),
      ratio: z._default(
        z
          .number({ error: 'expected a share from 0.1 to 1' })
          .check(
            z.gte(0.1, { error: 'expected a share from 0.1 to 1' }),
            z.lte(1, { error: 'expected a share from 0.1 to 1' }),
          ),
        0.3,
      ),
    }),
    { window: 20, ratio: 0.3 },
  ),
  /** Minutes a probe may stay down during a maintenance before it is alerted anyway (default 2 h). */
  maintenanceAlertAfterMinutes: z._default(
    wholeNumber('expected a whole number of minutes from 1 to 10080', 1, 10_080),
    120,
  ),
  /** Weekly windows (UTC) during which transitions are recorded but not alerted. */
  maintenance: z.optional(z.array(maintenanceWindow)),
});

const alertsSchema = z.strictObject({
  /** SNS topic name or ARN; the stack's topic when omitted. */
  topic: z.optional(
    matching(
      /^(arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:)?[A-Za-z0-9_-]{1,256}$/,
      'expected an SNS topic name or ARN',
    ),
  ),
  /** Name of the SSM SecureString parameter holding the Slack webhook URL; never the URL itself. */
  slackWebhookParameter: z.optional(
    z.pipe(
      z.string().check(
        z.refine((v) => !/^https?:/i.test(v), {
          error: 'expected the name of an SSM parameter, never the webhook URL itself',
        }),
      ),
      matching(/^\/[A-Za-z0-9_./-]+$/, 'expected an SSM parameter name such as "/stepops/slack"'),
    ),
  ),
});

/** Refuses a host declared twice: it would run every step twice, at once. */
function uniqueHosts(hosts: z.output<typeof hostsSchema>, ctx: z.core.$RefinementCtx): void {
  const [field, listed] =
    hosts.type === 'local'
      ? (['directory', Array.isArray(hosts.directory) ? hosts.directory : []] as const)
      : 'instanceIds' in hosts
        ? (['instanceIds', hosts.instanceIds] as const)
        : (['tags', []] as const);
  const seen = new Set<string>();
  listed.forEach((host, index) => {
    const key = field === 'directory' ? posix.normalize(host).replace(/\/+$/, '') : host;
    if (seen.has(key)) {
      ctx.addIssue({
        code: 'custom',
        message: `duplicate host "${host}": each host may be listed once`,
        path: ['hosts', field, index],
      });
    }
    seen.add(key);
  });
}

function uniqueNames(
  items: readonly { name: string }[],
  ctx: z.core.$RefinementCtx,
  path: (string | number)[],
): void {
  const seen = new Set<string>();
  items.forEach((item, index) => {
    if (seen.has(item.name)) {
      ctx.addIssue({
        code: 'custom',
        message: `duplicate name "${item.name}"`,
        path: [...path, index, 'name'],
      });
    }
    seen.add(item.name);
  });
}

/** The backup cross-checks: what a job asks of its hosts, and an RPO its schedule can meet. */
function checkBackups(
  target: { hosts: { type: string }; backup?: z.output<typeof backupJobSchema>[] | undefined },
  ctx: z.core.$RefinementCtx,
): void {
  (target.backup ?? []).forEach((job, i) => {
    if (target.hosts.type === 'local' && job.type === 'ebs-snapshot' && job.volumes) {
      ctx.addIssue({
        code: 'custom',
        message: 'named EBS volumes need ec2 hosts (a local host is copied as a directory)',
        path: ['backup', i, 'volumes'],
      });
    }
    if (
      target.hosts.type === 'ec2' &&
      job.type === 'dump' &&
      Object.keys(job.secrets).length > 0 &&
      !job.awsCli
    ) {
      ctx.addIssue({
        code: 'custom',
        message:
          'the hosts read these secrets with the AWS CLI (aws ssm get-parameter): install it on them and declare awsCli: true',
        path: ['backup', i, 'secrets'],
      });
    }
    if (job.type === 'dump' && job.existingBucket && job.archive) {
      ctx.addIssue({
        code: 'custom',
        message:
          "stepops writes no lifecycle rule on a bucket it did not create (existingBucket: true): set the transition in the bucket's own lifecycle, or let stepops create the bucket",
        path: ['backup', i, 'archive'],
      });
    }
    const interval = scheduleIntervalSeconds(job.schedule);
    if (job.rpoHours !== undefined && job.rpoHours * 3600 < interval) {
      ctx.addIssue({
        code: 'custom',
        message: `an RPO of ${job.rpoHours} h is shorter than the schedule's interval (${interval / 3600} h): every copy would be late`,
        path: ['backup', i, 'rpoHours'],
      });
    }
  });
}

// ── maintenance ─────────────────────────────────────────────────────────────────────────────────

const hours = z
  .number({ error: 'expected a number of hours' })
  .check(
    z.int({ error: 'expected a whole number of hours' }),
    z.minimum(1, { error: 'expected at least 1 hour' }),
  );
const days = z
  .number({ error: 'expected a number of days' })
  .check(
    z.int({ error: 'expected a whole number of days' }),
    z.minimum(1, { error: 'expected at least 1 day' }),
  );

/** One step of a maintenance job: a script, or one of the recipes (shared/recipes/maintenance.ts). */
const maintenanceStepSchema = z.discriminatedUnion(
  'type',
  [
    z.strictObject({ type: z.literal('script'), name, script, timeout: z._default(seconds, 600) }),
    z.strictObject({
      /** `certbot renew`; the web server reloaded only when a certificate was renewed. */
      type: z.literal('certbot-renew'),
      name,
      reload: z._default(z.enum(['nginx', 'apache2', 'httpd', 'none']), 'nginx'),
      timeout: z._default(seconds, 900),
    }),
    z.strictObject({
      /** Security updates (`unattended-upgrade` on apt, `dnf upgrade --security`), then a reboot if required. */
      type: z.literal('os-updates'),
      name,
      manager: z.enum(['apt', 'dnf'], { error: 'expected "apt" or "dnf"' }),
      reboot: z._default(z.enum(['if-required', 'never']), 'if-required'),
      timeout: z._default(seconds, 3600),
    }),
    z.strictObject({
      /** `docker image prune --all` (and `docker system prune` with `system`) of what is older than the filter. */
      type: z.literal('docker-prune'),
      name,
      olderThanHours: z._default(hours, 168),
      system: z._default(z.boolean(), false),
      timeout: z._default(seconds, 1800),
    }),
    z.strictObject({
      /** The compose file's images pulled again and its services recreated on them. */
      type: z.literal('docker-pull'),
      name,
      composeFile: matching(/^[A-Za-z0-9._/-]+$/, 'expected a compose file path of plain characters'),
      timeout: z._default(seconds, 1800),
    }),
    z.strictObject({
      /** Journal vacuum and old files; `dryRun` prints what would be deleted and deletes nothing. */
      type: z.literal('disk-cleanup'),
      name,
      journalMaxAgeDays: z.optional(days),
      oldFiles: z._default(
        z.array(
          z.strictObject({
            directory: absolutePath,
            pattern: matching(/^[A-Za-z0-9._*?-]+$/, 'expected a file name pattern such as "*.log.*"'),
            olderThanDays: days,
          }),
        ),
        [],
      ),
      dryRun: z._default(z.boolean(), false),
      timeout: z._default(seconds, 900),
    }),
  ],
  {
    error:
      'expected a step of type "script", "certbot-renew", "os-updates", "docker-prune", "docker-pull" or "disk-cleanup"',
  },
);
export type MaintenanceStep = z.output<typeof maintenanceStepSchema>;

/**
 * A scheduled maintenance job: its steps run on the hosts one batch at a time under the target's
 * lease, with the health gate after each batch; the probes it disturbs are muted while it runs,
 * and a failure is alerted.
 */
const maintenanceJobSchema = z.strictObject({
  description: z
    .string()
    .check(z.trim(), z.minLength(1, { error: 'expected a description shown to the operator' })),
  schedule: scheduleExpression,
  /** The time zone the schedule's cron fields are read in (EventBridge Scheduler). */
  timezone: z._default(timeZone, 'UTC'),
  steps: z.array(maintenanceStepSchema).check(z.minLength(1, { error: 'expected at least one step' })),
  /** Hosts per batch (one host at a time by default). */
  batchSize: z._default(positiveCount, 1),
  /** Probes that must pass on a batch before the next one starts. */
  healthGate: z._default(z.array(name), []),
  /** Probes the job disturbs (a reload, a reboot): not alerted on while it runs. */
  mute: z._default(z.array(name), []),
});
export type MaintenanceJob = z.output<typeof maintenanceJobSchema>;

/** The probe → runbook cross-checks, fleet scopes and maintenance windows that never close. */
function checkHealthRouting(
  health: z.output<typeof healthSchema>,
  recovery: Record<string, unknown>,
  ctx: z.core.$RefinementCtx,
): void {
  const probeNames = new Set(health.probes.map((p) => p.name));
  const noRunbook = (runbook: string, path: (string | number)[]) => {
    if (!recovery[runbook]) {
      ctx.addIssue({ code: 'custom', message: `no recovery runbook named "${runbook}"`, path });
    }
  };
  const grouped = new Map<string, string>();
  for (const [group, { probes, runbook }] of Object.entries(health.groups ?? {})) {
    noRunbook(runbook, ['health', 'groups', group, 'runbook']);
    probes.forEach((probe, i) => {
      if (!probeNames.has(probe)) {
        ctx.addIssue({
          code: 'custom',
          message: `no health probe named "${probe}"`,
          path: ['health', 'groups', group, 'probes', i],
        });
      } else if (grouped.has(probe)) {
        ctx.addIssue({
          code: 'custom',
          message: `probe "${probe}" is already in group "${grouped.get(probe)}": a probe requests one runbook`,
          path: ['health', 'groups', group, 'probes', i],
        });
      }
      grouped.set(probe, group);
    });
  }
  for (const runbook of Object.keys(health.runbooks ?? {}))
    noRunbook(runbook, ['health', 'runbooks', runbook]);
  health.probes.forEach((probe, i) => {
    if (typeof probe.runbook === 'string') noRunbook(probe.runbook, ['health', 'probes', i, 'runbook']);
    const onHost =
      ['command', 'systemd', 'docker', 'disk', 'memory'].includes(probe.type) ||
      ('from' in probe && probe.from === 'host');
    if (probe.scope === 'fleet' && !onHost) {
      ctx.addIssue({
        code: 'custom',
        message: 'only a probe that runs on the hosts can run once per round on one of them (scope: "fleet")',
        path: ['health', 'probes', i, 'scope'],
      });
    }
  });
  const windows = health.maintenance ?? [];
  const alone = windows.map((window) => neverCloses([window]));
  alone.forEach((never, i) => {
    if (never) {
      ctx.addIssue({
        code: 'custom',
        message: 'this window never closes (it covers the whole week): probes would never alert',
        path: ['health', 'maintenance', i],
      });
    }
  });
  if (!alone.includes(true) && windows.length > 1 && neverCloses(windows)) {
    ctx.addIssue({
      code: 'custom',
      message: 'these windows together never close (they cover the whole week): probes would never alert',
      path: ['health', 'maintenance'],
    });
  }
}

const WEEK_DAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;

/**
 * Whether the windows hold maintenance open at every minute of the UTC week, a window that runs
 * past midnight counting on the next day. (`openWindow` in the health layer judges one instant the
 * same way; the config layer may not import it.)
 */
function neverCloses(windows: readonly MaintenanceWindow[]): boolean {
  const open = new Uint8Array(7 * 1440);
  for (const window of windows) {
    const [hours, minutes] = window.start.split(':').map(Number) as [number, number];
    WEEK_DAYS.forEach((day, index) => {
      if (window.days && !window.days.includes(day)) return;
      const opens = index * 1440 + hours * 60 + minutes;
      for (let m = 0; m < window.durationMinutes; m++) open[(opens + m) % open.length] = 1;
    });
  }
  return open.every((minute) => minute === 1);
}

export const targetSchema = z
  .strictObject({
    name,
    description: z.string().check(z.trim(), z.minLength(1, { error: 'expected a one-line description' })),
    /** GitHub repository (`owner/name`) whose pushes deploy this target. */
    repository: z.optional(
      fillable(
        matching(/^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/, 'expected a GitHub repository as "owner/name"'),
        'unfilled/unfilled',
      ),
    ),
    hosts: hostsSchema,
    deploy: z.optional(deploySchema),
    health: z.optional(healthSchema),
    backup: z.optional(z.array(backupJobSchema)),
    backupOptions: z.optional(backupOptions),
    recovery: z.optional(
      z.record(name, runbook, {
        error: (issue) =>
          issue.code === 'invalid_key'
            ? 'expected a runbook name of lowercase letters, digits and dashes (e.g. "restart-api")'
            : undefined,
      }),
    ),
    /** Scheduled maintenance jobs by name (certificates, OS updates, container and disk hygiene). */
    maintenance: z.optional(z.record(name, maintenanceJobSchema)),
    alerts: z._default(alertsSchema, {}),
  })
  .check(
    z.superRefine((target, ctx) => {
      const probes = target.health?.probes ?? [];
      const probeNames = new Set(probes.map((p) => p.name));
      const isLocal = target.hosts.type === 'local';
      uniqueHosts(target.hosts, ctx);
      uniqueNames(probes, ctx, ['health', 'probes']);
      uniqueNames(target.deploy?.steps ?? [], ctx, ['deploy', 'steps']);
      uniqueNames(target.deploy?.rollback ?? [], ctx, ['deploy', 'rollback']);
      uniqueNames(target.deploy?.verify ?? [], ctx, ['deploy', 'verify']);
      const groups = target.deploy?.loadBalancer?.targetGroups ?? [];
      groups.forEach((arn, i) => {
        if (groups.indexOf(arn) !== i) {
          ctx.addIssue({
            code: 'custom',
            message: `duplicate target group "${arn}"`,
            path: ['deploy', 'loadBalancer', 'targetGroups', i],
          });
        }
        const region = arn.split(':')[3];
        const hostsRegion = target.hosts.type === 'ec2' ? target.hosts.region : undefined;
        // A marker stands for what the document does not give: no region to compare yet.
        const marked = arn.includes('<unfilled: ') || hostsRegion?.includes('<unfilled: ');
        if (hostsRegion !== undefined && !marked && region !== hostsRegion) {
          ctx.addIssue({
            code: 'custom',
            message: `target group in ${region}, but the hosts are in ${hostsRegion}`,
            path: ['deploy', 'loadBalancer', 'targetGroups', i],
          });
        }
      });
      uniqueNames(target.backup ?? [], ctx, ['backup']);

      target.deploy?.healthGate.probes.forEach((probe, i) => {
        if (!probeNames.has(probe)) {
          ctx.addIssue({
            code: 'custom',
            message: `no health probe named "${probe}"`,
            path: ['deploy', 'healthGate', 'probes', i],
          });
        }
      });
      if (isLocal) {
        probes.forEach((probe, i) => {
          if (probe.type === 'ec2-status' || probe.type === 'ssm-agent') {
            ctx.addIssue({
              code: 'custom',
              message: `a "${probe.type}" probe needs ec2 hosts`,
              path: ['health', 'probes', i, 'type'],
            });
          }
        });
        if (target.deploy?.snapshotBeforeDeploy?.ebs) {
          ctx.addIssue({
            code: 'custom',
            message: 'EBS snapshots need ec2 hosts',
            path: ['deploy', 'snapshotBeforeDeploy', 'ebs'],
          });
        }
        if (target.deploy?.snapshotBeforeDeploy?.rdsInstance) {
          ctx.addIssue({
            code: 'custom',
            message: "RDS snapshots before a deploy need ec2 hosts (their region is the hosts' region)",
            path: ['deploy', 'snapshotBeforeDeploy', 'rdsInstance'],
          });
        }
      }
      checkBackups(target, ctx);
      const dumps = new Set((target.backup ?? []).filter((b) => b.type === 'dump').map((b) => b.name));
      for (const [runbookName, rb] of Object.entries(target.recovery ?? {})) {
        uniqueNames(rb.steps, ctx, ['recovery', runbookName, 'steps']);
        rb.steps.forEach((step, i) => {
          if (step.type === 'restore-dump' && !dumps.has(step.backup)) {
            ctx.addIssue({
              code: 'custom',
              message: `no dump backup named "${step.backup}"`,
              path: ['recovery', runbookName, 'steps', i, 'backup'],
            });
          }
          if (
            isLocal &&
            ['reboot', 'restore-volume', 'replace-instance', 'restore-rds'].includes(step.type)
          ) {
            ctx.addIssue({
              code: 'custom',
              message: `a "${step.type}" step needs ec2 hosts`,
              path: ['recovery', runbookName, 'steps', i, 'type'],
            });
          }
        });
        rb.steps.forEach((step, i) => {
          if (
            step.type === 'restart' &&
            step.composeFile !== undefined &&
            step.manager !== 'docker-compose'
          ) {
            ctx.addIssue({
              code: 'custom',
              message: 'a compose file only applies to the "docker-compose" manager',
              path: ['recovery', runbookName, 'steps', i, 'composeFile'],
            });
          }
        });
        rb.steps.forEach((step, i) => {
          if (step.type === 'restore-rds' && step.snapshotParam && !rb.params?.[step.snapshotParam]) {
            ctx.addIssue({
              code: 'custom',
              message: `no runbook parameter named "${step.snapshotParam}"`,
              path: ['recovery', runbookName, 'steps', i, 'snapshotParam'],
            });
          }
        });
        for (const [paramName, param] of Object.entries(rb.params ?? {})) {
          if (param.default !== undefined && typeof param.default !== param.type) {
            ctx.addIssue({
              code: 'custom',
              message: `expected a default of type ${param.type}`,
              path: ['recovery', runbookName, 'params', paramName, 'default'],
            });
          }
        }
        rb.verify?.forEach((probe, i) => {
          if (!probeNames.has(probe)) {
            ctx.addIssue({
              code: 'custom',
              message: `no health probe named "${probe}"`,
              path: ['recovery', runbookName, 'verify', i],
            });
          }
        });
      }
      for (const [jobName, job] of Object.entries(target.maintenance ?? {})) {
        uniqueNames(job.steps, ctx, ['maintenance', jobName, 'steps']);
        for (const field of ['healthGate', 'mute'] as const) {
          job[field].forEach((probe, i) => {
            if (!probeNames.has(probe)) {
              ctx.addIssue({
                code: 'custom',
                message: `no health probe named "${probe}"`,
                path: ['maintenance', jobName, field, i],
              });
            }
          });
        }
      }
      probes.forEach((probe, i) => {
        if (probe.type === 'http' && probe.minCertDaysLeft !== undefined) {
          if (probe.from === 'host') {
            ctx.addIssue({
              code: 'custom',
              message: 'a certificate condition needs the request made from outside (from: "outside")',
              path: ['health', 'probes', i, 'minCertDaysLeft'],
            });
          } else if (!probe.url.startsWith('https://')) {
            ctx.addIssue({
              code: 'custom',
              message: 'a certificate condition needs an https:// URL',
              path: ['health', 'probes', i, 'minCertDaysLeft'],
            });
          }
        }
      });
      const onFailure = target.health?.onFailure?.runbook;
      if (onFailure && !target.recovery?.[onFailure]) {
        ctx.addIssue({
          code: 'custom',
          message: `no recovery runbook named "${onFailure}"`,
          path: ['health', 'onFailure', 'runbook'],
        });
      }
      if (target.health) checkHealthRouting(target.health, target.recovery ?? {}, ctx);
    }),
  );

/** A target as written in a target file (defaults not yet applied). */
export type TargetInput = z.input<typeof targetSchema>;
/** A validated target, defaults applied. */
export type Target = z.output<typeof targetSchema>;
export type Hosts = Target['hosts'];
export type Probe = z.output<typeof probeSchema>;
export type BackupJob = z.output<typeof backupJobSchema>;
export type BackupRetention = BackupJob['retention'];
export type DumpBackupJob = Extract<BackupJob, { type: 'dump' }>;
export type DeployStep = z.output<typeof stepSchema>;
export type Runbook = z.output<typeof runbook>;
export type RunbookStep = z.output<typeof runbookStep>;
export type RunbookParam = z.output<typeof runbookParam>;
export type HttpProbe = z.output<typeof httpProbe>;
export type CommandProbe = z.output<typeof commandProbe>;
export type TcpProbe = z.output<typeof tcpProbe>;
export type DnsProbe = z.output<typeof dnsProbe>;
export type SystemdProbe = z.output<typeof systemdProbe>;
export type DockerProbe = z.output<typeof dockerProbe>;
export type DiskProbe = z.output<typeof diskProbe>;
export type MemoryProbe = z.output<typeof memoryProbe>;
export type MaintenanceWindow = z.output<typeof maintenanceWindow>;
export type Health = z.output<typeof healthSchema>;

/**
 * Declares a target with its type checked by the editor; validation happens when it is loaded.
 *
 * @example
 * export default defineTarget({
 *   name: 'zmanim',
 *   description: 'Go API on Amazon Linux',
 *   hosts: { type: 'ec2', region: 'us-east-1', tags: { App: 'zmanim' }, user: 'ec2-user', workingDirectory: '/opt/zmanim' },
 * });
 */
export function defineTarget(target: TargetInput): TargetInput {
  return target;
}
