import type { Probe } from '../config/schema.ts';

/**
 * Ports: one interface per capability. Each has an AWS adapter and a local adapter; which one a
 * run uses follows from what the target declares (`ec2` hosts → AWS, `local` hosts → local).
 */

/** A host a command can run on, as resolved for one run. */
export type HostRef =
  | { kind: 'ec2'; id: string; region: string }
  | {
      kind: 'local';
      /** Stable id for messages and results, e.g. `local:lab/app`. */
      id: string;
      /** Absolute directory the scripts run in. */
      directory: string;
    };

/** A script to run on a set of hosts. */
export interface CommandRequest {
  hosts: HostRef[];
  /** A complete script from `renderScript`. */
  script: string;
  /** Seconds the script may run on each host before it is killed. */
  timeoutSeconds: number;
  /** Directory on the host (ec2); local hosts run in their own directory. */
  workingDirectory?: string;
  /** Shown in the SSM console and logs, at most 100 characters. */
  comment: string;
  /** SSM rate control: hosts at a time and errors tolerated, as a count or a percentage. */
  maxConcurrency?: string;
  maxErrors?: string;
  /**
   * Makes the send idempotent: a second send with the same key (a retried Lambda) finds the
   * command the first one sent and returns it instead of running the script again. The key names
   * the run, phase and batch; `since` (ISO time, e.g. the run's start) bounds the search.
   */
  idempotency?: { key: string; since: string };
}

/** Identifies a sent command so that its status can be read later, by another invocation. */
export interface CommandHandle {
  /** The command (the first one when the hosts took several calls). */
  commandId: string;
  hosts: HostRef[];
  /**
   * Every command, in host order, when the hosts took more than one call (SSM sends to at most
   * 50 instances per call: command `i` covers hosts `50·i` to `50·i + 49`).
   */
  commandIds?: string[];
}

export type InvocationState = 'pending' | 'running' | 'succeeded' | 'failed' | 'timed-out' | 'cancelled';

/** The result of a command on one host. */
export interface InvocationResult {
  hostId: string;
  state: InvocationState;
  exitCode?: number;
  /** The end of stdout and stderr, at most {@link OUTPUT_TAIL_LIMIT} characters. */
  outputTail: string;
}

/** SSM keeps at most 24,000 characters of output inline; tails are kept within it. */
export const OUTPUT_TAIL_LIMIT = 24_000;

/** Milliseconds between two status reads of an SSM command: SSM's API is rationed per account. */
export const SSM_STATUS_PACE_MS = 2_000;

/** Milliseconds between two status reads of an AWS snapshot or backup job (EC2, RDS, AWS Backup). */
export const AWS_COPY_STATUS_PACE_MS = 2_000;

/** Runs scripts on hosts and reports their status without blocking. */
export interface CommandRunner {
  send(request: CommandRequest): Promise<CommandHandle>;
  /** One status read; never waits for the command to finish. */
  status(handle: CommandHandle): Promise<InvocationResult[]>;
  /**
   * Milliseconds to leave between two status reads, when the service rations them (AWS: 2 s,
   * growing to 5 s); a local runner leaves it unset and is read as often as the poll likes.
   */
  readonly statusPaceMs?: number;
}

/** The host selection of a target, as declared. */
export type HostSelector =
  | { type: 'ec2'; region: string; instanceIds: string[] }
  | { type: 'ec2'; region: string; tags: Record<string, string> }
  | {
      type: 'local';
      /** One directory, or several: one host each, in this order. */
      directory: string | string[];
    };

/** Finds the hosts a target runs on, keeping only those that can take commands now. */
export interface HostDirectory {
  resolve(selector: HostSelector): Promise<HostRef[]>;
  /**
   * The hosts that can take commands now, and the running ones that cannot, with why (an SSM
   * agent `ConnectionLost`): health reports those down instead of skipping them.
   */
  survey?(selector: HostSelector): Promise<HostSurvey>;
}

/** What {@link HostDirectory.survey} finds. */
export interface HostSurvey {
  reachable: HostRef[];
  unreachable: { host: HostRef; why: string }[];
}

