import type { ErrorObject } from 'ajv';
import type { ConfigProblem } from './problems.js';
import { formatJson, keyOf, schemaAt, type SchemaNode } from './schema-paths.js';

/**
 * Words one of ajv's errors the way the rest of the config checks speak: the key in the
 * README's notation (accounts.talend.protocols[1]), what is wrong, and a fix built from the
 * schema's own enum, examples, default and description.
 */
export function describeShapeError(error: ErrorObject, root: SchemaNode, data: unknown): ConfigProblem {
  const path = error.instancePath.split('/').slice(1).map((s) => s.replaceAll('~1', '/').replaceAll('~0', '~'));
  const key = keyOf(path, data);
  const node = schemaAt(root, path);
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'additionalProperties':
      return unknownKey(join(key, String(params.additionalProperty)), String(params.additionalProperty), Object.keys(node.properties ?? {}));
    case 'required': {
      const name = String(params.missingProperty);
      return { key: join(key, name), problem: 'is missing', fix: missingFix(schemaAt(root, [...path, name])) };
    }
    case 'dependencies':
      return { key, problem: `has ${params.property} but no ${params.missingProperty}`, fix: `give both ${params.property} and ${params.missingProperty}, or neither` };
    case 'oneOf':
      return oneOfProblem(key, node, params.passingSchemas);
    case 'propertyNames':
      return { key: join(key, String(params.propertyName)), problem: node.propertyNames?.errorMessage ?? 'is not an allowed name', fix: 'rename it' };
    case 'uniqueItems':
      return { key, problem: `lists ${formatJson((error.data as unknown[])[Number(params.i)])} twice`, fix: 'remove the repeat' };
    default:
      return { key, problem: node.errorMessage ?? valueProblem(error, node), fix: valueFix(error.keyword, node) };
  }
}

function join(key: string, name: string): string {
  return key === '(top level)' ? name : `${key}.${name}`;
}

/** What is wrong with a value that breaks its node's own keywords (type, enum, range, size). */
function valueProblem(error: ErrorObject, node: SchemaNode): string {
  const limit = (error.params as { limit?: number }).limit;
  switch (error.keyword) {
    case 'type':
      return `must be ${typeWords((error.params as { type: string | string[] }).type)}`;
    case 'enum':
      return `${JSON.stringify(error.data)} is not allowed`;
    case 'minimum':
      if (node.type === 'integer' && limit === 1) return 'must be a positive whole number';
      if (node.type === 'integer' && limit === 0) return 'must be 0 or a positive whole number';
      return `must be at least ${limit}`;
    case 'maximum':
      return `must be at most ${limit}`;
    case 'minLength':
      return 'must not be empty';
    case 'minItems':
      return 'is an empty list';
    case 'minProperties':
      return 'is empty';
    default:
      return error.message ?? 'is not valid';
  }
}

const TYPE_WORDS: Record<string, string> = {
  object: 'an object', array: 'a list', string: 'a string', integer: 'a whole number',
  number: 'a number', boolean: 'true or false', null: 'null',
};

function typeWords(types: string | string[]): string {
  const list = Array.isArray(types) ? types : types.split(',');
  return list.map((t) => TYPE_WORDS[t] ?? t).join(' or ');
}

function valueFix(keyword: string, node: SchemaNode): string {
  if (node.enum) return `use one of: ${node.enum.join(', ')}`;
  const example = exampleOf(node);
  if (keyword === 'minItems' || keyword === 'minProperties') {
    return `add at least one${example === undefined ? ' (see config.example.json)' : `, e.g. ${formatJson(example)}`}`;
  }
  if (example !== undefined) return `use e.g. ${formatJson(example)}`;
  if (node.type === 'object') return 'use {...} (see config.example.json)';
  return node.description ? `set it to ${sentence(node.description)}` : 'see config.example.json';
}

/** "add it: <description> (e.g. <example>)", from what the schema says about the missing key. */
function missingFix(node: SchemaNode): string {
  const example = exampleOf(node);
  const what = node.enum ? `one of ${node.enum.join(', ')}` : node.description ? sentence(node.description) : undefined;
  const structured = node.type === 'object' || node.type === 'array';
  if (what === undefined) return example === undefined ? 'add it (see config.example.json)' : `add it, e.g. ${formatJson(example)}`;
  const eg = example !== undefined ? ` (e.g. ${formatJson(example)})` : structured ? ' (see config.example.json)' : '';
  return `add it: ${what}${eg}`;
}

/** Schemas whose branches each require one key (clientSecret or certificate). */
function oneOfProblem(key: string, node: SchemaNode, passing: unknown): ConfigProblem {
  const names = (node.oneOf ?? []).flatMap((branch) => branch.required ?? []);
  if (Array.isArray(passing)) return { key, problem: `has both ${names.join(' and ')}`, fix: 'keep one of them' };
  const choices = names.map((name) => {
    const example = exampleOf(node.properties?.[name] ?? {});
    return example === undefined ? `"${name}"` : `"${name}": ${formatJson(example)}`;
  });
  return { key, problem: `has neither ${names.join(' nor ')}`, fix: `add one of them: ${choices.join(' or ')}` };
}

function exampleOf(node: SchemaNode): unknown {
  if (node.examples?.length) return node.examples[0];
  const fallback = node.default;
  const empty = fallback === null || (typeof fallback === 'object' && Object.keys(fallback as object).length === 0);
  return empty ? undefined : fallback;
}

function unknownKey(key: string, name: string, known: string[]): ConfigProblem {
  const meant = closestName(name, known);
  const fix = meant === undefined ? `remove it or use one of: ${known.join(', ')}` : `rename it to "${meant}" or remove it (valid keys: ${known.join(', ')})`;
  return { key, problem: 'is not a known setting', fix };
}

/** The known key a typo most likely meant: same letters in another case, or at most two edits away. */
function closestName(name: string, known: string[]): string | undefined {
  const folded = known.find((k) => k.toLowerCase() === name.toLowerCase());
  if (folded) return folded;
  const scored = known.map((k) => ({ k, d: editDistance(name.toLowerCase(), k.toLowerCase()) })).sort((a, b) => a.d - b.d);
  const best = scored[0];
  return best && best.d <= Math.min(2, Math.floor(name.length / 3)) ? best.k : undefined;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(previous[j]! + 1, row[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = row;
  }
  return previous[b.length]!;
}

/** A description written for editors, as the end of a sentence: no final full stop. */
function sentence(description: string): string {
  return description.replace(/\.$/, '');
}
