/**
 * What the engine benchmarks share: the deploy workflow bound to handlers on the local engine, the
 * configured memory of each function, and a state directory of their own for the local drivers.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { DEFAULT_MEMORY_MB } from '../shared/cost/usage.ts';
import type { LambdaHandler, StateMachineDefinition } from '../shared/engine/index.ts';

/** The ARN a function has on the local engine (any ARN works; the engine maps it to its handler). */
export function localArn(functionName: string): string {
  return `arn:aws:lambda:local:000000000000:function:${functionName}`;
}

/** The deploy workflow and its real handlers, as the repository defines them. */
export interface DeployModules {
  functions: readonly string[];
  definition: StateMachineDefinition;
  arns: Record<string, string>;
  handlersByArn: Record<string, LambdaHandler>;
}

/**
 * Loads `workflows/deploy.ts` and the handlers of `functions/index.ts`, bound to local ARNs.
 *
 * @example
 * const { definition, handlersByArn } = await loadDeploy();
 * const engine = createLocalEngine(definition, handlersByArn);
 * @throws Error naming what is missing when the workflow or a handler is not there yet
 */
export async function loadDeploy(): Promise<DeployModules> {
  // The handlers log JSON through Powertools; quiet, and before they are imported.
  process.env.POWERTOOLS_LOG_LEVEL ??= 'SILENT';
  process.env.AWS_LAMBDA_LOG_LEVEL ??= 'ERROR';
  const workflow = (await import('../workflows/deploy.ts')) as {
    DEPLOY_FUNCTIONS: readonly string[];
    deployWorkflow(arns: Record<string, string>): StateMachineDefinition;
  };
  const { HANDLERS: handlers } = (await import('../functions/index.ts')) as {
    HANDLERS: Record<string, LambdaHandler | undefined>;
  };
  const arns: Record<string, string> = {};
  const handlersByArn: Record<string, LambdaHandler> = {};
  for (const name of workflow.DEPLOY_FUNCTIONS) {
    const handler = handlers[name];
    if (!handler) throw new Error(`functions/index.ts has no handler for "${name}"`);
    arns[name] = localArn(name);
    handlersByArn[arns[name]] = handler;
  }
  return {
    functions: workflow.DEPLOY_FUNCTIONS,
    definition: workflow.deployWorkflow(arns),
    arns,
    handlersByArn,
  };
}

/** Memory per function and where the figures come from. */
export interface MemorySizes {
  memoryMb: Record<string, number>;
  source: string;
}

/**
 * The configured memory of each deploy function: `DEPLOY_FUNCTION_SETTINGS` in `stacks/workflows.ts`
 * where it names the function, else {@link DEFAULT_MEMORY_MB}; the note says which is which.
 *
 * @example
 * const { memoryMb, source } = await memorySizes(['plan-deploy', 'poll-command']);
 */
export async function memorySizes(functions: readonly string[]): Promise<MemorySizes> {
  let settings: Record<string, { memory: string }> = {};
  let problem = '';
  try {
    const stack = (await import('../stacks/workflows.ts')) as {
      DEPLOY_FUNCTION_SETTINGS: Record<string, { memory: string }>;
    };
    settings = stack.DEPLOY_FUNCTION_SETTINGS;
  } catch (error) {
    problem = ` (stacks/workflows.ts could not be read: ${(error as Error).message})`;
  }
  const memoryMb: Record<string, number> = {};
  const fromStack: string[] = [];
  const defaulted: string[] = [];
  for (const name of functions) {
    const mb = Number.parseInt(settings[name]?.memory ?? '', 10);
    if (mb > 0) {
      memoryMb[name] = mb;
      fromStack.push(`${name} ${mb} MB`);
    } else {
      memoryMb[name] = DEFAULT_MEMORY_MB;
      defaulted.push(name);
    }
  }
  const parts = [];
  if (fromStack.length > 0)
    parts.push(`from DEPLOY_FUNCTION_SETTINGS in stacks/workflows.ts: ${fromStack.join(', ')}`);
  if (defaulted.length > 0) {
    parts.push(
      `at the default ${DEFAULT_MEMORY_MB} MB because the stack settings do not name them${problem}: ${defaulted.join(', ')}`,
    );
  }
  return { memoryMb, source: `Lambda memory ${parts.join('; ')}.` };
}

let benchHome: string | undefined;

/**
 * Points the local drivers' state (command logs, leases, outbox) at one temporary directory for the
 * whole benchmark process, so that benchmarks leave nothing in `.stepops/`. The directory is removed
 * by {@link removeBenchHome} at the end of the process only: the bash runner keeps a deadline timer
 * per command that reads its files even after the run has ended.
 *
 * @example
 * await withStepopsHome(async () => { … });
 */
export async function withStepopsHome<T>(fn: (home: string) => Promise<T>): Promise<T> {
  benchHome ??= await mkdtemp(path.join(os.tmpdir(), 'stepops-bench-home-'));
  const previous = process.env.STEPOPS_HOME;
  process.env.STEPOPS_HOME = benchHome;
  try {
    return await fn(benchHome);
  } finally {
    if (previous === undefined) delete process.env.STEPOPS_HOME;
    else process.env.STEPOPS_HOME = previous;
  }
}

/** Removes the benchmark's state directory; call last, just before the process exits. */
export async function removeBenchHome(): Promise<void> {
  if (benchHome) await rm(benchHome, { recursive: true, force: true });
  benchHome = undefined;
}