/** A snapshot a deploy took before it changed anything, as its tags describe it. */
export interface PreDeploySnapshot {
  kind: 'ebs' | 'rds';
  id: string;
  region: string;
  /** The deploy run that took it (`stepops:run`). */
  runId?: string;
  tags: Record<string, string>;
  createdAt: string;
  state: 'pending' | 'completed' | 'failed';
}

/** Creates snapshots of the hosts' volumes (and databases) before a deploy. */
export interface SnapshotService {
  /**
   * The target's pre-deploy snapshots: EBS snapshots tagged `stepops:target` and
   * `stepops:reason=pre-deploy` in the region, and the manual snapshots of `rdsInstance` so tagged.
   */
  listPreDeploy?(request: {
    target: string;
    region: string;
    rdsInstance?: string;
  }): Promise<PreDeploySnapshot[]>;
  /** Deletes one pre-deploy snapshot; refuses one whose tags do not name the target and pre-deploy. */
  deletePreDeploy?(snapshot: PreDeploySnapshot, target: string): Promise<void>;
  /** Snapshots every EBS volume attached to the hosts; returns the snapshot ids. */
  snapshotVolumes(hosts: HostRef[], tags: Record<string, string>): Promise<string[]>;
  /** Starts an RDS snapshot of a DB instance; returns its identifier. */
  snapshotDatabase(region: string, dbInstance: string, tags: Record<string, string>): Promise<string>;
}

export type WorkflowName = 'deploy' | 'backup' | 'health' | 'recover' | 'maintenance';
export type Outcome =
  | 'succeeded'
  | 'failed'
  | 'rolled-back'
  | 'rollback-failed'
  | 'awaiting-approval'
  /** A scheduled maintenance that found the target held by another run: nothing ran. */
  | 'skipped';

/** One alert: what happened to which run, with what it needs to be acted on. */
export interface Notification {
  target: string;
  workflow: WorkflowName;
  outcome: Outcome;
  runId: string;
  /** One line for a human, e.g. `deploy of v3 failed the health gate and was rolled back to health`. */
  summary: string;
  ref?: string;
  failedState?: string;
  error?: string;
  cause?: string;
  host?: string;
  outputTail?: string;
  /** Link to the execution in the Step Functions console (AWS runs). */
  executionUrl?: string;
  /** Links a person can follow to act (approve or reject a recovery). */
  actions?: { label: string; url: string }[];
  at: string;
}

/** Delivers notifications (SNS, the local outbox, Slack). */
export interface Notifier {
  publish(notification: Notification): Promise<void>;
}

/** A lease on a key, held by one owner until released or expired. */
export interface Lease {
  key: string;
  owner: string;
  /** Epoch seconds after which the lease is free again. */
  expiresAt: number;
  /**
   * The execution ARN of the run holding the lease (`$$.Execution.Id`): health counts a target's
   * lease only while that execution runs (a stopped or dead run's leftover lease mutes nothing).
   */
  execution?: string;
  /** Set when a maintenance run holds the lease: its job and the probes it mutes. */
  maintenance?: LeaseMaintenance;
}

/** What a maintenance run holding a target's lease does: health mutes only these probes meanwhile. */
export interface LeaseMaintenance {
  job: string;
  mute: string[];
}

/** What a lease says besides its owner: the run's execution, and a maintenance run's job. */
export interface LeaseDetails {
  execution?: string | undefined;
  maintenance?: LeaseMaintenance | undefined;
}

/** Per-target leases (DynamoDB in AWS, a file locally). */
export interface LeaseStore {
  /**
   * Takes the lease (saying the run's execution and, for a maintenance run, its job and muted
   * probes), or returns the lease that holds the key now. A renewal by the same owner replaces the
   * lease whole: it passes the details again to keep them.
   */
  acquire(
    key: string,
    owner: string,
    ttlSeconds: number,
    details?: LeaseDetails,
  ): Promise<{ acquired: true } | { acquired: false; heldBy: Lease }>;
  /** Releases the lease if `owner` still holds it; releasing a lease not held is not an error. */
  release(key: string, owner: string): Promise<void>;
  /** The lease that holds the key now, if any and not expired. */
  holder(key: string): Promise<Lease | undefined>;
}

