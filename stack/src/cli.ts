import { servicesCommand } from './cli/services-command.js';
import { parseWatchArgs, WATCH_USAGE, watchCommand } from './cli/watch-command.js';

const USAGE = `usage: lizards <command>
  ${WATCH_USAGE}
  services          list the services and instances in the registry (REGISTRY_URL, default http://127.0.0.1:8500)`;

const trim = (url: string) => url.replace(/\/+$/, '');
const gatewayUrl = trim(process.env.GATEWAY_URL ?? 'http://127.0.0.1:8080');
const registryUrl = trim(process.env.REGISTRY_URL ?? 'http://127.0.0.1:8500');
const [command, ...rest] = process.argv.slice(2).filter((a) => a !== '--');

async function main(): Promise<number> {
  switch (command) {
    case 'watch': {
      const parsed = parseWatchArgs(rest);
      if ('error' in parsed) {
        process.stderr.write(`lizards watch: ${parsed.error}\n${USAGE}\n`);
        return 2;
      }
      const { symbols, alerts } = parsed;
      const stop = new AbortController();
      process.once('SIGINT', () => stop.abort());
      process.once('SIGTERM', () => stop.abort());
      process.stderr.write(`watching ${symbols.join(' ')} via ${gatewayUrl} (Ctrl-C to stop)\n`);
      return watchCommand({
        gatewayUrl,
        symbols,
        alerts,
        out: process.stdout,
        err: process.stderr,
        color: process.stdout.isTTY === true,
        signal: stop.signal,
      });
    }
    case 'services':
      return servicesCommand(registryUrl, process.stdout);
    case undefined:
    case 'help':
    case '--help':
      process.stdout.write(`${USAGE}\n`);
      return command === undefined ? 2 : 0;
    default:
      process.stderr.write(`unknown command ${command}\n${USAGE}\n`);
      return 2;
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`lizards: ${(err as Error).message}\n`);
    process.exit(1);
  },
);
