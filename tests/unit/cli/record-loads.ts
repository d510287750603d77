/**
 * Preloaded with `--import` by `lazy-commands.test.ts`: records the URL of every module the process
 * loads (through `module.registerHooks`) and writes them, one a line, to `$STEPOPS_LOADS_FILE` when
 * the process exits.
 */
import { writeFileSync } from 'node:fs';
import { registerHooks } from 'node:module';

const file = process.env.STEPOPS_LOADS_FILE;
if (!file) throw new Error('record-loads.ts: set STEPOPS_LOADS_FILE to the file to write');
const loaded: string[] = [];
registerHooks({
  load(url, context, nextLoad) {
    loaded.push(url);
    return nextLoad(url, context);
  },
});
process.on('exit', () => writeFileSync(file, loaded.join('\n')));