/** The result of one probe against one endpoint or host. */
export interface ProbeResult {
  probe: string;
  ok: boolean;
  /** Why it failed, or a short description of what passed (`200 in 12 ms`). */
  detail: string;
  latencyMs?: number;
  /** The host a host-scoped probe (`command`, `ec2-status`, `ssm-agent`) ran against. */
  host?: string;
}

/**
 * Runs a target's probes once. Endpoint probes (`http`, `tls`) give one result; host-scoped probes
 * (`command`, `ec2-status`, `ssm-agent`) give one result per host, each naming its host.
 */
export interface ProbeRunner {
  run(probe: Probe, hosts: HostRef[]): Promise<ProbeResult[]>;
  /**
   * Runs several probes in one go; a runner that has it sends all of a round's host-side probes
   * to the hosts as one command.
   */
  runAll?(probes: readonly Probe[], hosts: HostRef[]): Promise<ProbeResult[]>;
}

/** A target's recorded health, as the state store keeps it: an opaque JSON body and its version. */
export interface HealthRecord {
  /** Increases by one on every write; 0 when nothing was recorded yet. */
  version: number;
  /** The state, as JSON. */
  body: string;
}

/** Keeps each target's probe states between checks (DynamoDB on AWS, a file locally). */
export interface HealthStateStore {
  read(target: string): Promise<HealthRecord | undefined>;
  /**
   * Writes the body as version `expectedVersion + 1` only if the stored version is still
   * `expectedVersion` (0: nothing stored); false when another run wrote first.
   */
  write(target: string, body: string, expectedVersion: number): Promise<boolean>;
}

/**
 * A target's uptime history: one record per finished day (`YYYY-MM-DD`, UTC), an opaque JSON body,
 * kept {@link HEALTH_HISTORY_DAYS} days.
 */
export interface HealthHistoryStore {
  /** Stores (or replaces) a day's record. */
  writeDay(target: string, day: string, body: string): Promise<void>;
  /** The records of the given days that exist, by day. */
  readDays(target: string, days: readonly string[]): Promise<Record<string, string>>;
}

/** Days a health history record is kept. */
export const HEALTH_HISTORY_DAYS = 90;

/** A request to start a target's recovery runbook. */
export interface RecoveryRequest {
  target: string;
  runbook: string;
  /** Why, in one line (`site is down: expected status 200, got 503`). */
  reason: string;
  /** The health run that asks; makes the start idempotent per run. */
  runId: string;
  requestedBy: string;
  /** The EC2 instance every down probe failed on, when there is one: the runbook acts on it. */
  instance?: string;
}

/** Starts recovery runbooks (the recover state machine on AWS; recorded locally). */
export interface RecoveryStarter {
  start(request: RecoveryRequest): Promise<{ executionId: string }>;
}

/** Reads who holds a lease, without taking it. */
export interface LeaseReader {
  holder(key: string): Promise<Lease | undefined>;
}

/** Whether a run is still alive: true, false once it ended or its process died, undefined when unknown. */
export interface RunLiveness {
  alive(runId: string): Promise<boolean | undefined>;
}

/** The health of one host in one load balancer target group, as ELBv2 reports it. */
export interface TargetHealthResult {
  targetGroup: string;
  hostId: string;
  /** `initial`, `healthy`, `unhealthy`, `unused` (not registered), `draining`, `unavailable`, … */
  state: string;
  /** ELBv2's reason code, e.g. `Target.DeregistrationInProgress`, `Target.NotRegistered`. */
  reason?: string;
  description?: string;
}

/**
 * Load balancer target groups the hosts serve in (ALB/NLB target groups in AWS, a file locally):
 * a batch leaves them while it deploys and joins them again once healthy.
 */
