/**
 * The recovery workflow on the local engine for tests: the real ASL and step handlers, with the
 * drivers a test chooses. EC2 targets' commands really run in bash, in a directory standing in for
 * each instance (the script's `cd <workingDirectory>` points there), with the tools the scripts call
 * (sudo, systemctl, pm2, docker, aws, psql, restic, …) as shims on PATH that log their arguments.
 */
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Probe, Target } from '../../shared/config/schema.ts';
import { loadBalancerFor } from '../../shared/drivers/load-balancers.ts';
import { BashCommandRunner } from '../../shared/drivers/local/bash-command-runner.ts';
import { FileApprovalStore } from '../../shared/drivers/local/file-approval-store.ts';
import { FileLeaseStore } from '../../shared/drivers/local/file-lease-store.ts';
import { LocalRunLiveness } from '../../shared/drivers/local/local-run-liveness.ts';
import { OutboxNotifier, readOutbox } from '../../shared/drivers/local/outbox-notifier.ts';
import type {
  CommandHandle,
  CommandRequest,
  CommandRunner,
  HostRef,
  InvocationResult,
  Notification,
  ProbeResult,
  ProbeRunner,
} from '../../shared/drivers/ports.ts';
import {
  createLocalEngine,
  type LambdaHandler,
  type LocalEngine,
  TaskTokens,
} from '../../shared/engine/index.ts';
import { type RecoveryFactories, recoveryDepsWith } from '../../shared/recovery/deps.ts';
import { recoveryTaskHandlers } from '../../shared/recovery/handlers.ts';
import { shellQuote } from '../../shared/shell/script.ts';
import { localArns } from '../../workflows/asl.ts';
import { RECOVER_FUNCTIONS, recoverWorkflow } from '../../workflows/recover.ts';

const SHIM = `#!/usr/bin/env bash
name=$(basename "$0")
printf '%s %s\\n' "$name" "$*" >> "$SHIM_DIR/calls.log"
if [ ! -t 0 ] && [ "$name" != sudo ]; then cat > /dev/null; fi
if [ -e "$SHIM_DIR/fail-$name" ]; then
  echo "$name: simulated failure" >&2
  exit 1
fi
case "$name" in
  sudo)
    while [ $# -gt 0 ]; do
      case "$1" in
        -u) shift 2 ;;
        --) shift; break ;;
        -*) shift ;;
        *) break ;;
      esac
    done
    exec "$@" ;;
  sysctl) if [ "\${1:-}" = "-n" ]; then echo 65530; fi ;;
  aws)
    if [ "\${1:-} \${2:-}" = "s3 cp" ]; then
      dest="\${!#}"
      if [ "$dest" = "-" ]; then printf 'restic-snapshot=0a1b2c3d\\n'; else printf '# restored from %s\\n' "$3" > "$dest"; fi
    elif [ "\${1:-}" = "ssm" ]; then
      echo not-a-real-secret
    fi ;;
  curl)
    # A download (-o FILE URL): zmanim's dumps are restic manifests; any other is a comment line.
    dest="" url=""
    while [ $# -gt 0 ]; do
      case "$1" in
        -o) dest=$2; shift ;;
        http*|file:*) url=$1 ;;
      esac
      shift
    done
    case "$url" in
      *zmanim*) printf 'restic-snapshot=0a1b2c3d\n' > "$dest" ;;
      *) printf '# restored from %s\n' "\${url%%?*}" > "$dest" ;;
    esac ;;
  python3) if [ "\${1:-}" = "-m" ]; then mkdir -p "$3/bin"; fi ;;
esac
exit 0
`;

const TOOLS = [
  'sudo',
  'systemctl',
  'pm2',
  'docker',
  'aws',
  'curl',
  'psql',
  'pg_restore',
  'restic',
  'mountpoint',
  'mount',
  'sysctl',
  'nginx',
  'git',
  'npm',
  'npx',
  'go',
  'python3',
];

/** Hosts simulated by directories, and the log of the tools the scripts called. */
export interface HostSimulator {
  root: string;
  bin: string;
  hostDir(id: string): string;
  /** What the scripts ran, as `tool args` lines, in order. */
  calls(): Promise<string[]>;
  /** Makes a tool fail from now on. */
  fail(tool: string): Promise<void>;
  /** A command runner: local hosts as they are, ec2 hosts in their stand-in directory. */
  runner: CommandRunner;
  close(): Promise<void>;
}

/**
 * Creates the shims and the command runner.
 *
 * @example
 * const sim = await createHostSimulator();
 * deps = { commands: () => sim.runner };
 */
