import { describe, expect, it, vi } from 'vitest';
import type { Target } from '../../../shared/config/schema.ts';
import { deployDepsWith, MissingCapabilityError } from '../../../shared/deploy/deps.ts';
import type { CommandRunner, Notifier } from '../../../shared/drivers/ports.ts';

const target = { name: 'demo' } as Target;
const commands: CommandRunner = { send: vi.fn(), status: vi.fn() };

describe('deployDepsWith', () => {
  it('makes a capability with its factory on first use, once per target', () => {
    // Prepare
    const factory = vi.fn(() => commands);
    const deps = deployDepsWith({ commands: factory });

    // Act
    const first = deps.driversFor(target).commands;
    const second = deps.driversFor(target).commands;

    // Assess
    expect(first).toBe(commands);
    expect(second).toBe(commands);
    expect(factory).toHaveBeenCalledTimes(1);
    expect(factory).toHaveBeenCalledWith(target);
  });

  it('throws an error naming a capability the handler was not given', () => {
    // Prepare
    const deps = deployDepsWith({ commands: () => commands });

    // Act
    const drivers = deps.driversFor(target);

    // Assess
    expect(() => drivers.hosts).toThrow(MissingCapabilityError);
    expect(() => drivers.hosts).toThrow(/"hosts" driver capability/);
    expect(() => deps.fallbackNotifier()).toThrow(/"fallbackNotifier"/);
  });

  it('makes the fallback notifier once', () => {
    // Prepare
    const notifier: Notifier = { publish: vi.fn() };
    const factory = vi.fn(() => notifier);
    const deps = deployDepsWith({ fallbackNotifier: factory });

    // Act
    deps.fallbackNotifier();

    // Assess
    expect(deps.fallbackNotifier()).toBe(notifier);
    expect(factory).toHaveBeenCalledTimes(1);
  });
});
