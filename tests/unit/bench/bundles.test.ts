import type { Metafile } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { lambdaLoad, metafileOf, outputBytes, packageOf, topInputs } from '../../../bench/bundles.ts';

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

describe('lambdaLoad', () => {
  /** A split build: the entry imports chunk A, which imports chunk B; the entry imports C dynamically, C imports D and A. */
  const output = (imports: { path: string; kind: string; external?: boolean }[], bytes: number) => ({
    bytes,
    imports,
    exports: [],
    inputs: {},
  });
  const metafile = {
    inputs: {},
    outputs: {
      'out/index.mjs': output(
        [
          { path: 'out/chunk-a.mjs', kind: 'import-statement' },
          { path: 'out/c.mjs', kind: 'dynamic-import' },
          { path: 'node:fs', kind: 'import-statement', external: true },
        ],
        100,
      ),
      'out/chunk-a.mjs': output([{ path: 'out/chunk-b.mjs', kind: 'import-statement' }], 10),
      'out/chunk-b.mjs': output([], 1),
      'out/c.mjs': output(
        [
          { path: 'out/chunk-d.mjs', kind: 'import-statement' },
          { path: 'out/chunk-a.mjs', kind: 'import-statement' },
        ],
        1000,
      ),
      'out/chunk-d.mjs': output([], 500),
      'out/other.mjs': output([], 7),
    },
  } as unknown as Metafile;

  it('loads at cold start the entry and its static chunks, transitively; the rest of a dynamic import later', () => {
    // Act
    const load = lambdaLoad(metafile, 'out/index.mjs');

    // Assess: a chunk both reach is loaded at cold start; an unrelated output and externals are not counted
    expect(load.eager.sort()).toEqual(['out/chunk-a.mjs', 'out/chunk-b.mjs', 'out/index.mjs']);
    expect(load.lazy.sort()).toEqual(['out/c.mjs', 'out/chunk-d.mjs']);
    expect(outputBytes(metafileOf(metafile, load.eager))).toBe(111);
    expect(outputBytes(metafileOf(metafile, load.lazy))).toBe(1500);
  });

  it('refuses an entry that is not an output of the build', () => {
    expect(() => lambdaLoad(metafile, 'out/handler.mjs')).toThrow(
      'out/handler.mjs is not an output of the build',
    );
  });
});