export async function createHostSimulator(): Promise<HostSimulator> {
  const root = await mkdtemp(path.join(tmpdir(), 'stepops-recover-'));
  const bin = path.join(root, 'bin');
  await mkdir(bin, { recursive: true });
  for (const tool of TOOLS) {
    await writeFile(path.join(bin, tool), SHIM);
    await chmod(path.join(bin, tool), 0o755);
  }
  const hostDir = (id: string) => path.join(root, 'hosts', id.replace(/[^A-Za-z0-9._-]/g, '_'));
  const bash = new BashCommandRunner({
    env: { PATH: `${bin}:${process.env.PATH ?? ''}`, SHIM_DIR: root },
  });
  const prepared = new Set<string>();
  const prepare = async (id: string) => {
    if (prepared.has(id)) return;
    prepared.add(id);
    const dir = hostDir(id);
    for (const sub of ['backend', 'frontend', 'api', 'venv/bin', 'docker'])
      await mkdir(path.join(dir, sub), { recursive: true });
    await writeFile(path.join(dir, '.stepops-previous'), '0123456789abcdef\n');
    await writeFile(path.join(dir, '.env'), 'DATABASE_URL=postgres://app@localhost/app\n');
    await writeFile(
      path.join(dir, '.env.prod'),
      'DATABASE_NAME=docs\nDATABASE_USER=docs\nDATABASE_PASSWORD=x\nDATABASE_HOST=localhost\nDATABASE_PORT=5432\n',
    );
    for (const tool of ['python', 'pip']) {
      await writeFile(path.join(dir, 'venv/bin', tool), SHIM);
      await chmod(path.join(dir, 'venv/bin', tool), 0o755);
    }
  };
  const local = (host: HostRef): HostRef =>
    host.kind === 'local' ? host : { kind: 'local', id: host.id, directory: hostDir(host.id) };
  const runner: CommandRunner = {
    async send(request: CommandRequest): Promise<CommandHandle> {
      for (const host of request.hosts) if (host.kind === 'ec2') await prepare(host.id);
      const script = request.workingDirectory
        ? request.script.replace(`cd ${shellQuote(request.workingDirectory)}`, 'cd "$PWD"')
        : request.script;
      const handle = await bash.send({ ...request, hosts: request.hosts.map(local), script });
      return { commandId: handle.commandId, hosts: request.hosts };
    },
    async status(handle: CommandHandle): Promise<InvocationResult[]> {
      return bash.status({ commandId: handle.commandId, hosts: handle.hosts.map(local) });
    },
  };
  return {
    root,
    bin,
    hostDir,
    runner,
    async calls() {
      // No log: nothing was called yet. Any other failure fails the test.
      const text = await readFile(path.join(root, 'calls.log'), 'utf8').catch(
        (error: NodeJS.ErrnoException) => {
          if (error.code === 'ENOENT') return '';
          throw error;
        },
      );
      return text.split('\n').filter(Boolean);
    },
    async fail(tool) {
      await writeFile(path.join(root, `fail-${tool}`), '');
    },
    async close() {
      await rm(root, { recursive: true, force: true });
    },
  };
}

/** A probe runner that records which probes ran and passes them (or fails the named ones). */
export function recordingProbes(failing: ReadonlySet<string> = new Set()): ProbeRunner & { ran: string[] } {
  const ran: string[] = [];
  return {
    ran,
    async run(probe: Probe, hosts: HostRef[]): Promise<ProbeResult[]> {
      ran.push(probe.name);
      const ok = !failing.has(probe.name);
      return [
        {
          probe: probe.name,
          ok,
          detail: ok ? 'passed' : 'failed on purpose',
          ...(hosts[0] ? { host: hosts[0].id } : {}),
        },
      ];
    },
  };
}

export const RECOVER_ARNS = localArns(RECOVER_FUNCTIONS);

/** Options of {@link recoverEngine}: the capabilities to use (the rest: files under STEPOPS_HOME). */
export interface RecoverEngineOptions extends RecoveryFactories {
  home: string;
}

/**
 * The recovery workflow on the local engine with the given drivers; approvals and notifications go
 * to files under `home`, the lock functions are the real ones (file leases under STEPOPS_HOME).
 *
 * @example
 * const { engine, tokens } = recoverEngine({ home, commands: () => sim.runner, … });
 */
export function recoverEngine(options: RecoverEngineOptions): {
  engine: LocalEngine;
  tokens: TaskTokens;
  /** The engine's handlers by ARN (to wrap one in a run's `handlerOverrides`). */
  handlers: Record<string, LambdaHandler>;
} {
  const { home, ...factories } = options;
  const deps = recoveryDepsWith({
    approvals: () => new FileApprovalStore({ home: () => home }),
    notifier: () => new OutboxNotifier({ home: () => home, stream: null }),
    fallbackNotifier: () => new OutboxNotifier({ home: () => home, stream: null }),
    leases: () => new FileLeaseStore({ home: () => home }),
    runs: () => new LocalRunLiveness({ home: () => home }),
    loadBalancer: (target) => loadBalancerFor(target),
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, Math.min(ms, 10))),
    ...factories,
  });
  const tasks = recoveryTaskHandlers(deps);
  const tokens = new TaskTokens();
  const handlers: Record<string, LambdaHandler> = Object.fromEntries(
    RECOVER_FUNCTIONS.map((fn) => [RECOVER_ARNS[fn], tasks[fn]]),
  );
  const engine = createLocalEngine(recoverWorkflow(RECOVER_ARNS), handlers, {
    stateMachineName: 'stepops-recover',
    taskTokens: tokens,
  });
  return { engine, tokens, handlers };
}

/** The notifications written to the outbox under `home`. */
export async function outbox(home: string): Promise<Notification[]> {
  return readOutbox(home);
}

/** The ids of the EC2 hosts of a target, for the mocks. */
export function regionOf(target: Target): string {
  return target.hosts.type === 'ec2' ? target.hosts.region : 'us-east-1';
}
