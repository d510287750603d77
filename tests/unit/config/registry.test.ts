import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../../../shared/config/load.ts';
import {
  clearRegisteredTargets,
  findTarget,
  listTargets,
  registerTarget,
  UnknownTargetError,
} from '../../../shared/config/registry.ts';
import { InvalidInputError } from '../../../shared/errors.ts';

const fixture = {
  name: 'fixture',
  description: 'A test host',
  hosts: { type: 'local' as const, directory: '.stepops/fixture' },
};

afterEach(() => {
  clearRegisteredTargets();
});

describe('findTarget', () => {
  it('validates a built-in target and applies defaults', () => {
    // Act
    const target = findTarget('datizmo');

    // Assess
    expect(target.deploy?.snapshotBeforeDeploy).toEqual({
      ebs: false,
      rdsInstance: "<unfilled: RDS instance id of datizmo's PostgreSQL 14 database>",
      retention: { deploys: 3, days: 7 },
    });
    expect(target.health?.probes.find((p) => p.name === 'site')).toMatchObject({
      method: 'GET',
      from: 'outside',
    });
  });

  it('returns the same validated object on the second call', () => {
    expect(findTarget('shop')).toBe(findTarget('shop'));
  });

  it('throws UnknownTargetError naming the known targets', () => {
    // Act
    const act = () => findTarget('nope');

    // Assess
    expect(act).toThrow(UnknownTargetError);
    expect(act).toThrow(
      /unknown target "nope" \(known targets: ai-chat, datizmo, demo, docsai, shop, zmanim\)/,
    );
    try {
      act();
    } catch (error) {
      expect((error as Error).name).toBe('UnknownTargetError');
      expect(error).toBeInstanceOf(InvalidInputError);
    }
  });

  it('does not find properties of plain objects as targets', () => {
    expect(() => findTarget('constructor')).toThrow(UnknownTargetError);
    expect(() => findTarget('__proto__')).toThrow(UnknownTargetError);
  });
});

describe('registerTarget', () => {
  it('adds a target that findTarget validates and lists', () => {
    // Act
    registerTarget(fixture);

    // Assess
    expect(findTarget('fixture').hosts).toEqual(fixture.hosts);
    expect(listTargets()).toContain('fixture');
  });

  it('takes precedence over a built-in target of the same name, even after it was cached', () => {
    // Prepare
    findTarget('zmanim');

    // Act
    registerTarget({ ...fixture, name: 'zmanim' });

    // Assess
    expect(findTarget('zmanim').hosts.type).toBe('local');
  });

  it('reports an invalid registered target as a ConfigError', () => {
    // Prepare
    registerTarget({ ...fixture, description: '' });

    // Act
    const act = () => findTarget('fixture');

    // Assess
    expect(act).toThrow(ConfigError);
    expect(act).toThrow('registered target "fixture": description: expected a one-line description');
  });

  it('clearRegisteredTargets restores the built-in targets', () => {
    // Prepare
    registerTarget({ ...fixture, name: 'zmanim' });

    // Act
    clearRegisteredTargets();

    // Assess
    expect(findTarget('zmanim').hosts.type).toBe('ec2');
    expect(() => findTarget('fixture')).toThrow(UnknownTargetError);
  });

  it('refuses a target without a name', () => {
    expect(() => registerTarget({ ...fixture, name: '' })).toThrow(InvalidInputError);
  });
});
