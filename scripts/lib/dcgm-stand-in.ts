// A local stand-in for dcgm-exporter (`pnpm demo --collector`): one HTTP server per node serving the
// exporter's text format with the labels dcgm-exporter writes, tensor activity changing every scrape.
// Run as a file (`node scripts/lib/dcgm-stand-in.ts`, Node 24 strips the types) it is one node's exporter
// on DCGM_STAND_IN_LISTEN (default 0.0.0.0:9400), named after the machine: docker-compose.yml's
// `dcgm-exporter` service.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import { fileURLToPath } from 'node:url';

export interface StandInNode {
  hostname: string;
  /** GPUs 0..gpus-1; those of `pod` run the job, the others are idle. */
  gpus: number;
  pod: { namespace: string; name: string; gpus: number };
}

/**
 * Starts one exporter per node, on loopback and any free port unless `listen` says otherwise (nodes
 * after the first take the ports after `listen.port`); returns their /metrics URLs and a close function.
 */
export async function startDcgmStandIn(nodes: StandInNode[], listen: { host?: string; port?: number } = {}): Promise<{ urls: string[]; close(): Promise<void> }> {
  const servers: Server[] = [];
  const urls: string[] = [];
  for (const node of nodes) {
    let scrape = 0;
    const server = createServer((req, res) => {
      if (req.url !== '/metrics') return void res.writeHead(404).end();
      scrape++;
      const lines = ['# HELP DCGM_FI_PROF_PIPE_TENSOR_ACTIVE Ratio of cycles the tensor (HMMA) pipe is active.', '# TYPE DCGM_FI_PROF_PIPE_TENSOR_ACTIVE gauge'];
      for (let gpu = 0; gpu < node.gpus; gpu++) {
        const labels = `gpu="${gpu}",UUID="GPU-${node.hostname}-${gpu}",device="nvidia${gpu}",modelName="NVIDIA H100 80GB HBM3",Hostname="${node.hostname}",DCGM_FI_DRIVER_VERSION="535.104.05"`;
        const busy = gpu < node.pod.gpus;
        const job = busy ? `,container="trainer",namespace="${node.pod.namespace}",pod="${node.pod.name}"` : '';
        const value = busy ? 0.3 + 0.2 * Math.abs(Math.sin(scrape / 3 + gpu)) : 0;
        lines.push(`DCGM_FI_PROF_PIPE_TENSOR_ACTIVE{${labels}${job}} ${value.toFixed(6)}`);
      }
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(`${lines.join('\n')}\n`);
    });
    await new Promise<void>((resolve) => server.listen(listen.port ? listen.port + servers.length : 0, listen.host ?? '127.0.0.1', resolve));
    servers.push(server);
    urls.push(`http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`);
  }
  return { urls, close: async () => void (await Promise.all(servers.map((s) => new Promise((r) => s.close(r))))) };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [host, port] = (process.env.DCGM_STAND_IN_LISTEN ?? '0.0.0.0:9400').split(':');
  const node = hostname();
  // Eight GPUs; four of them held by a pod of DCGM_STAND_IN_NAMESPACE (the tenant mapping's namespace).
  const standIn = await startDcgmStandIn([{ hostname: node, gpus: 8, pod: { namespace: process.env.DCGM_STAND_IN_NAMESPACE ?? 'team-a', name: `trainer-${node}`, gpus: 4 } }], { host, port: Number(port) });
  console.log(`dcgm-exporter stand-in for node ${node} on ${host}:${port}/metrics`);
  process.once('SIGTERM', () => void standIn.close().then(() => process.exit(0)));
}
