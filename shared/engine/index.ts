/**
 * The local engine: the same ASL as in AWS, executed in-process with the Lambda handlers called
 * directly. See {@link createLocalEngine}.
 */
export type * from './asl.ts';
export {
  HeartbeatTimeoutError,
  InvalidOutputError,
  InvalidTokenError,
  type IssueOptions,
  LAMBDA_CALLBACK_RESOURCE,
  type PendingTask,
  TASK_TOKEN_PLACEHOLDER,
  TaskDoesNotExistError,
  TaskFailureError,
  TaskTimedOutError,
  TaskTokens,
} from './callback.ts';
export { checkInputDepth, InputTooDeepError, MAX_INPUT_DEPTH, nestsDeeperThan } from './depth.ts';
export {
  createLocalEngine,
  type EngineOptions,
  type Execution,
  type LocalEngine,
  type RunResult,
  type StartOptions,
} from './engine.ts';
export { type DefinitionOffence, InvalidDefinitionError, UnsupportedDefinitionError } from './errors.ts';
export {
  HISTORY_EVENT_LIMIT,
  HISTORY_LIMIT_ERROR,
  HistoryCounter,
  HistoryLimitExceededError,
  historyEventsOf,
} from './history.ts';
export {
  DEFAULT_TASK_TIMEOUT_SECONDS,
  type Inspection,
  inspectDefinition,
  type TaskSite,
} from './inspect.ts';
export { currentInvocation, type Invocation, withinInvocation } from './invocation.ts';
export {
  asJson,
  createLambdaContext,
  functionNameOf,
  type LambdaErrorPayload,
  type LambdaHandler,
  LambdaTaskError,
  parseLambdaCause,
  toLambdaTaskError,
} from './lambda.ts';
export {
  formatTimeline,
  type RunTrace,
  readableCause,
  type TraceEvent,
  type TraceEventKind,
  type TraceInvocation,
  TraceRecorder,
  type TraceStep,
} from './trace.ts';
