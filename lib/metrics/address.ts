/**
 * Listen addresses for metrics endpoints, in the forms exporters use:
 * `:9464` (every interface), `127.0.0.1:9464`, `[::1]:9464`.
 *
 * @example
 * parseListenAddress(":9464", "--metrics");          // { host: "0.0.0.0", port: 9464 }
 * parseListenAddress("127.0.0.1:9464", "--metrics"); // { host: "127.0.0.1", port: 9464 }
 * parseListenAddress("127.0.0.1:0", "--metrics");    // any free port (tests)
 */
import { UsageError } from "../errors.ts";

export interface ListenAddress {
  host: string;
  port: number;
}

/** `what` names the flag in the error, e.g. "--metrics". */
export function parseListenAddress(text: string, what: string): ListenAddress {
  const match = /^(?:\[([^\]]+)\]|([^:[\]]*)):(\d+)$/.exec(text.trim());
  const port = match ? Number(match[3]) : NaN;
  if (!match || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new UsageError(`${what} must be [HOST]:PORT like :9464 or 127.0.0.1:9464, got '${text}'`);
  }
  const host = match[1] ?? (match[2] || "0.0.0.0");
  return { host, port };
}

/** How to reach an address from this host: `:9464` is reachable on 127.0.0.1. */
export function urlOf(address: ListenAddress, path = "/metrics"): string {
  const host = address.host === "0.0.0.0" || address.host === "::" ? "127.0.0.1" : address.host;
  return `http://${host.includes(":") ? `[${host}]` : host}:${address.port}${path}`;
}
