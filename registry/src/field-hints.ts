/** What each registration field must be: the message of a 400 naming it. */
export const FIELD_HINTS: Record<string, string> = {
  name: 'must be a non-empty string of at most 128 characters',
  ip_address: 'must be an IPv4 or IPv6 address or a host name',
  port_number: 'must be a port 1-65535, as a number or a numeric string',
  protocol: 'must be one of http, https, ws, wss, gRPC, tcp (in any case)',
  admin_port: 'must be a port 1-65535, as a number or a numeric string',
  serviceId: 'must be 1-63 characters of a-z, 0-9, ".", "_" or "-", starting with a letter or digit',
};