export interface LoadBalancer {
  /** Starts removing the hosts from the group (connections drain); hosts not registered are fine. */
  deregister(targetGroup: string, hosts: HostRef[]): Promise<void>;
  /** Adds the hosts to the group (health checks start). */
  register(targetGroup: string, hosts: HostRef[]): Promise<void>;
  /** The state of each host in the group, one result per host, in order. */
  health(targetGroup: string, hosts: HostRef[]): Promise<TargetHealthResult[]>;
}

// ── Backups ─────────────────────────────────────────────────────────────────────────────────────

/** The kinds of copy a backup job makes. */
export type BackupKind = 'ebs-snapshot' | 'rds-snapshot' | 'aws-backup' | 'dump';

/** Where a copy stands: being made, usable, unusable, or removed by retention. */
/**
 * What became of a copy. `deleting`: a prune is deleting it (written before the first delete, so
 * that a prune which dies midway leaves no good entry for a copy that is gone; the next prune
 * finishes or undoes it).
 */
export type CopyOutcome = 'running' | 'good' | 'failed' | 'deleting' | 'deleted';

/**
 * One resource a copy is made of: an EBS snapshot (`snap-…`), an RDS snapshot identifier, an AWS
 * Backup recovery point ARN, an object key (dumps), or a directory (local snapshots).
 */
export interface CopyResource {
  id: string;
  region?: string;
}

/** The outcome of a restore test of one copy. */
export interface RestoreTestResult {
  /** ISO time the test finished. */
  at: string;
  ok: boolean;
  /** What was checked, or why it failed (never a secret). */
  detail: string;
  runId: string;
}

/**
 * One copy in the catalogue: what one run of one backup job made. The key is (target, backup,
 * runId). The recovery runbooks read it to find the newest good copy of a backup: the `good`
 * entry with the latest `startedAt` as an instant (ISO texts of one instant differ), neither
 * `adopted` nor dated in the future.
 */
export interface CatalogueEntry {
  target: string;
  /** The backup job's name in the target file. */
  backup: string;
  runId: string;
  kind: BackupKind;
  /**
   * Where the copy is: `s3://bucket/key` or `file:///…` for dumps, `ec2:<region>:snap-…[,snap-…]`,
   * `rds:<region>:<snapshot id>`, a recovery point ARN, or `dir:///…` for local snapshots.
   */
  location: string;
  resources: CopyResource[];
  sizeBytes?: number;
  /** Hex SHA-256 of a dump, as computed on the host before the upload. */
  sha256?: string;
  /** ISO times. */
  startedAt: string;
  finishedAt?: string;
  outcome: CopyOutcome;
  /** Why the copy failed (`failed`), or the retention rule that removed it (`deleted`). */
  error?: string;
  /** The copy was found by its tags after a run that did not record it (a crash). */
  adopted?: boolean;
  /** The latest restore test of this copy. */
  restoreTest?: RestoreTestResult;
  /** While `deleting`: the outcome the entry had before, restored if the copy is found whole. */
  deletingFrom?: 'good' | 'failed';
  deletedAt?: string;
}

/** Every copy stepops made, with its outcome (DynamoDB in AWS, a JSON file locally). */
export interface BackupCatalogue {
  /** Creates or replaces the entry of (target, backup, runId). */
  put(entry: CatalogueEntry): Promise<void>;
  /**
   * Creates the entry of (target, backup, runId) only if there is none, atomically (a conditional
   * write): false when one exists. Adopting a copy uses it, so an adoption never overwrites what
   * the run that made the copy recorded.
   */
  create(entry: CatalogueEntry): Promise<boolean>;
  /**
   * Replaces the entry of (target, backup, runId) only if it exists with outcome `outcome`,
   * atomically (a conditional write): false otherwise. A read-then-write (a restore test's result)
   * uses it, so a prune that marked the copy `deleting` or `deleted` in between is never undone.
   */
  replaceIf(entry: CatalogueEntry, outcome: CatalogueEntry['outcome']): Promise<boolean>;
  get(target: string, backup: string, runId: string): Promise<CatalogueEntry | undefined>;
  /** The entries of a target (of one backup when given), newest `startedAt` first. */
  list(target: string, backup?: string): Promise<CatalogueEntry[]>;
}

