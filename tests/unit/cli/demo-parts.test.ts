import { describe, expect, it } from 'vitest';
import { DEMO_PARTS, demoParts } from '../../../cli/commands/demo.ts';
import { UsageError } from '../../../cli/output.ts';

describe('demoParts', () => {
  it('runs every part without --only, in the order they tell the story', () => {
    expect(demoParts()).toEqual(['deploy', 'backup', 'health', 'recover', 'maintain']);
    expect(DEMO_PARTS).toEqual(['deploy', 'backup', 'health', 'recover', 'maintain']);
  });

  it('keeps the demo order whatever the order --only names them in', () => {
    expect(demoParts('recover, deploy')).toEqual(['deploy', 'recover']);
    expect(demoParts('health')).toEqual(['health']);
  });

  it.each([
    ['rollback', 'unknown demo part "rollback"'],
    ['deploy,', 'unknown demo part ""'],
    ['', 'unknown demo part ""'],
  ])('refuses --only %j as a usage error naming the parts', (only, message) => {
    expect(() => demoParts(only)).toThrow(UsageError);
    expect(() => demoParts(only)).toThrow(message);
    expect(() => demoParts(only)).toThrow('(parts: deploy, backup, health, recover, maintain)');
  });
});
