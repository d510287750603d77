/**
 * The help of `--stage` and `--local` on the commands that read runs, apart from the run sources
 * (which load the AWS SDK) so that the command definitions can name it without loading them.
 */

/** `--stage` and `--local` as commander options, with their help. */
export const WHERE_HELP = {
  stage: 'the stage on AWS (also STEPOPS_STAGE); without one, local runs',
  local: 'local runs recorded under .stepops/runs (the default without a stage)',
} as const;
