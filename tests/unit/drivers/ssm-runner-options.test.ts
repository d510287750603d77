import { afterEach, describe, expect, it, vi } from 'vitest';
import { ssmRunnerOptions } from '../../../shared/drivers/options.ts';

describe('ssmRunnerOptions', () => {
  afterEach(() => vi.unstubAllEnvs());

  it('sends output to the command log group named in the options, with the delivery timeout asked for', () => {
    expect(
      ssmRunnerOptions({ commandLogGroup: '/stepops/commands' }, { deliveryTimeoutSeconds: 30 }),
    ).toEqual({
      logGroupName: '/stepops/commands',
      deliveryTimeoutSeconds: 30,
    });
  });

  it('names no log group when neither the options nor the environment name one', () => {
    vi.stubEnv('STEPOPS_COMMAND_LOG_GROUP', '');
    expect(ssmRunnerOptions({}, {})).toEqual({});
  });
});
