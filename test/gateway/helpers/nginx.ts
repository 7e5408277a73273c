/**
 * Starts the real nginx (Debian package) with a generated config in a temp folder, on a free
 * loopback port, in the foreground (`daemon off`), for forward-auth tests and the benchmark.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, readFileSync, existsSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../helpers/ports.ts';

export const NGINX = '/usr/sbin/nginx';

export interface Nginx {
  url: string;
  port: number;
  stop(): Promise<void>;
}

/** `server` is the body of one `server {}` block; `listen` is added. `http` goes before it, in the `http {}` block (upstreams). */
export async function startNginx(server: string, options: { workers?: number; http?: string } = {}): Promise<Nginx> {
  if (!existsSync(NGINX)) throw new Error('nginx not found at /usr/sbin/nginx; install it with: apt-get install nginx');
  const dir = mkdtempSync(join(tmpdir(), 'porta-nginx-'));
  const port = await freePort();
  const conf = `
worker_processes ${options.workers ?? 1};
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
${options.http ?? ''}
  server {
    listen 127.0.0.1:${port};
${server}
  }
}
`;
  writeFileSync(join(dir, 'nginx.conf'), conf);
  const child: ChildProcess = spawn(NGINX, ['-p', dir, '-e', join(dir, 'error.log'), '-c', join(dir, 'nginx.conf'), '-g', 'daemon off;'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const deadline = Date.now() + 5000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`nginx exited: ${stderr} ${existsSync(join(dir, 'error.log')) ? readFileSync(join(dir, 'error.log'), 'utf8') : ''}`);
    const up = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1', () => {
        socket.destroy();
        resolve(true);
      });
      socket.on('error', () => resolve(false));
    });
    if (up) break;
    if (Date.now() > deadline) throw new Error(`nginx did not start: ${stderr}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGQUIT');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * The forward-auth configuration of docs/gateway.md, pointed at a gateway and an upstream: an
 * `upstream` block (for the `http` level) that keeps connections to Porta open, and the server block.
 */
export function forwardAuthConfig(gateway: string, upstream: string): { http: string; server: string } {
  const gatewayAddress = new URL(gateway).host;
  const http = `
  upstream porta {
    server ${gatewayAddress};
    keepalive 16;
  }
`;
  const server = `
    location /_porta/ {
      proxy_pass http://porta;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $http_host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
    }
    location = /_porta/auth {
      internal;
      proxy_pass http://porta/_porta/auth;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_pass_request_body off;
      proxy_set_header Content-Length "";
      proxy_set_header Host $http_host;
      proxy_set_header X-Original-URI $request_uri;
      proxy_set_header X-Original-Method $request_method;
      proxy_set_header X-Forwarded-Host $host;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
    }
    location @porta_sign_in {
      return 302 /_porta/start?rd=$scheme://$http_host$request_uri;
    }
    location / {
      auth_request /_porta/auth;
      error_page 401 = @porta_sign_in;
      auth_request_set $porta_user $upstream_http_x_forwarded_user;
      auth_request_set $porta_email $upstream_http_x_forwarded_email;
      auth_request_set $porta_groups $upstream_http_x_forwarded_groups;
      auth_request_set $porta_username $upstream_http_x_forwarded_preferred_username;
      proxy_set_header X-Forwarded-User $porta_user;
      proxy_set_header X-Forwarded-Email $porta_email;
      proxy_set_header X-Forwarded-Groups $porta_groups;
      proxy_set_header X-Forwarded-Preferred-Username $porta_username;
      proxy_set_header Remote-User "";
      proxy_set_header Remote-Email "";
      proxy_set_header Remote-Groups "";
      proxy_set_header Remote-Name "";
      proxy_pass ${upstream};
    }
`;
  return { http, server };
}
