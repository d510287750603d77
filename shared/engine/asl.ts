/**
 * Types of the Amazon States Language subset stepops uses: JSONPath only, standard (inline) Map,
 * Lambda Tasks. What the local engine cannot run (JSONata, variables, task tokens, distributed Map,
 * tolerated failures) is deliberately absent here and refused by {@link inspectDefinition}.
 *
 * @see https://states-language.net/spec.html
 */

/** Any JSON value. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** A JSON object. */
export type JsonObject = { [key: string]: JsonValue };

/** A retrier of a `Retry` field. */
export interface Retrier {
  ErrorEquals: string[];
  IntervalSeconds?: number;
  MaxAttempts?: number;
  BackoffRate?: number;
  MaxDelaySeconds?: number;
  JitterStrategy?: 'FULL' | 'NONE';
}

/** A catcher of a `Catch` field. */
export interface Catcher {
  ErrorEquals: string[];
  Next: string;
  ResultPath?: string | null;
}

interface StateBase {
  Comment?: string;
}

/** A state that continues (`Next`) or ends the machine (`End: true`). */
type Transition = { Next: string; End?: never } | { End: true; Next?: never };

interface DataFlow {
  InputPath?: string | null;
  OutputPath?: string | null;
}

export type TaskState = StateBase &
  DataFlow &
  Transition & {
    Type: 'Task';
    Resource: string;
    Parameters?: JsonObject;
    ResultSelector?: JsonObject;
    ResultPath?: string | null;
    TimeoutSeconds?: number;
    /** The timeout read from the state's input (e.g. an approval's declared expiry). */
    TimeoutSecondsPath?: string;
    HeartbeatSeconds?: number;
    Retry?: Retrier[];
    Catch?: Catcher[];
  };

export type PassState = StateBase &
  DataFlow &
  Transition & {
    Type: 'Pass';
    Parameters?: JsonObject;
    Result?: JsonValue;
    ResultPath?: string | null;
  };

export type WaitState = StateBase &
  DataFlow &
  Transition & {
    Type: 'Wait';
    Seconds?: number;
    SecondsPath?: string;
    Timestamp?: string;
    TimestampPath?: string;
  };

/** A choice rule: a comparison (`Variable` + operator), or `And`/`Or`/`Not` of rules. */
export interface ChoiceCondition {
  Variable?: string;
  And?: ChoiceCondition[];
  Or?: ChoiceCondition[];
  Not?: ChoiceCondition;
  StringEquals?: string;
  StringEqualsPath?: string;
  StringMatches?: string;
  NumericEquals?: number;
  NumericEqualsPath?: string;
  NumericLessThan?: number;
  NumericLessThanPath?: string;
  NumericGreaterThan?: number;
  NumericGreaterThanPath?: string;
  NumericGreaterThanEquals?: number;
  NumericLessThanEquals?: number;
  BooleanEquals?: boolean;
  BooleanEqualsPath?: string;
  TimestampLessThan?: string;
  TimestampLessThanPath?: string;
  TimestampGreaterThan?: string;
  TimestampGreaterThanPath?: string;
  IsPresent?: boolean;
  IsNull?: boolean;
  IsString?: boolean;
  IsNumeric?: boolean;
  IsBoolean?: boolean;
}

export type ChoiceRule = ChoiceCondition & { Next: string };

export type ChoiceState = StateBase &
  DataFlow & {
    Type: 'Choice';
    Choices: ChoiceRule[];
    Default?: string;
  };

export type SucceedState = StateBase & DataFlow & { Type: 'Succeed' };

export type FailState = StateBase & {
  Type: 'Fail';
  Error?: string;
  ErrorPath?: string;
  Cause?: string;
  CausePath?: string;
};

/** The states of a Map iteration or a Parallel branch. */
export interface SubMachine {
  StartAt: string;
  States: Record<string, State>;
  Comment?: string;
}

export type MapState = StateBase &
  DataFlow &
  Transition & {
    Type: 'Map';
    ItemsPath?: string;
    ItemSelector?: JsonObject;
    ItemProcessor: SubMachine & { ProcessorConfig?: { Mode: 'INLINE' } };
    MaxConcurrency?: number;
    MaxConcurrencyPath?: string;
    ResultSelector?: JsonObject;
    ResultPath?: string | null;
    Retry?: Retrier[];
    Catch?: Catcher[];
  };

export type ParallelState = StateBase &
  DataFlow &
  Transition & {
    Type: 'Parallel';
    Branches: SubMachine[];
    ResultSelector?: JsonObject;
    ResultPath?: string | null;
    Retry?: Retrier[];
    Catch?: Catcher[];
  };

export type State =
  | TaskState
  | PassState
  | WaitState
  | ChoiceState
  | SucceedState
  | FailState
  | MapState
  | ParallelState;

/** A whole state machine definition (JSONPath query language). */
export interface StateMachineDefinition extends SubMachine {
  Comment?: string;
  TimeoutSeconds?: number;
  Version?: '1.0';
}
