import { describe, expect, it } from 'vitest';
import { requester } from '../../../cli/runs/source.ts';

describe('requester', () => {
  it('names the USER and the command', () => {
    expect(requester('deploy', { USER: 'ana' }, () => 'root')).toBe('ana (stepops deploy)');
  });

  it('falls back to the OS account when USER is unset or empty', () => {
    expect(requester('backup', {}, () => 'ci-runner')).toBe('ci-runner (stepops backup)');
    expect(requester('backup', { USER: '' }, () => 'ci-runner')).toBe('ci-runner (stepops backup)');
  });

  it('says "someone" only when neither can be known', () => {
    expect(requester('recover', {}, () => undefined)).toBe('someone (stepops recover)');
  });

  it('reads the real OS account by default', () => {
    expect(requester('deploy', {})).not.toMatch(/^someone /);
  });
});
