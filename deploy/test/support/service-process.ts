import type { ServiceProcess } from '@lizards/testkit';

/**
 * The `url` (or `adminUrl`) of the service's "ready" log line (runService's listening addresses), once it is written.
 */
export function readyUrl(
  service: ServiceProcess,
  message: string,
  field: 'url' | 'adminUrl' = 'url',
): string | undefined {
  const line = service.lines.find((l) => l.msg === message && typeof l[field] === 'string');
  return line?.[field] as string | undefined;
}

/** Why waiting is pointless: the first of `services` that has exited, with the end of its stderr. */
export function exitedService(services: (ServiceProcess | undefined)[]): string | undefined {
  const dead = services.find((s) => s && (s.child.exitCode !== null || s.child.signalCode !== null));
  return dead && `${dead.name} exited (${dead.child.exitCode ?? dead.child.signalCode}): ${dead.stderr().slice(-2000)}`;
}
