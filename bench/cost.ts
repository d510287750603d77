/** Placeholder until shared/engine and workflows/deploy.ts land. */
import type { CostSection } from './report.ts';

export interface SectionOptions {
  quick: boolean;
  log: (line: string) => void;
}

/** @example await benchCost({ quick: false, log: console.log }) */
export async function benchCost(_options: SectionOptions): Promise<CostSection> {
  throw new Error('shared/engine and workflows/deploy.ts are not in the repository yet');
}
