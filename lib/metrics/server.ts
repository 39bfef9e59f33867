/**
 * The HTTP endpoint Prometheus scrapes: `GET /metrics` in the text
 * exposition format, `GET /` a pointer to it, anything else 404.
 *
 * @example
 * const server = await serveMetrics(registry, parseListenAddress(":9464", "--metrics"));
 * server.url; // "http://127.0.0.1:9464/metrics"
 * await server.close();
 */
import { createServer } from "node:http";
import type { Registry } from "prom-client";
import { urlOf, type ListenAddress } from "./address.ts";

export interface MetricsServer {
  url: string;
  close(): Promise<void>;
}

/** The port is taken or not ours to bind; names the flag that asked for it. */
export class MetricsListenError extends Error {
  override name = "MetricsListenError";
}

export async function serveMetrics(registry: Registry, address: ListenAddress, what = "--metrics"): Promise<MetricsServer> {
  const server = createServer((request, response) => {
    const path = (request.url ?? "/").split("?")[0];
    if (path === "/metrics") {
      registry.metrics().then(
        (text) => {
          response.writeHead(200, { "Content-Type": registry.contentType });
          response.end(text);
        },
        (error: unknown) => {
          response.writeHead(500, { "Content-Type": "text/plain" });
          response.end(`collecting metrics failed: ${(error as Error).message ?? error}\n`);
        },
      );
    } else if (path === "/") {
      response.writeHead(200, { "Content-Type": "text/plain" });
      response.end("metrics at /metrics\n");
    } else {
      response.writeHead(404, { "Content-Type": "text/plain" });
      response.end("not found; metrics at /metrics\n");
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", (error: NodeJS.ErrnoException) =>
      reject(new MetricsListenError(`${what}: cannot listen on ${address.host}:${address.port}: ${error.code ?? error.message}`)),
    );
    server.listen(address.port, address.host, () => resolve());
  });
  // Port 0 asks the system for a free port; the URL names the one it gave.
  const bound = server.address();
  const port = typeof bound === "object" && bound ? bound.port : address.port;
  return {
    url: urlOf({ host: address.host, port }),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections?.();
      }),
  };
}
