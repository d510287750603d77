/**
 * The region of a stage, apart from the stage's lookups (which load the AWS SDK) for the commands
 * that only name it.
 */

/** The region a stage is deployed to unless `STEPOPS_REGION` says otherwise (as in `sst.config.ts`). */
export const DEFAULT_STAGE_REGION = 'eu-west-1';

/**
 * The region of a stage's resources, where its stack was deployed: `STEPOPS_REGION`, else
 * {@link DEFAULT_STAGE_REGION}.
 *
 * @example
 * stageRegion({ STEPOPS_REGION: 'us-east-1' }) // 'us-east-1'
 */
export function stageRegion(env: NodeJS.ProcessEnv = process.env): string {
  return env.STEPOPS_REGION?.trim() || DEFAULT_STAGE_REGION;
}
