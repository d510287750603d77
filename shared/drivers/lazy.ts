/**
 * Adapters loaded on first use. An adapter that a function calls only on a rare path (an EC2
 * status probe, the Slack webhook, starting a recovery) is made through a dynamic `import()` when
 * a method is first called, so that the bundler keeps its module and its SDK client in the bundle
 * but the Lambda does not evaluate them at cold start. The loaded adapter is kept: a container
 * loads and creates it once.
 */
import type {
  CommandHandle,
  CommandRequest,
  CommandRunner,
  CopyRef,
  CopyRequest,
  CopyScope,
  CopyService,
  CopyStatus,
  InvocationResult,
  Notification,
  Notifier,
  RecoveryRequest,
  RecoveryStarter,
  TaggedCopy,
} from './ports.ts';

/**
 * Runs `load` on the first call and returns its promise on every call after it; a load that fails
 * is forgotten, so that the next call tries again.
 *
 * @example
 * const slack = loadOnce(async () => new (await import('./aws/slack-notifier.ts')).SlackNotifier(name));
 * await (await slack()).publish(notification);
 */
export function loadOnce<T>(load: () => Promise<T>): () => Promise<T> {
  let loaded: Promise<T> | undefined;
  return () => {
    if (!loaded) {
      const attempt = load();
      loaded = attempt;
      attempt.catch(() => {
        if (loaded === attempt) loaded = undefined;
      });
    }
    return loaded;
  };
}

/**
 * A notifier made on its first notification.
 *
 * @example
 * const slack = new LazyNotifier(async () => new (await import('./aws/slack-notifier.ts')).SlackNotifier(name));
 */
export class LazyNotifier implements Notifier {
  readonly #notifier: () => Promise<Notifier>;

  constructor(make: () => Promise<Notifier>) {
    this.#notifier = loadOnce(make);
  }

  async publish(notification: Notification): Promise<void> {
    await (await this.#notifier()).publish(notification);
  }
}

/**
 * A command runner made on its first command; its status pace is known before it is loaded.
 *
 * @example
 * const ssm = new LazyCommandRunner(async () => new (await import('./aws/ssm-command-runner.ts')).SsmCommandRunner(), 2_000);
 */
export class LazyCommandRunner implements CommandRunner {
  readonly #runner: () => Promise<CommandRunner>;
  readonly statusPaceMs?: number;

  constructor(make: () => Promise<CommandRunner>, statusPaceMs?: number) {
    this.#runner = loadOnce(make);
    if (statusPaceMs !== undefined) this.statusPaceMs = statusPaceMs;
  }

  async send(request: CommandRequest): Promise<CommandHandle> {
    return (await this.#runner()).send(request);
  }

  async status(handle: CommandHandle): Promise<InvocationResult[]> {
    return (await this.#runner()).status(handle);
  }
}

/**
 * A recovery starter made when a recovery is first started.
 *
 * @example
 * const starter = new LazyRecoveryStarter(async () => new (await import('./aws/sfn-recovery-starter.ts')).SfnRecoveryStarter(arn));
 */
export class LazyRecoveryStarter implements RecoveryStarter {
  readonly #starter: () => Promise<RecoveryStarter>;

  constructor(make: () => Promise<RecoveryStarter>) {
    this.#starter = loadOnce(make);
  }

  async start(request: RecoveryRequest): Promise<{ executionId: string }> {
    return (await this.#starter()).start(request);
  }
}

/**
 * A copy service (snapshots, AWS Backup jobs) made when a copy is first started, read, listed or
 * removed: a dump backup, which makes no copy, does not evaluate the EC2, RDS or AWS Backup client.
 *
 * @example
 * const copies = new LazyCopyService(async () => new (await import('./aws/aws-copy-service.ts')).AwsCopyService(), 2_000);
 */
export class LazyCopyService implements CopyService {
  readonly #service: () => Promise<CopyService>;
  readonly statusPaceMs?: number;

  constructor(make: () => Promise<CopyService>, statusPaceMs?: number) {
    this.#service = loadOnce(make);
    if (statusPaceMs !== undefined) this.statusPaceMs = statusPaceMs;
  }

  async start(request: CopyRequest): Promise<CopyRef> {
    return (await this.#service()).start(request);
  }

  async status(ref: CopyRef): Promise<CopyStatus> {
    return (await this.#service()).status(ref);
  }

  async listTagged(scope: CopyScope): Promise<TaggedCopy[]> {
    return (await this.#service()).listTagged(scope);
  }

  async remove(ref: CopyRef, scope: CopyScope, runId: string): Promise<void> {
    return (await this.#service()).remove(ref, scope, runId);
  }
}
