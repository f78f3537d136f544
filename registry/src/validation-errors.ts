import type { FastifyError } from 'fastify';

const FIELD_HINTS: Record<string, string> = {
  name: 'must be a non-empty string of at most 128 characters',
  ip_address: 'must be an IPv4 or IPv6 address or a host name',
  port_number: 'must be a port 1-65535, as a number or a numeric string',
  protocol: 'must be one of http, https, ws, wss, gRPC, tcp',
  serviceId: 'must be 1-63 characters of a-z, 0-9, ".", "_" or "-", starting with a letter or digit',
};

/** Turns a Fastify schema-validation error into `{field, message}` naming the first bad field. */
export function describeValidationError(error: FastifyError): { field: string; message: string } {
  const first = error.validation?.[0];
  const context = error.validationContext ?? 'body';
  if (!first) return { field: context, message: error.message };
  const missing = (first.params as { missingProperty?: string }).missingProperty;
  const path = first.instancePath.replace(/^\//, '').split('/')[0];
  const field = missing ?? (path || context);
  if (missing) return { field, message: `${context}.${field} is required` };
  const hint = FIELD_HINTS[field] ?? first.message ?? 'is invalid';
  return { field, message: `${field === context ? field : `${context}.${field}`} ${hint}` };
}
