/**
 * The build's rewriting of module specifiers: declarations name `.js` files, vendored packages are
 * imported by relative path, and an import the installed package could not load stops the build.
 */
import { describe, expect, it } from 'vitest';
import {
  declarationSpecifier,
  missingImports,
  packageOfFile,
  packageOfSpecifier,
  rewriteSpecifiers,
} from '../../../scripts/build.ts';

describe('rewriteSpecifiers', () => {
  it('rewrites static, re-export, side-effect and dynamic imports, multi-line ones too', () => {
    const source = [
      "import { a } from './a.ts';",
      'import {',
      '  b,',
      '  c,',
      "} from './bc.ts';",
      "export * from './d.ts';",
      "import './e.ts';",
      "type F = import('./f.ts').F;",
    ].join('\n');
    expect(rewriteSpecifiers(source, declarationSpecifier)).toBe(
      [
        "import { a } from './a.js';",
        'import {',
        '  b,',
        '  c,',
        "} from './bc.js';",
        "export * from './d.js';",
        "import './e.js';",
        "type F = import('./f.js').F;",
      ].join('\n'),
    );
  });

  it('leaves strings that merely contain the word "from" alone', () => {
    const source = "const x = 'from' in probe && probe.from === 'a';\nconst msg = `copied from '${y}'`;";
    const seen: string[] = [];
    const changed = rewriteSpecifiers(source, (specifier) => {
      seen.push(specifier);
      return 'changed';
    });
    expect(changed).toBe(source);
    expect(seen).toEqual([]);
  });

  it('keeps a specifier the map returns undefined for', () => {
    expect(rewriteSpecifiers("import { z } from 'zod';", declarationSpecifier)).toBe(
      "import { z } from 'zod';",
    );
  });
});

describe('declarationSpecifier', () => {
  it('maps relative .ts and .tsx imports to .js and .jsx, and nothing else', () => {
    expect(declarationSpecifier('./schema.ts')).toBe('./schema.js');
    expect(declarationSpecifier('../view.tsx')).toBe('../view.jsx');
    expect(declarationSpecifier('./already.js')).toBe('./already.js');
    expect(declarationSpecifier('ts-pkg.ts')).toBeUndefined();
  });
});

describe('packageOfSpecifier and packageOfFile', () => {
  it('names the package of a bare specifier, and none for built-ins and paths', () => {
    expect(packageOfSpecifier('@aws-sdk/client-ssm')).toBe('@aws-sdk/client-ssm');
    expect(packageOfSpecifier('zod/v4')).toBe('zod');
    expect(packageOfSpecifier('node:fs')).toBeUndefined();
    expect(packageOfSpecifier('fs')).toBeUndefined();
    expect(packageOfSpecifier('./x.js')).toBeUndefined();
    expect(packageOfSpecifier('/abs/x.js')).toBeUndefined();
  });

  it('finds the innermost package of a bundled file', () => {
    expect(packageOfFile('node_modules/a/node_modules/@s/b/lib/x.js')).toEqual({
      name: '@s/b',
      dir: 'node_modules/a/node_modules/@s/b',
    });
    expect(packageOfFile('node_modules/p-limit/index.js')).toEqual({
      name: 'p-limit',
      dir: 'node_modules/p-limit',
    });
    expect(packageOfFile('shared/engine/engine.ts')).toBeUndefined();
  });
});

describe('missingImports', () => {
  it('lists the packages the built code imports that are not dependencies, with a file each', () => {
    const files = [
      {
        file: 'dist/a.js',
        source: "import { z } from 'zod';\nimport { x } from 'left-out/sub';\nimport 'node:fs';",
      },
      {
        file: 'dist/b.js',
        source: "import { Resource } from 'sst';\nimport { defineTarget } from 'stepops';",
      },
    ];
    expect([...missingImports(files, new Set(['zod']))]).toEqual([['left-out', 'dist/a.js']]);
  });

  it('lets declarations name the stacks’ and handlers’ types, but not a vendored package', () => {
    const declarations = [
      { file: 'dist/stacks/a.d.ts', source: "import type * as aws from '@pulumi/aws';" },
      { file: 'dist/functions/b.d.ts', source: "import type { Context } from 'aws-lambda';" },
      {
        file: 'dist/shared/engine/c.d.ts',
        source: "import type { StateMachine } from 'aws-local-stepfunctions';",
      },
    ];
    expect([...missingImports(declarations, new Set())]).toEqual([
      ['aws-local-stepfunctions', 'dist/shared/engine/c.d.ts'],
    ]);
    // The JavaScript must not import them: nothing installs them for it.
    expect([...missingImports([{ file: 'dist/f.js', source: "import 'aws-lambda';" }], new Set())]).toEqual([
      ['aws-lambda', 'dist/f.js'],
    ]);
  });
});
