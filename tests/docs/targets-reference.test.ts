/**
 * docs/targets.md documents every field of the target schema, and no field the schema lacks: the
 * schema is walked at run time, so a field added to `shared/config/schema.ts` without a line in the
 * reference (or a line left behind when a field goes) fails here, naming it.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { targetSchema } from '../../shared/config/schema.ts';
import { documentedFields, isDocumented, schemaPaths } from './reference.ts';

const REFERENCE = readFileSync(path.join(import.meta.dirname, '..', '..', 'docs', 'targets.md'), 'utf8');
const fields = schemaPaths(targetSchema);
const documented = new Set(documentedFields(REFERENCE));

describe('docs/targets.md', () => {
  it('documents every field of the target schema', () => {
    const missing = fields.filter((f) => f.leaf && !isDocumented(f.path, documented)).map((f) => f.path);
    expect(missing, 'fields of shared/config/schema.ts with no row in docs/targets.md').toEqual([]);
  });

  it('documents no field the schema does not have', () => {
    const known = new Set(fields.map((f) => f.path));
    const unknown = [...documented].filter((f) => !known.has(f));
    expect(unknown, 'rows of docs/targets.md naming no field of shared/config/schema.ts').toEqual([]);
  });

  it('documents each field once', () => {
    const rows = documentedFields(REFERENCE);
    expect(rows.filter((f, i) => rows.indexOf(f) !== i)).toEqual([]);
  });
});

describe('the schema walk', () => {
  it('finds leaves through defaults, unions, arrays and records', () => {
    const byPath = new Map(fields.map((f) => [f.path, f.leaf]));
    expect(byPath.get('deploy.batches.size')).toBe(true);
    expect(byPath.get('deploy.batches')).toBe(false);
    expect(byPath.get('health.probes[].url')).toBe(true);
    expect(byPath.get('health.probes[].jsonField.compare')).toBe(true);
    expect(byPath.get('recovery.<name>.steps[].launchTemplate.id')).toBe(true);
    expect(byPath.get('hosts.directory')).toBe(true);
    expect(byPath.get('alerts.slackWebhookParameter')).toBe(true);
  });

  it('sees a field missing from a reference', () => {
    const partial = new Set(['deploy.batches.size']);
    expect(isDocumented('deploy.batches.size', partial)).toBe(true);
    expect(isDocumented('deploy.batches', partial)).toBe(true);
    expect(isDocumented('deploy.batches.maxErrors', partial)).toBe(false);
    expect(isDocumented('deploy.batch', partial)).toBe(false);
  });

  it('reads only rows whose first cell is one field in code', () => {
    expect(
      documentedFields(
        ['| `hosts.region` | x |', '| `--stage S` | y |', '| field | what |', '| `a`, `b` | z |'].join('\n'),
      ),
    ).toEqual(['hosts.region']);
  });
});
