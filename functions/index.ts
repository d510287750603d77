/**
 * The registry of Lambda handlers by function name (the `functions/<name>` folder), for the local
 * engine. AWS runs each `functions/<name>/handler.ts` on its own.
 */
import {
  createLocalEngine,
  type EngineOptions,
  type LambdaHandler,
  type LocalEngine,
} from '../shared/engine/index.ts';
import { localArns } from '../workflows/asl.ts';
import { BACKUP_FUNCTIONS, type BackupFunction, backupWorkflow } from '../workflows/backup.ts';
import { DEPLOY_FUNCTIONS, type DeployFunction, deployWorkflow } from '../workflows/deploy.ts';
import { HEALTH_FUNCTIONS, type HealthFunction, healthWorkflow } from '../workflows/health.ts';
import { BACKUP_HANDLERS } from './backup.ts';
import { handler as checkHealth } from './check-health/handler.ts';
import { handler as checkTarget } from './check-target/handler.ts';
import { handler as claimHosts } from './claim-hosts/handler.ts';
import { handler as createSnapshots } from './create-snapshots/handler.ts';
import { handler as describeBatchFailure } from './describe-batch-failure/handler.ts';
import { handler as drainTargets } from './drain-targets/handler.ts';
import { handler as notify } from './notify/handler.ts';
import { handler as notifyHealthFailure } from './notify-health-failure/handler.ts';
import { handler as planDeploy } from './plan-deploy/handler.ts';
import { handler as planRollback } from './plan-rollback/handler.ts';
import { handler as pollCommand } from './poll-command/handler.ts';
import { handler as publishStatusPage } from './publish-status-page/handler.ts';
import { handler as registerTargets } from './register-targets/handler.ts';
import { handler as sendCommand } from './send-command/handler.ts';

/** Every handler by function name. */
export const HANDLERS = {
  'plan-deploy': planDeploy,
  'claim-hosts': claimHosts,
  'create-snapshots': createSnapshots,
  'send-command': sendCommand,
  'poll-command': pollCommand,
  'check-health': checkHealth,
  'drain-targets': drainTargets,
  'register-targets': registerTargets,
  'describe-batch-failure': describeBatchFailure,
  'plan-rollback': planRollback,
  notify,
  'check-target': checkTarget,
  'notify-health-failure': notifyHealthFailure,
  'publish-status-page': publishStatusPage,
  ...BACKUP_HANDLERS,
} satisfies Record<DeployFunction | HealthFunction | BackupFunction, unknown> as unknown as Record<
  DeployFunction | HealthFunction | BackupFunction,
  LambdaHandler
>;

export type FunctionName = keyof typeof HANDLERS;

/**
 * Handlers keyed by the ARN each function has in a definition.
 *
 * @example
 * const arns = localArns(DEPLOY_FUNCTIONS);
 * createLocalEngine(deployWorkflow(arns), handlersByArn(arns));
 */
export function handlersByArn<N extends FunctionName>(
  arns: Readonly<Record<N, string>>,
): Record<string, LambdaHandler> {
  return Object.fromEntries(
    (Object.entries(arns) as [N, string][]).map(([name, arn]) => [arn, HANDLERS[name]]),
  );
}

/** The ARNs of the deploy functions on the local engine. */
export const LOCAL_DEPLOY_ARNS: Record<DeployFunction, string> = localArns(DEPLOY_FUNCTIONS);

/**
 * The deploy workflow on the local engine with the real handlers (built once; start many runs).
 *
 * @example
 * const engine = createLocalDeployEngine();
 * const result = await engine.start({ target: 'demo', ref: 'v2' }).result;
 */
export function createLocalDeployEngine(options: EngineOptions = {}): LocalEngine {
  return createLocalEngine(deployWorkflow(LOCAL_DEPLOY_ARNS), handlersByArn(LOCAL_DEPLOY_ARNS), {
    stateMachineName: 'stepops-deploy',
    ...options,
  });
}

/** The ARNs of the backup functions on the local engine. */
export const LOCAL_BACKUP_ARNS: Record<BackupFunction, string> = localArns(BACKUP_FUNCTIONS);

/**
 * The backup workflow on the local engine with the real handlers.
 *
 * @example
 * const result = await createLocalBackupEngine().start({ target: 'demo' }).result;
 */
export function createLocalBackupEngine(options: EngineOptions = {}): LocalEngine {
  return createLocalEngine(backupWorkflow(LOCAL_BACKUP_ARNS), handlersByArn(LOCAL_BACKUP_ARNS), {
    stateMachineName: 'stepops-backup',
    ...options,
  });
}

/** The ARNs of the health functions on the local engine. */
export const LOCAL_HEALTH_ARNS: Record<HealthFunction, string> = localArns(HEALTH_FUNCTIONS);

/**
 * The health workflow on the local engine with the real handlers (built once; start many runs).
 *
 * @example
 * const summary = await createLocalHealthEngine().start({ target: 'demo' }).result;
 */
export function createLocalHealthEngine(options: EngineOptions = {}): LocalEngine {
  return createLocalEngine(healthWorkflow(LOCAL_HEALTH_ARNS), handlersByArn(LOCAL_HEALTH_ARNS), {
    stateMachineName: 'stepops-health',
    ...options,
  });
}
