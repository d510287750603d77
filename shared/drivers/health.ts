/**
 * The drivers of scheduled health checks: the probe state store (DynamoDB when the stack's state
 * table is named, else files), the recovery starter (the stage's recover state machine when its
 * ARN is named in `STEPOPS_RECOVER_STATE_MACHINE_ARN`, else recorded locally) and the lease reader
 * that tells whether a deploy, recovery or maintenance holds the target (and, for a
 * maintenance job, which probes it mutes).
 */
import type { Target } from '../config/schema.ts';
import { dynamoClient } from './aws/dynamo-client.ts';
import { DynamoHealthHistory } from './aws/dynamo-health-history.ts';
import { DynamoHealthStore } from './aws/dynamo-health-store.ts';
import { DynamoLeaseStore } from './aws/dynamo-lease-store.ts';
import { defaultRegion } from './aws/regions.ts';
import { LazyRecoveryStarter } from './lazy.ts';
import { FileHealthHistory } from './local/file-health-history.ts';
import { FileHealthStore } from './local/file-health-store.ts';
import { FileLeaseStore } from './local/file-lease-store.ts';
import { RecordedRecoveryStarter } from './local/recorded-recovery-starter.ts';
import { type DriversOptions, hostsRegion, resolvedNames } from './options.ts';
import type { HealthHistoryStore, HealthStateStore, LeaseReader, RecoveryStarter } from './ports.ts';

export { runLivenessFor } from './run-liveness.ts';

/**
 * Chooses the health state store for a target.
 *
 * @example
 * const record = await healthStoreFor(target).read(target.name);
 */
export function healthStoreFor(target: Target, options: DriversOptions = {}): HealthStateStore {
  const { stateTable } = resolvedNames(options);
  return stateTable
    ? new DynamoHealthStore(stateTable, { client: dynamoClient(defaultRegion() ?? hostsRegion(target)) })
    : new FileHealthStore();
}

/**
 * Chooses the uptime history store for a target: the state table (items with a TTL) when it is
 * named, else files.
 *
 * @example
 * await healthHistoryFor(target).readDays(target.name, ['2026-03-01']);
 */
export function healthHistoryFor(target: Target, options: DriversOptions = {}): HealthHistoryStore {
  const { stateTable } = resolvedNames(options);
  return stateTable
    ? new DynamoHealthHistory(stateTable, { client: dynamoClient(defaultRegion() ?? hostsRegion(target)) })
    : new FileHealthHistory();
}

/**
 * Chooses the recovery starter: the recover state machine named by `STEPOPS_RECOVER_STATE_MACHINE_ARN`
 * (set by the stage), else the local record.
 *
 * @example
 * await recoveryStarterFor(target).start({ target: 'demo', runbook: 'restart-app', reason, runId, requestedBy: 'health' });
 */
export function recoveryStarterFor(_target: Target, env: NodeJS.ProcessEnv = process.env): RecoveryStarter {
  const arn = env.STEPOPS_RECOVER_STATE_MACHINE_ARN;
  if (!arn) return new RecordedRecoveryStarter();
  // Loaded when a recovery is first started (dynamic import): a health round that starts none does
  // not evaluate the Step Functions client at cold start.
  return new LazyRecoveryStarter(async () => {
    const { SfnRecoveryStarter } = await import('./aws/sfn-recovery-starter.ts');
    return new SfnRecoveryStarter(arn);
  });
}

/**
 * Chooses the lease reader for a target: the DynamoDB lease store when the state table is named,
 * else the file lease store.
 *
 * @example
 * const running = await leaseReaderFor(target).holder('target:demo');
 */
export function leaseReaderFor(target: Target, options: DriversOptions = {}): LeaseReader {
  const { stateTable } = resolvedNames(options);
  return stateTable
    ? new DynamoLeaseStore(stateTable, { client: dynamoClient(defaultRegion() ?? hostsRegion(target)) })
    : new FileLeaseStore();
}
