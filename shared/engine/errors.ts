/**
 * Errors of the local engine wrapper. Each sets `name` explicitly.
 */

/** One thing in a definition that the local engine cannot run, with where it is. */
export interface DefinitionOffence {
  /** Where in the definition, e.g. `States.DeployBatches.ItemProcessor.States.SendDeployCommand`. */
  path: string;
  message: string;
}

/**
 * The definition uses what the local engine cannot run (JSONata, variables, task tokens,
 * distributed Map, tolerated failures), or has a Task with no local handler.
 */
export class UnsupportedDefinitionError extends Error {
  readonly offences: DefinitionOffence[];

  constructor(offences: DefinitionOffence[]) {
    super(
      `the local engine cannot run this definition:\n${offences.map((o) => `  - ${o.path}: ${o.message}`).join('\n')}`,
    );
    this.name = 'UnsupportedDefinitionError';
    this.offences = offences;
  }
}

/** The definition is not valid Amazon States Language (as asl-validator reports it). */
export class InvalidDefinitionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidDefinitionError';
  }
}
