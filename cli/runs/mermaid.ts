/**
 * A workflow's diagram in Mermaid, generated from its ASL definition: one node per state (shaped by
 * type), an edge per `Next`, `Default`, `Choices` rule (labelled with its condition) and `Catch`
 * (dotted, labelled with the errors), and each Map's item processor as a subgraph.
 */
import type { StateMachineDefinition } from '../../shared/engine/asl.ts';

type AnyState = Record<string, unknown> & { Type: string };

function id(prefix: string, name: string): string {
  return `${prefix}${name.replace(/[^A-Za-z0-9_]/g, '_')}`;
}

function label(text: string): string {
  return text.replaceAll('"', "'");
}

function node(nodeId: string, name: string, type: string): string {
  const text = label(name);
  switch (type) {
    case 'Choice':
      return `${nodeId}{"${text}"}`;
    case 'Succeed':
      return `${nodeId}(["${text}"])`;
    case 'Fail':
      return `${nodeId}[["${text}"]]`;
    case 'Map':
    case 'Parallel':
      return `${nodeId}[/"${text}"/]`;
    case 'Pass':
      return `${nodeId}>"${text}"]`;
    default:
      return `${nodeId}["${text}"]`;
  }
}

const OPERATORS: [RegExp, string][] = [
  [/GreaterThanEquals(Path)?$/, '>='],
  [/LessThanEquals(Path)?$/, '<='],
  [/GreaterThan(Path)?$/, '>'],
  [/LessThan(Path)?$/, '<'],
  [/Equals(Path)?$/, '='],
  [/Matches$/, 'matches'],
];

function condition(rule: Record<string, unknown>): string {
  if (Array.isArray(rule.And)) return (rule.And as Record<string, unknown>[]).map(condition).join(' and ');
  if (Array.isArray(rule.Or)) return (rule.Or as Record<string, unknown>[]).map(condition).join(' or ');
  if (rule.Not) return `not (${condition(rule.Not as Record<string, unknown>)})`;
  const variable = String(rule.Variable ?? '').replace(/^\$\./, '');
  if (rule.IsPresent !== undefined) return `${variable} ${rule.IsPresent ? 'present' : 'absent'}`;
  const operator = Object.keys(rule).find((k) => k !== 'Variable' && k !== 'Next');
  if (!operator) return variable;
  const symbol = OPERATORS.find(([pattern]) => pattern.test(operator))?.[1];
  return symbol
    ? `${variable} ${symbol} ${String(rule[operator])}`
    : `${variable} ${operator} ${String(rule[operator])}`;
}

function render(definition: StateMachineDefinition, prefix: string, lines: string[], indent: string): void {
  const states = definition.States as Record<string, AnyState>;
  const to = (name: string) => id(prefix, name);
  lines.push(`${indent}${prefix}start(( )) --> ${to(definition.StartAt)}`);
  for (const [name, state] of Object.entries(states)) {
    const from = to(name);
    if (state.Type === 'Map' || state.Type === 'Parallel') {
      lines.push(`${indent}${node(from, name, state.Type)}`);
      const processor = (state.ItemProcessor ?? state.Iterator) as StateMachineDefinition | undefined;
      if (processor) {
        const inner = `${from}__`;
        lines.push(`${indent}subgraph ${inner}sub["${label(name)}: each item"]`);
        render(processor, inner, lines, `${indent}  `);
        lines.push(`${indent}end`);
        lines.push(`${indent}${from} -.-> ${inner}start`);
      }
    } else {
      lines.push(`${indent}${node(from, name, state.Type)}`);
    }
    if (typeof state.Next === 'string') lines.push(`${indent}${from} --> ${to(state.Next)}`);
    for (const rule of (state.Choices as Record<string, unknown>[] | undefined) ?? []) {
      lines.push(`${indent}${from} -->|"${label(condition(rule))}"| ${to(String(rule.Next))}`);
    }
    if (typeof state.Default === 'string') lines.push(`${indent}${from} -->|otherwise| ${to(state.Default)}`);
    for (const catcher of (state.Catch as { ErrorEquals: string[]; Next: string }[] | undefined) ?? []) {
      lines.push(`${indent}${from} -.->|"${label(catcher.ErrorEquals.join(', '))}"| ${to(catcher.Next)}`);
    }
  }
}

/**
 * The Mermaid flowchart of a definition.
 *
 * @example
 * mermaid(deployWorkflow(localArns(DEPLOY_FUNCTIONS))) // 'flowchart TD\n  start(( )) --> PlanDeploy\n…'
 */
export function mermaid(definition: StateMachineDefinition): string {
  const lines = ['flowchart TD'];
  render(definition, '', lines, '  ');
  return `${lines.join('\n')}\n`;
}
