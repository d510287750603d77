/**
 * Static inspection of a definition before the local engine runs it: what it cannot run
 * (JSONata, `Assign`, Distributed Map, `ToleratedFailure*`: one ASL must run on both engines) and where each Task is, with its resource and timeout.
 */
import { LAMBDA_CALLBACK_RESOURCE, readsTaskToken } from './callback.ts';
import type { DefinitionOffence } from './errors.ts';

/** A Task state found in a definition. */
export interface TaskSite {
  /** The state's name: the key aws-local-stepfunctions binds local handlers by. */
  name: string;
  /** Where it is, e.g. `States.DeployBatches.ItemProcessor.States.SendDeployCommand`. */
  path: string;
  resource: string;
  /**
   * The ARN of the function the Task invokes: its `Resource`, or for a callback Task
   * (`lambda:invoke.waitForTaskToken`) its `Parameters.FunctionName`.
   */
  functionArn: string;
  /** A callback Task: it waits for its task token to be answered. */
  callback: boolean;
  /** `HeartbeatSeconds` of a callback Task, when set. */
  heartbeatSeconds?: number;
  /** A callback Task reading its timeout from its input: the `TimeoutSecondsPath` (a `$.a.b` path). */
  timeoutSecondsPath?: string;
  /** `TimeoutSeconds` of the state; the engine's default (60) when absent. */
  timeoutSeconds: number;
  /** Names of the Map states enclosing it, outermost first. */
  enclosingMaps: string[];
}

/** What {@link inspectDefinition} found. */
export interface Inspection {
  offences: DefinitionOffence[];
  tasks: TaskSite[];
  /** Every state name, with the Map states enclosing it. */
  states: Map<string, { path: string; type: string; enclosingMaps: string[] }>;
}

/** The paths the wrapper evaluates itself: `$` and dotted field names. */
export const SIMPLE_PATH = /^\$(\.[A-Za-z_][A-Za-z0-9_-]*)+$/;

/**
 * The value a plain path (`$.a.b`) points to in a JSON value; undefined when it points to nothing.
 *
 * @example
 * readPath({ plan: { approval: { timeoutSeconds: 3600 } } }, '$.plan.approval.timeoutSeconds') // 3600
 */
export function readPath(value: unknown, path: string): unknown {
  let current = value;
  for (const key of path.split('.').slice(1)) {
    if (!isObject(current) || !Object.hasOwn(current, key)) return undefined;
    current = current[key];
  }
  return current;
}

/** The Task timeout aws-local-stepfunctions applies when `TimeoutSeconds` is absent. */
export const DEFAULT_TASK_TIMEOUT_SECONDS = 60;

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Fields that only exist in JSONata definitions or with workflow variables. */
const JSONATA_FIELDS = ['Arguments', 'Output', 'Assign'] as const;

/**
 * Intrinsic functions aws-local-stepfunctions 3 computes differently from AWS: it strips the
 * backslashes of the string `States.JsonToString` returns, so any nested quote or newline turns the
 * JSON invalid.
 */
const MISCOMPUTED_INTRINSICS = ['States.JsonToString'] as const;

/** Paths of the `.$` values of a payload template that call a miscomputed intrinsic. */
function miscomputedIntrinsics(template: unknown, path: string): DefinitionOffence[] {
  if (Array.isArray(template))
    return template.flatMap((item, i) => miscomputedIntrinsics(item, `${path}[${i}]`));
  if (!isObject(template)) return [];
  return Object.entries(template).flatMap(([key, value]) => {
    if (key.endsWith('.$') && typeof value === 'string') {
      const used = MISCOMPUTED_INTRINSICS.filter((fn) => value.includes(`${fn}(`));
      return used.map((fn) => ({
        path: `${path}.${key}`,
        message: `${fn} is computed wrongly by the local engine (escapes are dropped); return the value from a Lambda instead`,
      }));
    }
    return miscomputedIntrinsics(value, `${path}.${key}`);
  });
}