/** What to copy: one run of a snapshot-type job. */
export type CopyRequest =
  | {
      kind: 'ebs-snapshot';
      hosts: HostRef[];
      /** Named volumes (`CreateSnapshot` each) instead of every volume of the hosts. */
      volumes?: string[];
      region?: string;
      tags: Record<string, string>;
      description: string;
    }
  | {
      kind: 'rds-snapshot';
      region: string;
      dbInstance?: string;
      dbCluster?: string;
      snapshotId: string;
      tags: Record<string, string>;
    }
  | {
      kind: 'aws-backup';
      region: string;
      vault: string;
      iamRoleArn: string;
      resourceArns: string[];
      tags: Record<string, string>;
      deleteAfterDays?: number;
      idempotencyToken: string;
    };

/** A copy once started: its kind and resources (AWS Backup: job ids until the jobs complete). */
export interface CopyRef {
  kind: Exclude<BackupKind, 'dump'>;
  resources: CopyResource[];
  /** RDS: a cluster snapshot. */
  cluster?: boolean;
  /** AWS Backup: the vault the recovery points are in. */
  vault?: string;
}

export type CopyState = 'pending' | 'completed' | 'failed';

/** One status read of a copy. */
export interface CopyStatus {
  state: CopyState;
  /** The resources as they are now (AWS Backup: the recovery points once the jobs complete). */
  resources: CopyResource[];
  sizeBytes?: number;
  detail: string;
  /**
   * Resources the service does not show yet (`*.NotFound` right after their creation: eventual
   * consistency). The copy is `pending`; whoever polls decides how long that may last.
   */
  unseen?: string[];
}

/** A copy found by its stepops tags, grouped by the run that made it. */
export interface TaggedCopy {
  runId: string;
  resources: CopyResource[];
  state: CopyState;
  /**
   * ISO time of the copy: its newest resource's (a copy is as new as its newest part, so that a
   * part dated in the future makes the whole copy suspect, and retention keeps it longest).
   */
  createdAt: string;
  sizeBytes?: number;
}

/** Which tagged copies to list: a target's backup job in a region (and vault). */
export interface CopyScope {
  kind: Exclude<BackupKind, 'dump'>;
  target: string;
  backup: string;
  region?: string;
  vault?: string;
  cluster?: boolean;
  /** RDS: the DB instance (or, with `cluster`, the DB cluster) whose snapshots are listed. */
  database?: string;
  /**
   * AWS Backup: the job's catalogue entries. EC2 and EBS recovery points carry no AWS Backup tags,
   * so such a point is the job's only when an entry recorded it from the backup job stepops started.
   */
  catalogued?: readonly { runId: string; resources: readonly { id: string }[] }[];
}

/** Snapshots and recovery points: start, read, list by tag, delete (EC2, RDS, AWS Backup; directory copies locally). */
export interface CopyService {
  /** Milliseconds to leave between two status reads (see {@link CommandRunner.statusPaceMs}). */
  readonly statusPaceMs?: number;
  start(request: CopyRequest): Promise<CopyRef>;
  /** One status read; never waits. */
  status(ref: CopyRef): Promise<CopyStatus>;
  /** Copies carrying `stepops:target` = target and `stepops:backup` = backup. */
  listTagged(scope: CopyScope): Promise<TaggedCopy[]>;
  /**
   * Deletes a copy; refuses ({@link CopyRef} untouched) one whose resources do not all carry the
   * stepops tags of `scope` and `stepops:run` = `runId`, the run that made it.
   */
  remove(ref: CopyRef, scope: CopyScope, runId: string): Promise<void>;
}

/** An object in the dump store. */
export interface StoredObject {
  key: string;
  sizeBytes: number;
  tags: Record<string, string>;
  /** ISO time. */
  lastModified: string;
}

