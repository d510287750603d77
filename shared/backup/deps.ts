/**
 * What the backup steps need from the outside world, passed in so that tests swap one capability
 * (a mocked AWS client, a failing notifier) and keep the rest real. A Lambda wires only the
 * factories its step uses, so its bundle holds only those adapters.
 */
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { findTarget } from '../config/registry.ts';
import type { Target } from '../config/schema.ts';
import { stepopsHome } from '../drivers/local/home.ts';
import type {
  BackupCatalogue,
  CommandRunner,
  CopyService,
  HostDirectory,
  LeaseStore,
  Notifier,
  ObjectStore,
  ScratchDatabases,
} from '../drivers/ports.ts';
import type { SecretSource } from './scripts.ts';

/** The capabilities of the backup steps, each made from the target. */
export interface BackupCapabilities {
  catalogue: BackupCatalogue;
  copies: CopyService;
  objects: ObjectStore;
  commands: CommandRunner;
  hosts: HostDirectory;
  notifier: Notifier;
  scratch: ScratchDatabases;
  /** The backup job leases (one run at a time per job). */
  leases: LeaseStore;
  /** How the target's hosts read secrets. */
  secrets: SecretSource;
}

export interface BackupDeps {
  findTarget(name: string): Target;
  drivers(target: Target): BackupCapabilities;
  fallbackNotifier(): Notifier;
  /** Epoch milliseconds. */
  now(): number;
  sleep(ms: number): Promise<void>;
}

export type BackupFactories = {
  [K in keyof BackupCapabilities]?: (target: Target) => BackupCapabilities[K];
} & {
  fallbackNotifier?: () => Notifier;
};

/** A step asked for a capability its handler was not given. */
export class MissingBackupCapabilityError extends Error {
  constructor(capability: string) {
    super(
      `this handler was not given the "${capability}" backup capability: pass its factory to backupDepsWith`,
    );
    this.name = 'MissingBackupCapabilityError';
  }
}

/**
 * How a target's hosts read secrets: SSM SecureString for ec2 hosts, the local parameter directory
 * (`<stepopsHome()>/parameters/<name>`, one file per parameter) for local hosts.
 *
 * @example
 * secretSourceFor(findTarget('zmanim')) // { kind: 'ssm', region: 'eu-west-1' }
 */
export function secretSourceFor(target: Target): SecretSource {
  return target.hosts.type === 'ec2'
    ? { kind: 'ssm', region: target.hosts.region }
    : { kind: 'directory', path: path.join(stepopsHome(), 'parameters') };
}

/**
 * The real dependencies with the given capabilities, each made once per target on first use.
 *
 * @example
 * const deps = backupDepsWith({ catalogue: () => backupCatalogueFor(), copies: copyServiceFor });
 */
export function backupDepsWith(factories: BackupFactories): BackupDeps {
  const made = new WeakMap<Target, Map<string, unknown>>();
  let fallback: Notifier | undefined;
  return {
    findTarget,
    drivers(target) {
      let cache = made.get(target);
      if (!cache) {
        cache = new Map();
        made.set(target, cache);
      }
      const capabilities = {} as BackupCapabilities;
      for (const key of [
        'catalogue',
        'copies',
        'objects',
        'commands',
        'hosts',
        'notifier',
        'scratch',
        'leases',
        'secrets',
      ] as const) {
        Object.defineProperty(capabilities, key, {
          enumerable: true,
          get() {
            if (!cache.has(key)) {
              const factory = factories[key];
              if (!factory) throw new MissingBackupCapabilityError(key);
              cache.set(key, factory(target));
            }
            return cache.get(key);
          },
        });
      }
      return capabilities;
    },
    fallbackNotifier() {
      if (!fallback) {
        if (!factories.fallbackNotifier) throw new MissingBackupCapabilityError('fallbackNotifier');
        fallback = factories.fallbackNotifier();
      }
      return fallback;
    },
    now: Date.now,
    sleep: (ms) => sleep(ms),
  };
}
