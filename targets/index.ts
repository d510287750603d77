/**
 * Every target file, imported statically: Lambdas bundle this registry because they cannot load
 * files at run time. `validate`, `plan` and `run` read a new file directly; `stepops validate` and
 * `sst deploy` refuse a file missing here and print the two lines to add.
 */
import type { TargetInput } from '../shared/config/schema.ts';
import aiChat from './ai-chat.ts';
import datizmo from './datizmo.ts';
import demo from './demo.ts';
import docsai from './docsai.ts';
import shop from './shop.ts';
import zmanim from './zmanim.ts';

/** Target definitions by name (the file name without `.ts`), not yet validated. */
export const targets: Record<string, TargetInput> = {
  'ai-chat': aiChat,
  datizmo,
  demo,
  docsai,
  shop,
  zmanim,
};
