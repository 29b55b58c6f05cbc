/** The parts of a JSON Schema node that the config's messages read. */
export interface SchemaNode {
  $ref?: string;
  type?: string | string[];
  enum?: unknown[];
  properties?: Record<string, SchemaNode>;
  additionalProperties?: boolean | SchemaNode;
  items?: SchemaNode;
  propertyNames?: SchemaNode;
  oneOf?: SchemaNode[];
  required?: string[];
  definitions?: Record<string, SchemaNode>;
  default?: unknown;
  examples?: unknown[];
  description?: string;
  errorMessage?: string;
}

/** A path into the config in the README's notation: apps.contoso.clientId, listeners[0].port. */
export function keyOf(path: readonly string[], data: unknown): string {
  let key = '';
  let value = data;
  for (const segment of path) {
    key = Array.isArray(value) ? `${key}[${segment}]` : key ? `${key}.${segment}` : segment;
    value = value !== null && typeof value === 'object' ? (value as Record<string, unknown>)[segment] : undefined;
  }
  return key || '(top level)';
}

/**
 * The schema node that describes the value at `path`, with a `$ref` replaced by its target
 * plus the keywords written beside it (a default or examples at the place of use). Empty
 * when the schema says nothing about that path.
 */
export function schemaAt(root: SchemaNode, path: readonly string[]): SchemaNode {
  let node: SchemaNode | undefined = resolve(root, root);
  for (const segment of path) {
    if (!node) break;
    const child: SchemaNode | undefined =
      node.properties?.[segment] ??
      node.items ??
      (typeof node.additionalProperties === 'object' ? node.additionalProperties : undefined);
    node = child && resolve(root, child);
  }
  return node ?? {};
}

function resolve(root: SchemaNode, node: SchemaNode): SchemaNode {
  if (!node.$ref) return node;
  const { $ref, ...beside } = node;
  const target = root.definitions?.[$ref.replace('#/definitions/', '')] ?? {};
  return { ...resolve(root, target), ...beside };
}

/** JSON as people write it in a config file: {"imap": 16, "pop3": 16}, ["10.0.0.0/24"]. */
export function formatJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(formatJson).join(', ')}]`;
  if (value !== null && typeof value === 'object') {
    return `{${Object.entries(value).map(([name, child]) => `${JSON.stringify(name)}: ${formatJson(child)}`).join(', ')}}`;
  }
  return JSON.stringify(value);
}
