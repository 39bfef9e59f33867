/**
 * The HTTP endpoint Prometheus scrapes: `GET /metrics` in the text
 * exposition format, `GET /` a pointer to it, anything else 404.
 *
 * Under Bun it is a Bun.serve server: node:http's compatibility layer costs
 * a few milliseconds of CPU more per scrape. Elsewhere (Deno, Node) node:http.
 *
 * @example
 * const server = await serveMetrics(registry, parseListenAddress(":9464", "--metrics"));
 * server.url; // "http://127.0.0.1:9464/metrics"
 * await server.close();
 */
import { createServer } from "node:http";
import type { Registry } from "prom-client";
import { urlOf, type ListenAddress } from "./address.ts";
import { errorMessage } from "../errors.ts";

export interface MetricsServer {
  url: string;
  close(): Promise<void>;
}

/** The port is taken or not ours to bind; names the flag that asked for it. */
export class MetricsListenError extends Error {
  override name = "MetricsListenError";
}

interface Reply {
  status: number;
  contentType: string;
  body: string;
}

async function reply(registry: Registry, path: string): Promise<Reply> {
  if (path === "/metrics") {
    try {
      return { status: 200, contentType: registry.contentType, body: await registry.metrics() };
    } catch (error) {
      return { status: 500, contentType: "text/plain", body: `collecting metrics failed: ${errorMessage(error)}\n` };
    }
  }
  if (path === "/") return { status: 200, contentType: "text/plain", body: "metrics at /metrics\n" };
  return { status: 404, contentType: "text/plain", body: "not found; metrics at /metrics\n" };
}

export async function serveMetrics(registry: Registry, address: ListenAddress, what = "--metrics"): Promise<MetricsServer> {
  const listenError = (error: unknown) =>
    new MetricsListenError(
      `${what}: cannot listen on ${address.host}:${address.port}: ${(error as NodeJS.ErrnoException).code ?? errorMessage(error)}`,
    );
  if (typeof Bun !== "undefined") {
    let server: ReturnType<typeof Bun.serve>;
    try {
      server = Bun.serve({
        hostname: address.host,
        port: address.port,
        async fetch(request) {
          const { status, contentType, body } = await reply(registry, new URL(request.url).pathname);
          return new Response(body, { status, headers: { "Content-Type": contentType } });
        },
      });
    } catch (error) {
      throw listenError(error);
    }
    return { url: urlOf({ host: address.host, port: server.port ?? address.port }), close: async () => void (await server.stop(true)) };
  }

  const server = createServer((request, response) => {
    void reply(registry, (request.url ?? "/").split("?")[0]!).then(({ status, contentType, body }) => {
      response.writeHead(status, { "Content-Type": contentType });
      response.end(body);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", (error) => reject(listenError(error)));
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