/** Where dumps go (S3 in AWS, a directory locally). */
export interface ObjectStore {
  /**
   * Where a host puts one object: a presigned `https://` PUT URL valid for `expiresInSeconds`
   * (the tags signed in, sent as `x-amz-tagging`), or a `file://` path locally.
   */
  uploadUrl(
    bucket: string,
    key: string,
    tags: Record<string, string>,
    expiresInSeconds: number,
  ): Promise<string>;
  /** Where a host reads one object: a presigned GET URL, or a `file://` path. */
  downloadUrl(bucket: string, key: string, expiresInSeconds: number): Promise<string>;
  /** The object's size and tags, or `undefined` when there is none. */
  head(bucket: string, key: string): Promise<StoredObject | undefined>;
  /** Every object under a prefix, with its tags. */
  list(bucket: string, prefix: string): Promise<StoredObject[]>;
  remove(bucket: string, key: string): Promise<void>;
  /** The URI that names an object in the catalogue (`s3://bucket/key`, `file:///…`). */
  uri(bucket: string, key: string): string;
}

/** A temporary database restored from a snapshot for a restore test. */
export interface ScratchDatabase {
  id: string;
  region: string;
  /** The temporary Aurora cluster the instance `id` belongs to (a cluster snapshot's restore). */
  cluster?: string;
}

/** Restore tests of RDS snapshots: restore to a temporary instance, read it, delete it. */
export interface ScratchDatabases {
  /**
   * Restores a snapshot to a new instance tagged for stepops (a cluster snapshot: a new cluster
   * named `instanceId` and one instance in it); returns it.
   */
  restore(request: {
    region: string;
    snapshotId: string;
    cluster?: boolean;
    /** A cluster snapshot's engine (`aurora-postgresql`, `aurora-mysql`). */
    engine?: string;
    instanceId: string;
    instanceClass: string;
    /** Without it, RDS uses the default VPC's subnet group. */
    dbSubnetGroup?: string;
    securityGroupIds?: string[];
    tags: Record<string, string>;
  }): Promise<ScratchDatabase>;
  /**
   * The instance's status (`creating`, `available`, `failed`, …) and endpoint, or `missing`. For a
   * cluster whose instance is gone: `cluster-<status>` until the cluster is gone too.
   */
  status(db: ScratchDatabase): Promise<{ status: string; endpoint?: string }>;
  /**
   * Deletes the instance without a final snapshot (for a cluster whose instance is gone: the
   * cluster); refuses one not tagged by stepops.
   */
  remove(db: ScratchDatabase): Promise<void>;
}

// ── recovery ────────────────────────────────────────────────────────────────────────────────────

/** An EC2 instance as recovery sees it. */
export interface InstanceInfo {
  id: string;
  /** `pending`, `running`, `stopping`, `stopped`, `shutting-down`, `terminated`. */
  state: string;
  instanceType?: string;
  imageId?: string;
  subnetId?: string;
  availabilityZone?: string;
  securityGroupIds: string[];
  iamInstanceProfileArn?: string;
  keyName?: string;
  tags: Record<string, string>;
  /** Attached EBS volumes by device name. */
  volumes: { device: string; volumeId: string }[];
}

/** Whether an instance can take work: running, both status checks passed, SSM agent online. */
export interface InstanceReadiness {
  id: string;
  state: string;
  /** Instance and system status checks both `ok`. */
  statusOk: boolean;
  agentOnline: boolean;
}

/** What a new instance is launched with. */
export interface LaunchSpec {
  /** A launch template (its AMI and settings), or the AMI with the old instance's settings. */
  launchTemplate?: { id: string; version: string };
  imageId?: string;
  instanceType?: string;
  subnetId?: string;
  securityGroupIds?: string[];
  iamInstanceProfileArn?: string;
  keyName?: string;
  tags: Record<string, string>;
  /** Idempotency token: a retried launch returns the same instance. */
  clientToken: string;
}

