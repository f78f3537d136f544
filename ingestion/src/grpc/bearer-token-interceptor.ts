import * as grpc from '@grpc/grpc-js';
import { secretMatches } from '@lizards/lib';

/**
 * Lets a call through only with the metadata `authorization: Bearer <token>` (compared in constant time); any
 * other call ends with UNAUTHENTICATED before the handler sees its content.
 */
export function bearerTokenInterceptor(token: string): grpc.ServerInterceptor {
  const expected = `Bearer ${token}`;
  return (_method, call) =>
    new grpc.ServerInterceptingCall(call, {
      start: (next) =>
        next({
          onReceiveMetadata: (metadata, pass) => {
            const [given] = metadata.get('authorization');
            if (typeof given === 'string' && secretMatches(given, expected)) return pass(metadata);
            call.sendStatus({
              code: grpc.status.UNAUTHENTICATED,
              details: 'ProcessData needs the metadata authorization: Bearer <INGEST_TOKEN>',
            });
          },
        }),
    });
}
