/**
 * Records every AWS SDK command a Lambda handler sends in the tests, with the function that sent
 * it (the engine runs each handler call inside an invocation, `shared/engine/invocation.ts`), and
 * learns the tags AWS would know for each resource from what the mocked AWS answered (tags in
 * Describe answers, tag filters that selected a resource, tags a create request gave it).
 *
 * The workflow tests mock their clients with aws-sdk-client-mock, which replaces `send` with a
 * sinon stub: this module wraps the stubs sinon creates for `send` so that each call is seen
 * before the stub answers it.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { createRequire } from 'node:module';
import { currentInvocation } from '../../shared/engine/index.ts';

/** One command a handler sent. */
export interface RecordedCall {
  /** The `functions/<name>` that sent it. */
  functionName: string;
  /** The client class (`EC2Client`) and the command's name without `Command` (`DescribeInstances`). */
  client: string;
  command: string;
  input: Record<string, unknown>;
  /** The client's region, once resolved. */
  region: Promise<string | undefined>;
  /** The ec2 targets registered when the call was made (the stage the call belongs to). */
  targets: readonly unknown[];
  /** The state table the handler was given (`STEPOPS_STATE_TABLE`, named after the stage). */
  stateTable: string | undefined;
  /** The region the Lambda runs in (`AWS_REGION`): the stage's. */
  lambdaRegion: string | undefined;
  /** The API route that invoked the handler (`POST /approvals/{runId}/{decision}`), when one did. */
  route?: string;
}

/** Tags by resource id (instance, volume, snapshot, image id; RDS identifier; S3 bucket/key). */
export type TagBook = Map<string, Record<string, string>>;

interface RecorderState {
  calls: RecordedCall[];
  tags: TagBook;
  /** The KMS key an encrypted resource is encrypted with, by id (as {@link kmsKeyOf} reads it). */
  keys: Map<string, string>;
  /** The stage's targets at the time of a call: set by the module that checks the calls. */
  targetsNow: () => readonly unknown[];
}

const STATE = Symbol.for('stepops.iam.recorder');
const HOOKED = Symbol.for('stepops.iam.sinon-hooked');

/** The state shared by every copy of this module in the process (one per test file). */
function state(): RecorderState {
  const holder = globalThis as { [STATE]?: RecorderState };
  holder[STATE] ??= { calls: [], tags: new Map(), keys: new Map(), targetsNow: () => [] };
  return holder[STATE];
}

type Tags = { Key?: string; Value?: string }[] | undefined;
const asTags = (list: Tags): Record<string, string> =>
  Object.fromEntries((list ?? []).filter((t) => t.Key !== undefined).map((t) => [t.Key, t.Value ?? '']));

function learn(id: string | undefined, tags: Record<string, string>): void {
  if (!id || Object.keys(tags).length === 0) return;
  const book = state().tags;
  book.set(id, { ...book.get(id), ...tags });
}

/** Learns the key of an encrypted resource, as a Describe answer reports it (`Encrypted`, `KmsKeyId`). */
function learnKey(id: string, resource: Record<string, unknown>): void {
  const encrypted = resource.Encrypted ?? resource.StorageEncrypted;
  if (encrypted === true && typeof resource.KmsKeyId === 'string') state().keys.set(id, resource.KmsKeyId);
}

/** Tag filters (`tag:<key>` with one value) of a Describe request: every answer carries that tag. */
function filterTags(input: Record<string, unknown>): Record<string, string> {
  const filters = (input.Filters ?? []) as { Name?: string; Values?: string[] }[];
  return Object.fromEntries(
    filters
      .filter((f) => f.Name?.startsWith('tag:') && f.Values?.length === 1)
      .map((f) => [String(f.Name).slice(4), String(f.Values?.[0])]),
  );
}

/** Tags a create request gives the resources of a type (`TagSpecifications`). */
export function requestTags(input: Record<string, unknown>, resourceType?: string): Record<string, string> {
  const specs = (input.TagSpecifications ?? []) as { ResourceType?: string; Tags?: Tags }[];
  const fromSpecs = specs
    .filter((s) => !resourceType || s.ResourceType === resourceType)
    .flatMap((s) => s.Tags ?? []);
  return asTags([...fromSpecs, ...((input.Tags as Tags) ?? [])]);
}

/** The tag every instance of a target carries in an account set up as docs/hosts.md asks. */
export const TARGET_TAG = 'stepops:target';

/**
 * The tag an instance carries in an account set up as docs/hosts.md asks: the
 * instances a target's hosts select (by their tags or ids) are tagged `stepops:target=<target>`.
 */