/** EC2 actions of the recovery runbooks (reboot, restore a volume, replace an instance). */
export interface InstanceOperations {
  /** Instances of a selector in any state but terminated. */
  find(selector: HostSelector): Promise<InstanceInfo[]>;
  describe(region: string, id: string): Promise<InstanceInfo | undefined>;
  /** Readiness of many instances (DescribeInstanceStatus in chunks of 100, agent pings in chunks of 50). */
  readiness(region: string, ids: string[]): Promise<InstanceReadiness[]>;
  reboot(region: string, ids: string[]): Promise<void>;
  stop(region: string, ids: string[]): Promise<void>;
  start(region: string, ids: string[]): Promise<void>;
  /** A snapshot by id, or the newest completed stepops snapshot of a volume; undefined when none. */
  findSnapshot(
    region: string,
    query: { snapshotId: string } | { volumeId: string; target: string },
  ): Promise<{ snapshotId: string; state: string; volumeSize?: number } | undefined>;
  /** An AMI by id, or the newest available AMI tagged for the target, with the devices it maps; undefined when none. */
  findImage(
    region: string,
    query: { imageId: string } | { target: string },
  ): Promise<{ imageId: string; devices: string[] } | undefined>;
  /** A launch template by id; undefined when it does not exist. */
  findLaunchTemplate(region: string, id: string): Promise<{ id: string; name: string } | undefined>;
  /** What one version of a launch template launches; undefined when that version does not exist. */
  launchTemplateData(region: string, id: string, version: string): Promise<LaunchTemplateData | undefined>;
  /** The availability zone of a subnet; undefined when it does not exist. */
  subnetZone(region: string, subnetId: string): Promise<string | undefined>;
  /** An Elastic IP of this account by allocation id; undefined when the account has none such. */
  findAddress(
    region: string,
    allocationId: string,
  ): Promise<{ allocationId: string; publicIp: string; instanceId?: string } | undefined>;
  createVolume(region: string, spec: VolumeSpec): Promise<string>;
  /** A volume created earlier with this client token (tag `stepops:client-token`), when any: a retried create finds it. */
  findCreatedVolume(region: string, clientToken: string): Promise<string | undefined>;
  /** The state of a volume (`creating`, `available`, `in-use`, …), its attachment and settings. */
  volume(region: string, id: string): Promise<VolumeInfo | undefined>;
  detachVolume(region: string, volumeId: string, instanceId: string): Promise<void>;
  attachVolume(region: string, volumeId: string, instanceId: string, device: string): Promise<void>;
  launch(region: string, spec: LaunchSpec): Promise<string>;
  associateAddress(region: string, allocationId: string, instanceId: string): Promise<void>;
  tag(region: string, ids: string[], tags: Record<string, string>): Promise<void>;
  /** Removes the tag keys from the resources. */
  untag(region: string, ids: string[], keys: string[]): Promise<void>;
  terminate(region: string, ids: string[]): Promise<void>;
}

/** A volume as a restore or a replacement reads it. */
export interface VolumeInfo {
  state: string;
  instanceId?: string;
  attachment?: string;
  availabilityZone?: string;
  /** gp3, io2, … */
  type?: string;
  iops?: number;
  /** MiB/s (gp3). */
  throughput?: number;
  encrypted?: boolean;
  kmsKeyId?: string;
}

/** A volume to create from a snapshot, with the settings of the one it replaces. */
export interface VolumeSpec {
  snapshotId: string;
  availabilityZone: string;
  volumeType?: string;
  iops?: number;
  throughput?: number;
  /** The customer-managed key of the volume replaced (the snapshot's own key otherwise). */
  kmsKeyId?: string;
  tags: Record<string, string>;
}

/** What a launch template version launches, as the pre-flight checks it. */
export interface LaunchTemplateData {
  imageId?: string;
  /** Subnets of its network interfaces (a subnet cannot then be given with RunInstances). */
  subnetIds: string[];
  /** `Placement.AvailabilityZone`, when the template pins one. */
  availabilityZone?: string;
  /** Devices its block-device mappings use. */
  devices: string[];
  networkInterfaces: boolean;
}

/** An RDS DB instance as a restore needs it: every setting a restored copy must carry over. */
export interface DbInstanceInfo {
  id: string;
  status: string;
  instanceClass?: string;
  subnetGroup?: string;
  securityGroupIds: string[];
  parameterGroup?: string;
  multiAz?: boolean;
  endpoint?: string;
  /** The settings RDS would otherwise default on a restore (see {@link DbSettings}). */
  settings: DbSettings;
}

