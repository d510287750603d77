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
import { labMaintenance, labTarget } from '../lab/target.ts';
import { defineTarget } from '../shared/config/schema.ts';

const port = process.env.STEPOPS_DEMO_PORT ? Number(process.env.STEPOPS_DEMO_PORT) : undefined;

export default defineTarget({
  ...labTarget({
    name: 'demo',
    ...(process.env.STEPOPS_DEMO_DIR ? { dir: process.env.STEPOPS_DEMO_DIR } : {}),
    ...(port !== undefined ? { port } : {}),
  }),
  maintenance: labMaintenance(process.env.STEPOPS_DEMO_DIR || undefined),
});