function setUpAs(instanceId: string, filterTagsOfRequest: Record<string, string>): Record<string, string> {
  for (const target of state().targetsNow() as {
    name: string;
    hosts: { type: string; instanceIds?: string[]; tags?: Record<string, string> };
  }[]) {
    const hosts = target.hosts;
    const byIds = hosts.instanceIds?.includes(instanceId) ?? false;
    const byTags =
      hosts.tags !== undefined &&
      Object.keys(hosts.tags).length > 0 &&
      Object.entries(hosts.tags).every(([k, v]) => filterTagsOfRequest[k] === v);
    if (byIds || byTags) return { [TARGET_TAG]: target.name };
  }
  return {};
}

/** Learns tags from what AWS answered to a call (the mocked answer, as AWS documents it). */
function learnFromAnswer(command: string, input: Record<string, unknown>, output: unknown): void {
  const out = (output ?? {}) as Record<string, unknown>;
  const filtered = filterTags(input);
  switch (command) {
    case 'DescribeInstances':
      for (const reservation of (out.Reservations ?? []) as { Instances?: Record<string, unknown>[] }[]) {
        for (const instance of reservation.Instances ?? []) {
          const id = String(instance.InstanceId);
          const tags = { ...setUpAs(id, filtered), ...filtered, ...asTags(instance.Tags as Tags) };
          learn(instance.InstanceId as string, tags);
          for (const mapping of (instance.BlockDeviceMappings ?? []) as { Ebs?: { VolumeId?: string } }[]) {
            learn(`volumes-of:${String(instance.InstanceId)}`, { [String(mapping.Ebs?.VolumeId)]: '' });
          }
        }
      }
      break;
    case 'DescribeSnapshots':
      for (const s of (out.Snapshots ?? []) as Record<string, unknown>[]) {
        learn(s.SnapshotId as string, { ...filtered, ...asTags(s.Tags as Tags) });
        learnKey(String(s.SnapshotId), s);
      }
      break;
    case 'DescribeImages':
      for (const s of (out.Images ?? []) as Record<string, unknown>[])
        learn(s.ImageId as string, { ...filtered, ...asTags(s.Tags as Tags) });
      break;
    case 'DescribeVolumes':
      for (const s of (out.Volumes ?? []) as Record<string, unknown>[]) {
        learn(s.VolumeId as string, { ...filtered, ...asTags(s.Tags as Tags) });
        learnKey(String(s.VolumeId), s);
      }
      break;
    case 'CreateSnapshots':
      for (const s of (out.Snapshots ?? []) as Record<string, unknown>[])
        learn(s.SnapshotId as string, requestTags(input, 'snapshot'));
      break;
    case 'CreateSnapshot':
      learn(out.SnapshotId as string, requestTags(input, 'snapshot'));
      break;
    case 'CreateVolume':
      learn(out.VolumeId as string, requestTags(input, 'volume'));
      break;
    case 'RunInstances':
      for (const i of (out.Instances ?? []) as Record<string, unknown>[])
        learn(i.InstanceId as string, requestTags(input, 'instance'));
      break;
    case 'CreateTags':
      for (const id of (input.Resources ?? []) as string[]) learn(id, asTags(input.Tags as Tags));
      break;
    case 'DescribeDBSnapshots':
      for (const s of (out.DBSnapshots ?? []) as Record<string, unknown>[]) {
        learn(`rds:snapshot:${String(s.DBSnapshotIdentifier)}`, asTags(s.TagList as Tags));
        learnKey(`rds:snapshot:${String(s.DBSnapshotIdentifier)}`, s);
      }
      break;
    case 'DescribeDBClusterSnapshots':
      for (const s of (out.DBClusterSnapshots ?? []) as Record<string, unknown>[]) {
        const id = `rds:cluster-snapshot:${String(s.DBClusterSnapshotIdentifier)}`;
        learn(id, asTags(s.TagList as Tags));
        learnKey(id, s);
      }
      break;
    case 'DescribeDBInstances':
      for (const s of (out.DBInstances ?? []) as Record<string, unknown>[])
        learn(`rds:db:${String(s.DBInstanceIdentifier)}`, asTags(s.TagList as Tags));
      break;
    case 'CreateDBSnapshot':
      learn(`rds:snapshot:${String(input.DBSnapshotIdentifier)}`, asTags(input.Tags as Tags));
      break;
    case 'CreateDBClusterSnapshot':
      learn(`rds:cluster-snapshot:${String(input.DBClusterSnapshotIdentifier)}`, asTags(input.Tags as Tags));
      break;
    case 'RestoreDBInstanceFromDBSnapshot':
      learn(`rds:db:${String(input.DBInstanceIdentifier)}`, asTags(input.Tags as Tags));
      break;
    case 'ListTagsForResource':
      learn(String(input.ResourceName), asTags(out.TagList as Tags));
      break;
    case 'ListTags':
      learn(String(input.ResourceArn), (out.Tags ?? {}) as Record<string, string>);
      break;
    case 'GetObjectTagging':
      learn(`s3:${String(input.Bucket)}/${String(input.Key)}`, asTags(out.TagSet as Tags));
      break;
    default:
  }
}