/**
 * The settings of a DB instance that `RestoreDBInstanceFromDBSnapshot` would otherwise set to RDS
 * defaults, as `DescribeDBInstances` reports them; the restore or a `ModifyDBInstance` after it
 * sets them back.
 */
export interface DbSettings {
  publiclyAccessible?: boolean;
  deletionProtection?: boolean;
  backupRetentionPeriod?: number;
  preferredBackupWindow?: string;
  preferredMaintenanceWindow?: string;
  iamDatabaseAuthentication?: boolean;
  monitoringInterval?: number;
  monitoringRoleArn?: string;
  /** Storage autoscaling's ceiling (GiB); absent when autoscaling is off. */
  maxAllocatedStorage?: number;
  logExports?: string[];
  optionGroup?: string;
  storageType?: string;
  iops?: number;
  storageThroughput?: number;
  copyTagsToSnapshot?: boolean;
  autoMinorVersionUpgrade?: boolean;
  port?: number;
  caCertificate?: string;
  performanceInsights?: boolean;
  performanceInsightsKmsKeyId?: string;
  performanceInsightsRetention?: number;
}

/** RDS restores to a new instance (and the optional name swap). */
export interface DatabaseRestorer {
  /**
   * A DB snapshot by id, or the newest stepops snapshot of the instance in any state that can
   * become restorable (one still `creating` is returned as such); undefined when none.
   */
  findSnapshot(
    region: string,
    query: { snapshotId: string } | { dbInstance: string; target: string },
  ): Promise<{ snapshotId: string; status: string; stepops: boolean } | undefined>;
  describe(region: string, id: string): Promise<DbInstanceInfo | undefined>;
  restore(
    region: string,
    spec: { snapshotId: string; newId: string; like: DbInstanceInfo; tags: Record<string, string> },
  ): Promise<void>;
  rename(region: string, id: string, newId: string): Promise<void>;
  /**
   * Sets on a restored instance the settings the restore call does not take (monitoring, storage
   * autoscaling, Performance Insights, maintenance window): `ModifyDBInstance`, applied immediately.
   * Returns false when none differs (no call).
   */
  applySettings(region: string, id: string, like: DbInstanceInfo): Promise<boolean>;
}

/** A pending or answered approval of a recovery run. */
export interface ApprovalRecord {
  runId: string;
  target: string;
  runbook: string;
  /** The task token to answer (never shown to people). */
  token: string;
  /** Epoch seconds after which the request can no longer be answered. */
  expiresAt: number;
  status: 'pending' | 'approved' | 'rejected';
  /** The step this approval is for (a runbook approved before each destructive step); the run when absent. */
  step?: string;
  answeredBy?: string;
  comment?: string;
}

/** Where approval requests wait for their answer (DynamoDB in AWS, files locally). */
export interface ApprovalStore {
  put(record: ApprovalRecord): Promise<void>;
  get(runId: string): Promise<ApprovalRecord | undefined>;
  /**
   * Answers a pending request once: returns the record as answered, or throws
   * `ApprovalClosedError` when it was answered already, expired or never asked. With `forStep`, only
   * the request of that step (`''`: the run's own request) is answered: a link made for one request
   * never answers a later one of the same run.
   */
  answer(
    runId: string,
    decision: 'approved' | 'rejected',
    by: string,
    comment?: string,
    forStep?: string,
  ): Promise<ApprovalRecord>;
  /**
   * Opens an answered request again when its answer could not reach the run: back to pending,
   * only if it still holds this decision by `by` (a no-op otherwise).
   */
  reopen(runId: string, decision: 'approved' | 'rejected', by: string): Promise<void>;
}

/** Answers a task token (Step Functions `SendTaskSuccess` / `SendTaskFailure`). */
export interface TaskAnswerer {
  succeed(token: string, output: unknown): Promise<void>;
  fail(token: string, error: string, cause: string): Promise<void>;
}
