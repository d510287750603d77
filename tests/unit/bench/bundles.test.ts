import type { Metafile } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { packageOf, topInputs } from '../../../bench/bundles.ts';

describe('packageOf', () => {
  it('names scoped and unscoped packages, however deep the node_modules', () => {
    expect(packageOf('node_modules/zod/v4/core/schemas.js')).toBe('zod');
    expect(packageOf('node_modules/@aws-sdk/client-ssm/dist-es/index.js')).toBe('@aws-sdk/client-ssm');
    expect(packageOf('node_modules/@smithy/core/node_modules/tslib/tslib.es6.mjs')).toBe('tslib');
  });

  it('groups project files by directory', () => {
    expect(packageOf('shared/deploy/plan.ts')).toBe('(project) shared/deploy');
  });
});

describe('topInputs', () => {
  it('sums bytes per package across outputs and keeps the heaviest', () => {
    // Prepare
    const metafile = {
      inputs: {},
      outputs: {
        'out/a.mjs': {
          bytes: 0,
          imports: [],
          exports: [],
          inputs: {
            'node_modules/zod/a.js': { bytesInOutput: 100 },
            'node_modules/zod/b.js': { bytesInOutput: 50 },
            'node_modules/@middy/core/index.js': { bytesInOutput: 20 },
            'functions/x/handler.ts': { bytesInOutput: 5 },
          },
        },
      },
    } as unknown as Metafile;

    // Act
    const top = topInputs(metafile, 2);

    // Assess
    expect(top).toEqual([
      { name: 'zod', bytes: 150 },
      { name: '@middy/core', bytes: 20 },
    ]);
  });
});