/**
 * Tells the recorder a resource's tags that no recorded answer shows (the account's state before
 * the test).
 *
 * @example
 * knowTags('i-0123456789abcdef0', { 'stepops:target': 'docsai' });
 */
export function knowTags(id: string, tags: Record<string, string>): void {
  learn(id, tags);
}

/**
 * Tells the recorder the customer-managed KMS key a resource is encrypted with, when no recorded
 * answer shows it (the account's state before the test). Ids as {@link tagsOf} takes them
 * (`snap-…`, `vol-…`, `rds:snapshot:<id>`, `rds:cluster-snapshot:<id>`).
 *
 * @example
 * knowKmsKey('rds:snapshot:stepops-datizmo-20260101', 'arn:aws:kms:us-east-1:123456789012:key/…');
 */
export function knowKmsKey(id: string, keyId: string): void {
  state().keys.set(id, keyId);
}

/** The KMS key a resource is known to be encrypted with, if any. */
export function kmsKeyOf(id: string): string | undefined {
  return state().keys.get(id);
}

/** The tags known for a resource id. */
export function tagsOf(id: string): Record<string, string> {
  return state().tags.get(id) ?? {};
}

/** The volume ids DescribeInstances reported for an instance. */
export function volumesOf(instanceId: string): string[] {
  return Object.keys(state().tags.get(`volumes-of:${instanceId}`) ?? {});
}

/** Every call recorded so far in this process (this test file). */
export function recordedCalls(): readonly RecordedCall[] {
  return state().calls;
}

/** Forgets the calls and tags recorded so far. */
export function clearRecorded(): void {
  state().calls.length = 0;
  state().tags.clear();
  state().keys.clear();
}

/** Sets how the stage's targets are read at each call (the checking module does). */
export function setTargetsSource(source: () => readonly unknown[]): void {
  state().targetsNow = source;
}

interface SinonStubLike {
  invoke(func: unknown, thisValue: unknown, args: unknown[]): unknown;
}

/** The API route a test invokes a handler through (see {@link withinRoute}). */
const routeScope = new AsyncLocalStorage<string>();

/**
 * Runs `call` as API Gateway's `route` would invoke the handler: the calls it sends are checked
 * against the deployment that serves that route only (one handler can serve several routes, each
 * with its own role).
 *
 * @example
 * await withinRoute('POST /approvals/{runId}/{decision}', () => invoke('answer-approval', event));
 */
export function withinRoute<T>(route: string, call: () => T): T {
  return routeScope.run(route, call);
}

function record(client: unknown, command: unknown): ((output: unknown) => void) | undefined {
  const invocation = currentInvocation();
  if (!invocation || typeof command !== 'object' || command === null) return undefined;
  const name = (command.constructor as { name?: string }).name ?? '';
  const input = ((command as { input?: unknown }).input ?? {}) as Record<string, unknown>;
  const config = (client as { config?: { region?: unknown } }).config;
  const region = (async () => {
    const value = config?.region;
    try {
      return typeof value === 'function' ? String(await value()) : value ? String(value) : undefined;
    } catch {
      return undefined;
    }
  })();
  const commandName = name.replace(/Command$/, '');
  state().calls.push({
    functionName: invocation.functionName,
    client: (client as { constructor?: { name?: string } }).constructor?.name ?? 'unknown',
    command: commandName,
    input,
    region,
    ...(routeScope.getStore() ? { route: routeScope.getStore() } : {}),
    targets: state().targetsNow(),
    stateTable: process.env.STEPOPS_STATE_TABLE,
    // In Lambda AWS_REGION is always set; a test that sets none names the stage's region in the
    // alerts topic it gives the handlers.
    lambdaRegion:
      process.env.AWS_REGION ||
      process.env.AWS_DEFAULT_REGION ||
      process.env.STEPOPS_ALERTS_TOPIC_ARN?.split(':')[3] ||
      undefined,
  });
  return (output) => learnFromAnswer(commandName, input, output);
}

/** Wraps the stubs sinon makes for `send` (once per process). */
function hookSinon(): void {
  const require = createRequire(import.meta.url);
  const sinon = require('sinon') as { stub: (...args: unknown[]) => unknown; [HOOKED]?: boolean };
  if (sinon[HOOKED]) return;
  sinon[HOOKED] = true;
  const stub = sinon.stub;
  sinon.stub = function hookedStub(this: unknown, ...args: unknown[]) {
    const created = stub.apply(this, args) as SinonStubLike;
    if (args[1] === 'send' && typeof created?.invoke === 'function') {
      const invoke = created.invoke;
      Object.defineProperty(created, 'invoke', {
        configurable: true,
        writable: true,
        value(this: unknown, func: unknown, thisValue: unknown, callArgs: unknown[]) {
          const answered = record(thisValue, callArgs[0]);
          const result = invoke.call(this, func, thisValue, callArgs);
          if (answered) Promise.resolve(result).then(answered, () => {});
          return result;
        },
      });
    }
    return created;
  };
}

hookSinon();
