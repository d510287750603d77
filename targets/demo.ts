/**
 * The demo target: the lab app (`lab/app`) deployed to a local host directory, the target that
 * `npm run demo` deploys (v2, then v3, which fails its health gate and is rolled back).
 *
 * The lab lives in `.stepops/demo` and the app listens on 127.0.0.1:47613. `stepops demo --dir`
 * and the end-to-end tests move them with `STEPOPS_DEMO_DIR` and `STEPOPS_DEMO_PORT`, read when this
 * file is loaded. See `lab/target.ts` for the steps and `lab/setup.ts` for the lab itself.
 *
 * Its maintenance job, `disk-hygiene`, runs for real on the lab (`stepops maintain demo`): a dry
 * run that prints which of the app's old logs it would delete, behind the app's health gate.
 */
import path from 'node:path';
import { labTarget } from '../lab/target.ts';
import { PROJECT_ROOT } from '../shared/config/load.ts';
import { defineTarget } from '../shared/config/schema.ts';

const port = process.env.STEPOPS_DEMO_PORT ? Number(process.env.STEPOPS_DEMO_PORT) : undefined;
const dir = process.env.STEPOPS_DEMO_DIR ?? '.stepops/demo';

export default defineTarget({
  ...labTarget({
    name: 'demo',
    ...(process.env.STEPOPS_DEMO_DIR ? { dir: process.env.STEPOPS_DEMO_DIR } : {}),
    ...(port !== undefined ? { port } : {}),
  }),
  maintenance: {
    'disk-hygiene': {
      description:
        "Weekly: list the app's logs older than 7 days that a cleanup would delete (dry run: nothing is deleted), then the health gate.",
      schedule: 'cron(30 4 ? * SUN *)',
      timezone: 'Europe/London',
      steps: [
        {
          type: 'disk-cleanup',
          name: 'old-logs',
          oldFiles: [
            { directory: path.resolve(PROJECT_ROOT, dir, 'run'), pattern: '*.log*', olderThanDays: 7 },
          ],
          dryRun: true,
          timeout: 60,
        },
      ],
      healthGate: ['app-health'],
      mute: ['app-health'],
    },
  },
});
