import { readFileSync } from 'node:fs';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import type { ConfigProblem } from './problems.js';
import { describeShapeError } from './shape-problems.js';
import type { SchemaNode } from './schema-paths.js';

/**
 * config.schema.json is the one description of the config's shape and defaults. It sits at
 * the package root, two folders above this module both in src/config/ and in dist/config/
 * (the npm package ships it, see "files" in package.json).
 */
const SCHEMA_URL = new URL('../../config.schema.json', import.meta.url);

interface CompiledSchema {
  schema: SchemaNode;
  validate: ValidateFunction;
}

let compiled: CompiledSchema | undefined;

function compileOnce(): CompiledSchema {
  if (compiled) return compiled;
  const schema = JSON.parse(readFileSync(SCHEMA_URL, 'utf8')) as SchemaNode;
  // allErrors: report every problem at once; useDefaults: the schema's defaults are the only ones.
  const ajv = new Ajv({ allErrors: true, useDefaults: true, allowUnionTypes: true, verbose: true });
  // VS Code's keyword for a node's own message; to ajv a plain annotation.
  ajv.addVocabulary(['errorMessage']);
  compiled = { schema, validate: ajv.compile(schema) };
  return compiled;
}

/**
 * Checks parsed JSON against config.schema.json and fills in the schema's defaults, in place.
 * Returns one problem per key, each naming the key, what is wrong and how to fix it.
 */
export function checkShape(data: unknown): ConfigProblem[] {
  const { schema, validate } = compileOnce();
  if (validate(data)) return [];
  const problems = new Map<string, ConfigProblem>();
  for (const error of validate.errors ?? []) {
    if (isFoldedIntoParent(error)) continue;
    const problem = describeShapeError(error, schema, data);
    if (!problems.has(problem.key)) problems.set(problem.key, problem);
  }
  return [...problems.values()];
}

/** A branch of a oneOf or the pattern under propertyNames: their parent's error says it better. */
function isFoldedIntoParent(error: ErrorObject): boolean {
  return /\/(oneOf|anyOf)\/\d+\/|\/propertyNames\//.test(error.schemaPath);
}
