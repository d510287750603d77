/**
 * The SST resources linked to stepops' functions (`link` in `stacks/`), read with `Resource` from
 * `sst` at run time. The names and shapes here match what the stacks link; the stack tests check
 * that every function links what its handler reads.
 */
import { Resource } from 'sst';

/** Linked resources by name, as the functions see them. */
export interface StepopsResources {
  /** `aws.sfn.StateMachine` of the deploy workflow, linked through an `sst.Linkable`. */
  DeployStateMachine: { arn: string; name: string };
  /** `sst.aws.Dynamo`: leases and run state. */
  StateTable: { name: string };
  /** `sst.aws.SnsTopic`: every alert. */
  AlertsTopic: { arn: string };
  /** Names of the API's SSM parameters (never their values) and the targets the stage deploys. */
  ApiConfig: { githubWebhookSecret: string; apiTokenHash: string; targets: string[] };
  /** Name of the SecureString parameter holding the Slack webhook URL. */
  SlackWebhook: { parameter: string };
}

/**
 * One linked resource.
 *
 * @example
 * const { arn } = linked('DeployStateMachine');
 * @throws Error from SST when the resource is not linked to this function
 */
export function linked<K extends keyof StepopsResources>(name: K): StepopsResources[K] {
  return (Resource as unknown as StepopsResources)[name];
}
