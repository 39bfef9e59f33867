/**
 * TLS failures that retrying cannot fix: a server certificate this client
 * does not trust or that names another host, a server that refuses the
 * client's certificate (or its absence), a TLS client on a plain port. Kafka
 * and MongoDB clients use this to fail at once with one line that says which
 * config key to look at, instead of retrying until a timeout.
 *
 * @example
 * const problem = tlsProblem(error, { ca: "ssl_ca_file", cert: "ssl_cert_file and ssl_key_file" });
 * if (problem) throw new TlsConfigError(`[remote_kafka] 10.0.0.5:9093: ${problem}`);
 */

/** Config keys named in the advice, per kind of section. */
export interface TlsKeys {
  ca: string;
  cert: string;
}

import { createSecureContext, type SecureContextOptions } from "node:tls";

/** A connection that can never succeed with this configuration. Exit code 1. */
export class TlsConfigError extends Error {
  override name = "TlsConfigError";
}

// OpenSSL's names of certificate verification results, as Node reports them.
const UNTRUSTED = new Set([
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "CERT_UNTRUSTED",
  "CERT_SIGNATURE_FAILURE",
  "INVALID_CA",
]);
const OUT_OF_DATE = new Set(["CERT_HAS_EXPIRED", "CERT_NOT_YET_VALID"]);

interface CodedError {
  code?: unknown;
  message?: unknown;
  cause?: unknown;
}

/** The code of the error or of the first error it wraps that has a TLS code. */
function tlsCode(error: unknown): { code: string; message: string } | undefined {
  for (let e = error as CodedError | undefined, depth = 0; e && depth < 5; e = e.cause as CodedError | undefined, depth++) {
    const code = typeof e.code === "string" ? e.code : undefined;
    if (code && (UNTRUSTED.has(code) || OUT_OF_DATE.has(code) || code === "ERR_TLS_CERT_ALTNAME_INVALID" || code.startsWith("ERR_SSL_"))) {
      return { code, message: String(e.message ?? code) };
    }
  }
  return undefined;
}

/**
 * Why a client certificate and key cannot be used (a wrong or missing
 * passphrase, a key that does not match the certificate, not PEM), or
 * undefined; checked before connecting, so the run fails before any retry.
 * Runtimes that load keys lazily (Deno) pass here and fail at connect.
 */
export function clientKeyProblem(options: Pick<SecureContextOptions, "cert" | "key" | "passphrase">): string | undefined {
  try {
    createSecureContext(options);
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

/**
 * What is wrong, and the key to fix, when `error` is a TLS failure that
 * retrying cannot fix; undefined for anything else (refused connections,
 * timeouts, ...), which may well be an outage.
 */
export function tlsProblem(error: unknown, keys: TlsKeys): string | undefined {
  const found = tlsCode(error);
  if (!found) return undefined;
  const { code, message } = found;
  if (UNTRUSTED.has(code)) {
    return `TLS: the server's certificate is not signed by a CA this client trusts (${message}); set ${keys.ca} to the CA that signed it`;
  }
  if (OUT_OF_DATE.has(code)) return `TLS: the server's certificate is out of date (${message})`;
  if (code === "ERR_TLS_CERT_ALTNAME_INVALID") {
    return `TLS: the server's certificate does not name the host connected to (${message}); connect with a host name the certificate names`;
  }
  if (/CERTIFICATE_REQUIRED|BAD_CERTIFICATE|UNKNOWN_CA|CERTIFICATE_UNKNOWN|HANDSHAKE_FAILURE/.test(code)) {
    return `TLS: the server refused the connection's client certificate or its absence (${message}); set ${keys.cert} to a certificate signed by a CA the server trusts`;
  }
  if (code === "ERR_SSL_WRONG_VERSION_NUMBER" || code === "ERR_SSL_PACKET_LENGTH_TOO_LONG") {
    return `TLS: the server does not speak TLS on this port (${message}); remove the TLS settings or use its TLS port`;
  }
  return `TLS: ${message}`;
}
