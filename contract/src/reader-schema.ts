import { CloneType, Kind, OptionalKind, type TSchema } from '@sinclair/typebox';

export interface ReaderSchemaOptions {
  /** Properties the reader does without: on every object that declares them, they may be missing. */
  optional?: readonly string[];
}

/**
 * `schema` as a reader that must keep working with a newer server checks it: its objects accept properties they do
 * not declare (the schemas say `additionalProperties: false`, which holds the server to its documented messages).
 * Records keep theirs: it is what limits their keys.
 */
export function readerSchema<T extends TSchema>(schema: T, opts: ReaderSchemaOptions = {}): T {
  const optional = new Set(opts.optional);
  const visit = (value: unknown): void => {
    if (typeof value !== 'object' || value === null) return;
    if (Array.isArray(value)) {
      for (const item of value) visit(item);
      return;
    }
    const node = value as Record<string | symbol, unknown>;
    if (node[Kind] === 'Object') {
      if (node.additionalProperties === false) delete node.additionalProperties;
      loosenRequired(node, optional);
    }
    for (const key of Object.keys(node)) visit(node[key]);
  };
  const copy = CloneType(schema);
  visit(copy);
  return copy;
}

function loosenRequired(node: Record<string | symbol, unknown>, optional: ReadonlySet<string>): void {
  const properties = node.properties as Record<string, Record<symbol, unknown>>;
  const required = (node.required as string[] | undefined)?.filter((key) => !optional.has(key));
  for (const key of optional) if (properties[key]) properties[key][OptionalKind] = 'Optional';
  if (required?.length) node.required = required;
  else delete node.required;
}
