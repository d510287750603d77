/**
 * `npm run screenshots`: runs the demo in a temporary lab, serves its state with `stepops console`,
 * and saves what a person sees in headless chromium (Debian's, through puppeteer-core) as
 * `docs/screenshots/overview.png`, `target.png` and `run.png` (the demo's rolled-back deploy).
 */
import path from 'node:path';
import { openConsoleLab } from '../../bench/console.ts';
import { discoverTargets } from '../../shared/config/registry.ts';

const OUT = import.meta.dirname;

// The console lists the repository's example targets, as the CLI finds them.
await discoverTargets(path.join(OUT, '..', '..', 'targets'));

const lab = await openConsoleLab((line) => process.stderr.write(`${line}\n`));
try {
  const page = await lab.browser.newPage();
  await page.setViewport({ width: 1280, height: 800, deviceScaleFactor: 1 });
  await page.goto(lab.console.url, { waitUntil: 'load' });
  const shots: [string, string][] = [
    ['overview.png', '/'],
    ['target.png', '/targets/demo'],
    ['run.png', `/runs/${lab.failedDeploy}`],
  ];
  for (const [file, route] of shots) {
    await page.goto(`${lab.base}${route}`, { waitUntil: 'load' });
    await page.screenshot({ path: path.join(OUT, file) as `${string}.png`, fullPage: true });
    process.stderr.write(`[screenshots] ${path.join('docs', 'screenshots', file)} (${route})\n`);
  }
} finally {
  await lab.close();
}
process.exit(0);
