// nginx as a peer of the gateway: our own instance as a child process (never the system's), configured the way a
// user would put it in front of one upstream, with everything it writes in a temp dir.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findProgram, programVersion, type Peer } from './peers.js';
import { freePort, type ProcessGroup, type ServiceProcess } from './services.js';

/** The nginx binary and its version, or undefined when it is not installed (Debian: `apt-get install nginx-light`). */
export async function findNginx(): Promise<{ file: string; peer: Peer } | undefined> {
  const file = await findProgram('nginx');
  if (!file) return undefined;
  return { file, peer: { name: 'nginx', version: await programVersion(file, '-v', /nginx\/(\S+)/) } };
}

function config(dir: string, port: number, upstreamPort: number, keepalive: number): string {
  const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']
    .map((t) => `  ${t}_temp_path ${dir}/${t};`)
    .join('\n');
  return `worker_processes 1;
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
${temp}
  upstream trivial {
    server 127.0.0.1:${upstreamPort};
    keepalive ${keepalive};
  }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://trivial;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
`;
}

/**
 * nginx with one worker in front of `upstreamPort` on a free 127.0.0.1 port, keeping up to `keepalive` idle
 * connections to the upstream; stopped (and its temp dir removed) with the group.
 */
export async function startNginx(
  group: ProcessGroup,
  file: string,
  upstreamPort: number,
  keepalive: number,
): Promise<ServiceProcess> {
  const dir = await mkdtemp(join(tmpdir(), 'lz-bench-nginx-'));
  group.afterStop(() => rm(dir, { recursive: true, force: true }));
  const port = await freePort();
  await writeFile(join(dir, 'nginx.conf'), config(dir, port, upstreamPort, keepalive));
  // -e: the error log before the config is read (the default, /var/log/nginx, may not be writable); -p: the prefix.
  return group.start({
    name: 'nginx',
    command: { file, args: ['-e', join(dir, 'error.log'), '-p', dir, '-c', join(dir, 'nginx.conf')] },
    env: { PORT: String(port) },
    readyPath: '/health',
  });
}
