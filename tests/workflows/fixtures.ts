/**
 * Fixture targets for the workflow tests: local hosts in a temporary directory where bash really
 * runs the rendered scripts, and an HTTP server on 127.0.0.1 whose `/health/<target>` answers from
 * the `state` file the scripts write in that target's host directory.
 */
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { registerTarget } from '../../shared/config/registry.ts';
import type { TargetInput } from '../../shared/config/schema.ts';
import { readOutbox } from '../../shared/drivers/local/outbox-notifier.ts';
import type { Notification } from '../../shared/drivers/ports.ts';

type DeployInput = NonNullable<TargetInput['deploy']>;

export interface Lab {
  root: string;
  home: string;
  port: number;
  hostDir(target: string): string;
  /** Registers a local target whose scripts run in its host directory and whose probe hits the server. */
  target(
    name: string,
    deploy: {
      steps: string[];
      rollback: string[];
      gateTimeout?: number;
      batches?: DeployInput['batches'];
      snapshotBeforeDeploy?: DeployInput['snapshotBeforeDeploy'];
    },
  ): Promise<string>;
  notifications(): Promise<Notification[]>;
  /** Ids of the commands the command runner started (its state directories). */
  commands(): Promise<string[]>;
  close(): Promise<void>;
}

/**
 * Creates the temporary directory, points STEPOPS_HOME at it and starts the health server.
 *
 * @example
 * const lab = await createLab();
 * await lab.target('wf-ok', { steps: ['echo ok > state'], rollback: ['echo ok > state'] });
 */
export async function createLab(): Promise<Lab> {
  const root = await mkdtemp(path.join(tmpdir(), 'stepops-wf-'));
  const home = path.join(root, 'home');
  await mkdir(home, { recursive: true });
  process.env.STEPOPS_HOME = home;
  const hostDir = (target: string) => path.join(root, 'hosts', target);
  const server: Server = createServer((request, response) => {
    const match = /^\/health\/([a-z0-9-]+)$/.exec(request.url ?? '');
    let state = '';
    try {
      state = match ? readFileSync(path.join(hostDir(match[1] as string), 'state'), 'utf8').trim() : '';
    } catch {
      state = 'missing';
    }
    response.writeHead(state === 'ok' ? 200 : 500, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ status: state }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;

  return {
    root,
    home,
    port,
    hostDir,
    async target(name, deploy) {
      await mkdir(hostDir(name), { recursive: true });
      registerTarget({
        name,
        description: `workflow test target ${name}`,
        hosts: { type: 'local', directory: hostDir(name) },
        deploy: {
          steps: deploy.steps.map((script, i) => ({ name: `step-${i + 1}`, script, timeout: 30 })),
          rollback: deploy.rollback.map((script, i) => ({ name: `rollback-${i + 1}`, script, timeout: 30 })),
          ...(deploy.batches ? { batches: deploy.batches } : {}),
          ...(deploy.snapshotBeforeDeploy ? { snapshotBeforeDeploy: deploy.snapshotBeforeDeploy } : {}),
          healthGate: { probes: ['app'], timeout: deploy.gateTimeout ?? 10, interval: 1, successes: 1 },
        },
        health: {
          schedule: 'rate(5 minutes)',
          probes: [{ name: 'app', type: 'http', url: `http://127.0.0.1:${port}/health/${name}`, timeout: 2 }],
        },
      });
      return name;
    },
    async notifications() {
      return readOutbox(home);
    },
    async commands() {
      // No directory: no command ran yet. Any other failure fails the test.
      return readdir(path.join(home, 'commands')).catch((error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT') return [];
        throw error;
      });
    },
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await rm(root, { recursive: true, force: true });
    },
  };
}
