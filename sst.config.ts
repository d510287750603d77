/// <reference path="./.sst/platform/config.d.ts" />
/**
 * stepops on AWS: `npx sst deploy --stage <stage>`. The infrastructure is in `stacks/`; see
 * the README's "Running on AWS" for the secrets to create first and the stage settings.
 */
export default $config({
  app(input) {
    return {
      name: 'stepops',
      home: 'aws',
      removal: input?.stage === 'production' ? 'retain' : 'remove',
      protect: input?.stage === 'production',
      providers: { aws: { region: (process.env.STEPOPS_REGION ?? 'eu-west-1') as aws.Region } },
    };
  },
  async run() {
    const { createStacks } = await import('./stacks/index.ts');
    return createStacks();
  },
});
