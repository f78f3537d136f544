import { Kind, Type, TypeGuard } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { describe, expect, it } from 'vitest';
import { readerSchema, serverMessageSchemas } from '../src/index.js';

const Entry = Type.Object({ price: Type.Number(), source: Type.String() }, { additionalProperties: false });
const Message = Type.Object(
  {
    type: Type.Literal('prices'),
    data: Type.Record(Type.String({ pattern: '^[A-Z]+$' }), Entry, { additionalProperties: false }),
  },
  { additionalProperties: false },
);

describe('readerSchema', () => {
  it('when an object has a property its schema does not declare, then the reader takes it, the schema not', () => {
    const value = { type: 'prices', data: { AAPL: { price: 1, source: 's', volume: 3 } }, at: 5 };
    expect(Value.Check(Message, value)).toBe(false);
    expect(Value.Check(readerSchema(Message), value)).toBe(true);
  });

  it('when a known property has the wrong type, or a record key breaks its pattern, then the reader refuses it', () => {
    const reader = readerSchema(Message);
    expect(Value.Check(reader, { type: 'prices', data: { AAPL: { price: '1', source: 's' } } })).toBe(false);
    expect(Value.Check(reader, { type: 'prices', data: { aapl: { price: 1, source: 's' } } })).toBe(false);
  });

  it('when properties are named optional, then they may be missing, and the others are still required', () => {
    const reader = readerSchema(Message, { optional: ['source'] });
    expect(Value.Check(reader, { type: 'prices', data: { AAPL: { price: 1 } } })).toBe(true);
    expect(Value.Check(reader, { type: 'prices', data: { AAPL: { source: 's' } } })).toBe(false);
    expect(Value.Check(readerSchema(Message), { type: 'prices', data: { AAPL: { price: 1 } } })).toBe(false);
  });

  it('when a schema is read, then the original is left as it was and the copy is still a TypeBox schema', () => {
    const before = JSON.stringify(serverMessageSchemas);
    for (const schema of Object.values(serverMessageSchemas)) {
      const reader = readerSchema(schema, { optional: ['source'] });
      expect(TypeGuard.IsSchema(reader)).toBe(true);
      expect(reader[Kind]).toBe(schema[Kind]);
    }
    expect(JSON.stringify(serverMessageSchemas)).toBe(before);
  });
});
