import { describe, expect, it } from 'vitest';
import { clientMessageSchemas } from '@lizards/contract';
import { decodeClientMessage } from '../src/hub/client-messages.js';

describe('client messages', () => {
  it('when a message is well formed, then it is decoded as its type', () => {
    expect(decodeClientMessage('{"type":"subscribe","symbols":["AAPL"],"since":"12"}')).toEqual({
      ok: true,
      message: { type: 'subscribe', symbols: ['AAPL'], since: '12' },
    });
    expect(decodeClientMessage('{"type":"unsubscribe","symbols":["AAPL"]}')).toEqual({
      ok: true,
      message: { type: 'unsubscribe', symbols: ['AAPL'] },
    });
  });

  it('when a frame is not a typed JSON object, then the error says so', () => {
    expect(decodeClientMessage('{nope')).toEqual({ ok: false, error: 'Malformed JSON' });
    expect(decodeClientMessage('[1]')).toEqual({
      ok: false,
      error: 'Message must be a JSON object with a string "type"',
    });
    expect(decodeClientMessage('{"type":3}')).toEqual({
      ok: false,
      error: 'Message must be a JSON object with a string "type"',
    });
  });

  it('when the type is not one of the protocol, then it is unknown (names of Object.prototype too)', () => {
    for (const type of ['hello', 'constructor', '__proto__', 'toString']) {
      expect(decodeClientMessage(JSON.stringify({ type, symbols: ['AAPL'] }))).toEqual({
        ok: false,
        error: `Unknown message type: ${type}`,
      });
    }
    expect(decodeClientMessage(JSON.stringify({ type: 'x'.repeat(100) }))).toEqual({
      ok: false,
      error: `Unknown message type: ${'x'.repeat(32)}`,
    });
  });

  it('when a known type has a bad shape, then the error names the type and the first problem', () => {
    const decoded = decodeClientMessage('{"type":"subscribe","symbols":[]}');
    expect(decoded.ok).toBe(false);
    expect(!decoded.ok && decoded.error).toMatch(/^Invalid subscribe message: \/symbols /);
    const since = decodeClientMessage('{"type":"subscribe","symbols":["AAPL"],"since":"-1"}');
    expect(!since.ok && since.error).toMatch(/^Invalid subscribe message: \/since /);
  });

  it('when compared with the contract, then the hub decodes every client message it documents, and no other', () => {
    // The gateway's AsyncAPI document lists the contract's clientMessageSchemas: each must be known to the hub.
    for (const type of Object.keys(clientMessageSchemas)) {
      const decoded = decodeClientMessage(JSON.stringify({ type }));
      expect(decoded.ok || decoded.error, type).not.toMatch(/^Unknown message type/);
    }
    expect(decodeClientMessage('{"type":"not-in-the-contract"}')).toEqual({
      ok: false,
      error: 'Unknown message type: not-in-the-contract',
    });
  });
});
