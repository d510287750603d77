/**
 * Fixtures of the benchmarks: temporary host directories where real bash runs, and a real HTTP
 * server on 127.0.0.1 whose `/health` answers from a file the deploy and rollback scripts write.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { TargetInput } from '../shared/config/schema.ts';

/** A running health server and the directory it reads its state from. */
export interface HealthServer {
  url: string;
  /** `ok` in this file makes `/health` answer 200; anything else (or no file) 503. */
  stateFile: string;
  close(): Promise<void>;
}

/**
 * Starts the fixture app's health endpoint on 127.0.0.1 (an ephemeral port).
 *
 * @example
 * const server = await startHealthServer('/tmp/bench/state');
 * await fetch(server.url); // 503 until a script writes "ok" to the state file
 */
export async function startHealthServer(stateFile: string): Promise<HealthServer> {
  const server: Server = createServer((req, res) => {
    readFile(stateFile, 'utf8')
      .catch(() => '')
      .then((state) => {
        const ok = req.url === '/health' && state.trim() === 'ok';
        res.writeHead(ok ? 200 : 503, { 'content-type': 'application/json', connection: 'close' });
        res.end(JSON.stringify({ status: ok ? 'ok' : 'unhealthy' }));
      });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('health server has no port');
  return {
    url: `http://127.0.0.1:${address.port}/health`,
    stateFile,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A temporary lab: a host directory, the health state file beside it, and the server. */
export interface FixtureLab {
  dir: string;
  host: string;
  server: HealthServer;
  /** Removes the directory and stops the server. */
  dispose(): Promise<void>;
}

/**
 * Creates a temporary lab whose app starts healthy.
 *
 * @example
 * const lab = await createFixtureLab('cost');
 * try { … } finally { await lab.dispose(); }
 */
export async function createFixtureLab(label: string): Promise<FixtureLab> {
  const dir = await mkdtemp(path.join(os.tmpdir(), `stepops-bench-${label}-`));
  const host = path.join(dir, 'host');
  await mkdir(host, { recursive: true });
  const stateFile = path.join(dir, 'state');
  await writeFile(stateFile, 'ok\n');
  const server = await startHealthServer(stateFile);
  return {
    dir,
    host,
    server,
    dispose: async () => {
      await server.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Options of {@link fixtureTarget}. */
export interface FixtureTargetOptions {
  name: string;
  lab: FixtureLab;
  /** The deploy steps' scripts, run in the host directory (`../state` is the app's health). */
  steps: { name: string; script: string; timeout?: number }[];
  /** Hosts per batch (count or percentage). */
  batchSize?: number | string;
  /** Seconds the health gate waits (default 3). */
  gateTimeout?: number;
}

/** The rollback every fixture uses: mark the app healthy again. */
export const ROLLBACK_SCRIPT = "printf 'ok\\n' > ../state";

/**
 * A target on the fixture lab: one local host, the given steps, a rollback that restores health,
 * and a health gate of one HTTP probe needing one success.
 *
 * @example
 * registerTarget(fixtureTarget({ name: 'bench-one', lab, steps: [{ name: 'work', script: 'sleep 1' }] }));
 */
export function fixtureTarget(options: FixtureTargetOptions): TargetInput {
  return {
    name: options.name,
    description: `benchmark fixture on ${options.lab.host}`,
    hosts: { type: 'local', directory: options.lab.host },
    deploy: {
      steps: options.steps.map((s) => ({ name: s.name, script: s.script, timeout: s.timeout ?? 60 })),
      rollback: [{ name: 'restore', script: ROLLBACK_SCRIPT, timeout: 30 }],
      batches: { size: options.batchSize ?? '100%', maxErrors: 0 },
      healthGate: { probes: ['app-health'], timeout: options.gateTimeout ?? 3, interval: 1, successes: 1 },
    },
    health: {
      schedule: 'rate(1 minute)',
      probes: [
        {
          name: 'app-health',
          type: 'http',
          url: options.lab.server.url,
          expectStatus: [200],
          timeout: 2,
        },
      ],
    },
  };
}

/**
 * A script step that records its own start and end (ns since the epoch) in `../times`.
 *
 * @example
 * timedStep('install', 'sleep 1') // { name: 'install', script: 'start=$(date +%s%N)\nsleep 1\n…' }
 */
export function timedStep(name: string, body: string): { name: string; script: string } {
  return {
    name,
    script: [
      'start=$(date +%s%N)',
      body,
      'end=$(date +%s%N)',
      'printf \'%s %s\\n\' "$start" "$end" >> ../times',
    ].join('\n'),
  };
}

/**
 * Milliseconds the scripts of a run spent, from the `start end` pairs they appended to `times`
 * (the file is removed, so the next run starts empty). 0 when no script wrote one.
 *
 * @example
 * await scriptMs(path.join(lab.dir, 'times')) // 1004.2
 */
export async function scriptMs(timesFile: string): Promise<number> {
  const text = await readFile(timesFile, 'utf8').catch(() => '');
  await rm(timesFile, { force: true });
  let total = 0;
  for (const line of text.trim().split('\n')) {
    const [start, end] = line.split(' ');
    if (start && end) total += Number((BigInt(end) - BigInt(start)) / 1000n) / 1000;
  }
  return total;
}
