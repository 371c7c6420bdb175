// A local stand-in for dcgm-exporter (`pnpm demo --collector`): one HTTP server per node serving the
// exporter's text format with the labels dcgm-exporter writes, tensor activity changing every scrape.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface StandInNode {
  hostname: string;
  /** GPUs 0..gpus-1; those of `pod` run the job, the others are idle. */
  gpus: number;
  pod: { namespace: string; name: string; gpus: number };
}

/** Starts one exporter per node on loopback; returns their /metrics URLs and a close function. */
export async function startDcgmStandIn(nodes: StandInNode[]): Promise<{ urls: string[]; close(): Promise<void> }> {
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
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    servers.push(server);
    urls.push(`http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`);
  }
  return { urls, close: async () => void (await Promise.all(servers.map((s) => new Promise((r) => s.close(r))))) };
}
