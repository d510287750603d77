/**
 * What the registry validates targets with: the target model and its loader (`load.ts`, on zod).
 * When the Lambdas are built, the stepops targets plugin (`shared/config/targets-bundle.ts`)
 * replaces this module with one that exports no validation, since a Lambda holds targets already
 * validated at build time (`bundled-targets.ts`): its bundle then has neither zod nor the model.
 */
import { ConfigError, loadTargetFile, parseTarget } from './load.ts';

/** The loader's functions the registry uses to discover and validate targets. */
export interface TargetValidation {
  ConfigError: typeof ConfigError;
  loadTargetFile: typeof loadTargetFile;
  parseTarget: typeof parseTarget;
}

/** The validation; `undefined` in a Lambda bundle (this module replaced by the targets plugin). */
export const targetValidation: TargetValidation | undefined = { ConfigError, loadTargetFile, parseTarget };
