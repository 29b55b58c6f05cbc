import { createServer, type Server } from 'node:http';
import type { Logger } from 'pino';
import type { HostPort } from '../config/types.js';
import type { RunningProxy } from './proxy.js';

const READY_TIMEOUT_MS = 10_000;

/**
 * The optional admin HTTP listener, for service managers and Kubernetes probes:
 *   GET /healthz  200 while the process runs
 *   GET /readyz   200 when the listeners are bound and every app registration gets a token
 *                 (cached tokens count), else 503 with the reasons as JSON
 *   GET /metrics  Prometheus text format
 * It serves nothing secret and accepts nothing but GET.
 */
export function startAdminServer(proxy: RunningProxy, address: HostPort, log: Logger): Promise<Server> {
  let stopping = false;
  const server = createServer((req, res) => {
    const send = (status: number, type: string, body: string) => {
      res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
      res.end(body);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'text/plain', 'method not allowed\n');
    const path = new URL(req.url ?? '/', 'http://admin').pathname;
    if (path === '/healthz') return send(200, 'text/plain', 'ok\n');
    if (path === '/metrics') {
      proxy.metrics.render().then((body) => send(200, proxy.metrics.contentType, body), (error: Error) => send(500, 'text/plain', `${error.message}\n`));
      return;
    }
    if (path === '/readyz') {
      void readiness(proxy, stopping).then(({ ready, apps }) => send(ready ? 200 : 503, 'application/json', `${JSON.stringify({ ready, apps })}\n`));
      return;
    }
    send(404, 'text/plain', 'not found\n');
  });
  server.on('close', () => {
    stopping = true;
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(address.port, address.host, () => {
      const bound = server.address();
      log.info({ event: 'admin.listening', host: address.host, port: typeof bound === 'object' && bound ? bound.port : address.port }, 'admin HTTP listener ready');
      resolve(server);
    });
  });
}

async function readiness(proxy: RunningProxy, stopping: boolean): Promise<{ ready: boolean; apps: Record<string, string> }> {
  const apps: Record<string, string> = {};
  await Promise.all([...proxy.context().tokens].map(async ([name, provider]) => {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<string>((resolve) => {
      timer = setTimeout(() => resolve('token request timed out'), READY_TIMEOUT_MS);
    });
    apps[name] = await Promise.race([provider.getToken().then(() => 'ok', (error: Error) => error.message), timeout]);
    clearTimeout(timer);
  }));
  return { ready: !stopping && Object.values(apps).every((state) => state === 'ok'), apps };
}
