/** Placeholder until shared/engine and workflows/deploy.ts land. */
import type { OverheadSection } from './report.ts';

export interface SectionOptions {
  quick: boolean;
  log: (line: string) => void;
}

/** @example await benchOverhead({ quick: false, log: console.log }) */
export async function benchOverhead(_options: SectionOptions): Promise<OverheadSection> {
  throw new Error('shared/engine and workflows/deploy.ts are not in the repository yet');
}