function inspectState(
  name: string,
  state: Json,
  path: string,
  enclosingMaps: string[],
  found: Inspection,
): void {
  const offend = (message: string, at = path) => found.offences.push({ path: at, message });
  const type = typeof state.Type === 'string' ? state.Type : '?';
  if (found.states.has(name)) {
    offend(
      `state name "${name}" is also used at ${found.states.get(name)?.path}; the local engine binds handlers by state name, so names must be unique across the whole definition`,
    );
  } else {
    found.states.set(name, { path, type, enclosingMaps });
  }
  if (state.QueryLanguage === 'JSONata') offend('QueryLanguage "JSONata" is not supported; use JSONPath');
  for (const field of JSONATA_FIELDS) {
    if (field in state) {
      offend(
        field === 'Assign'
          ? '"Assign" (workflow variables) is not supported; pass data through the state with ResultPath'
          : `"${field}" is a JSONata field; use Parameters/OutputPath (JSONPath)`,
      );
    }
  }
  for (const field of [
    'ToleratedFailurePercentage',
    'ToleratedFailurePercentagePath',
    'ToleratedFailureCount',
    'ToleratedFailureCountPath',
  ]) {
    if (field in state) offend(`"${field}" is not supported: any failed iteration fails the Map`);
  }

  for (const field of ['Parameters', 'ItemSelector', 'ResultSelector']) {
    found.offences.push(...miscomputedIntrinsics(state[field], `${path}.${field}`));
  }

  if (type === 'Task') {
    const resource = typeof state.Resource === 'string' ? state.Resource : '';
    const callback = resource === LAMBDA_CALLBACK_RESOURCE;
    const parameters = isObject(state.Parameters) ? state.Parameters : {};
    let functionArn = resource;
    if (callback) {
      const fn = parameters.FunctionName;
      if (typeof fn === 'string') functionArn = fn;
      else offend('a callback Task needs a literal Parameters.FunctionName (the function to invoke)');
      if (!readsTaskToken(parameters.Payload)) {
        offend('a callback Task must pass "$$.Task.Token" in Parameters.Payload (a "….$" field)');
      }
    } else if (/\.waitForTaskToken$/.test(resource)) {
      offend(
        `resource "${resource}" waits for a task token; the local engine runs only "${LAMBDA_CALLBACK_RESOURCE}" callback tasks`,
      );
    } else if (/\.sync(:\d+)?$/.test(resource)) {
      offend(`resource "${resource}" is a .sync integration, which the local engine does not support`);
    }
    if ('Credentials' in state) offend('"Credentials" (cross-account tasks) is not supported');
    if (typeof state.TimeoutSecondsPath === 'string') {
      if (!callback) offend('"TimeoutSecondsPath" is supported on callback Tasks only; use TimeoutSeconds');
      else if (!SIMPLE_PATH.test(state.TimeoutSecondsPath)) {
        offend('"TimeoutSecondsPath" must be a plain path such as "$.plan.approval.timeoutSeconds"');
      }
    }
    found.tasks.push({
      name,
      path,
      resource,
      functionArn,
      callback,
      ...(callback && typeof state.HeartbeatSeconds === 'number'
        ? { heartbeatSeconds: state.HeartbeatSeconds }
        : {}),
      ...(callback && typeof state.TimeoutSecondsPath === 'string' && typeof state.TimeoutSeconds !== 'number'
        ? { timeoutSecondsPath: state.TimeoutSecondsPath }
        : {}),
      timeoutSeconds:
        typeof state.TimeoutSeconds === 'number' ? state.TimeoutSeconds : DEFAULT_TASK_TIMEOUT_SECONDS,
      enclosingMaps,
    });
  }

  if (type === 'Map') {
    const processor = isObject(state.ItemProcessor)
      ? state.ItemProcessor
      : isObject(state.Iterator)
        ? state.Iterator
        : undefined;
    const processorField = isObject(state.ItemProcessor) ? 'ItemProcessor' : 'Iterator';
    const config = processor && isObject(processor.ProcessorConfig) ? processor.ProcessorConfig : undefined;
    if (config?.Mode === 'DISTRIBUTED') {
      offend(
        'a distributed Map (ProcessorConfig.Mode "DISTRIBUTED") is not supported; use an inline Map',
        `${path}.${processorField}.ProcessorConfig.Mode`,
      );
    }
    for (const field of ['ItemReader', 'ResultWriter', 'ItemBatcher', 'Label']) {
      if (field in state)
        offend(`"${field}" belongs to a distributed Map, which is not supported`, `${path}.${field}`);
    }
    if (processor) {
      inspectMachine(processor, `${path}.${processorField}`, [...enclosingMaps, name], found);
    } else {
      offend('a Map needs an ItemProcessor');
    }
  }

  if (type === 'Parallel' && Array.isArray(state.Branches)) {
    state.Branches.forEach((branch, i) => {
      if (isObject(branch)) inspectMachine(branch, `${path}.Branches[${i}]`, enclosingMaps, found);
    });
  }
}

function inspectMachine(machine: Json, path: string, enclosingMaps: string[], found: Inspection): void {
  const prefix = path ? `${path}.` : '';
  if (machine.QueryLanguage === 'JSONata') {
    found.offences.push({
      path: `${prefix}QueryLanguage`,
      message: 'QueryLanguage "JSONata" is not supported; use JSONPath',
    });
  }
  const states = isObject(machine.States) ? machine.States : {};
  for (const [name, state] of Object.entries(states)) {
    if (isObject(state)) inspectState(name, state, `${prefix}States.${name}`, enclosingMaps, found);
  }
}

/**
 * Walks a definition (nested Map iterators and Parallel branches included) and lists what the local
 * engine cannot run and every Task with its resource.
 *
 * @example
 * const { offences, tasks } = inspectDefinition(deployWorkflow(arns));
 * offences; // [] for a JSONPath-only definition
 * tasks.map((t) => t.name); // ['PlanDeploy', 'ClaimHosts', …]
 */
export function inspectDefinition(definition: object): Inspection {
  const found: Inspection = { offences: [], tasks: [], states: new Map() };
  inspectMachine(definition as Json, '', [], found);
  return found;
}
