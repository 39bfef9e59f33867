/**
 * The local stack's TLS material: a private CA, a server certificate for
 * 127.0.0.1 and a client certificate, made with openssl at the first `up`
 * under .stack/tls/ and kept afterwards (servers already running use them).
 * The remote broker's SASL_SSL and SSL listeners and FerretDB's TLS listener
 * present the server certificate; the SSL listener and FerretDB require a
 * client certificate signed by the CA.
 *
 * The server certificate names IP 127.0.0.1 only, on purpose: connecting to
 * the same listener as `localhost` fails host name verification, which the
 * tests use. EC P-256 keys, so making them all takes milliseconds.
 *
 * @example
 * await ensureTlsMaterial();
 * TLS.ca;            // .stack/tls/ca.pem: what clients trust (ssl_ca_file, tls_ca_file)
 * TLS.clientBundle;  // client certificate and key in one file (MongoDB's tls_certificate_key_file)
 */
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { STACK_DIR } from "./config.ts";
import { runLogged } from "./proc.ts";

export const TLS_DIR = join(STACK_DIR, "tls");

/** Paths of the files clients and servers use. */
export const TLS = {
  ca: join(TLS_DIR, "ca.pem"),
  serverCert: join(TLS_DIR, "server.pem"),
  serverKey: join(TLS_DIR, "server-key.pem"),
  /** Key then certificate in one file: Kafka's PEM keystore. */
  serverKeystore: join(TLS_DIR, "server-keystore.pem"),
  clientCert: join(TLS_DIR, "client.pem"),
  clientKey: join(TLS_DIR, "client-key.pem"),
  /** Certificate then key in one file: MongoDB's tlsCertificateKeyFile. */
  clientBundle: join(TLS_DIR, "client-bundle.pem"),
} as const;

/** Ten years: a local stack should never meet an expired certificate. */
const DAYS = "3650";
const EC_KEY = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];

/** Makes the CA and certificates unless a complete set is there already. */
export async function ensureTlsMaterial(): Promise<void> {
  if (Object.values(TLS).every(existsSync)) return;
  // Built in a scratch directory and renamed into place: an interrupted run never leaves half a set.
  const tmp = `${TLS_DIR}.tmp`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  const logFile = join(tmp, "openssl.log");
  const openssl = (args: string[]) => runLogged(["openssl", ...args], { cwd: tmp, logFile });
  const f = (path: string) => join(tmp, path.slice(TLS_DIR.length + 1));
  console.log("stack: making the TLS CA and certificates (.stack/tls)");

  await openssl(["req", "-x509", "-new", ...EC_KEY, "-keyout", "ca-key.pem", "-out", f(TLS.ca), "-days", DAYS,
    "-subj", "/CN=kafka-toolkit local stack CA",
    "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"]);
  const sign = async (name: string, subject: string, key: string, cert: string, extensions: string[]) => {
    writeFileSync(join(tmp, `${name}.ext`), `${extensions.join("\n")}\n`);
    await openssl(["req", "-new", ...EC_KEY, "-keyout", f(key), "-out", `${name}.csr`, "-subj", subject]);
    await openssl(["x509", "-req", "-in", `${name}.csr`, "-CA", f(TLS.ca), "-CAkey", "ca-key.pem", "-CAcreateserial",
      "-days", DAYS, "-out", f(cert), "-extfile", `${name}.ext`]);
  };
  await sign("server", "/CN=127.0.0.1", TLS.serverKey, TLS.serverCert, [
    "subjectAltName=IP:127.0.0.1",
    "extendedKeyUsage=serverAuth",
  ]);
  await sign("client", "/CN=toolkit-client", TLS.clientKey, TLS.clientCert, ["extendedKeyUsage=clientAuth"]);
  const read = (path: string) => readFileSync(f(path), "utf8");
  writeFileSync(f(TLS.serverKeystore), read(TLS.serverKey) + read(TLS.serverCert));
  writeFileSync(f(TLS.clientBundle), read(TLS.clientCert) + read(TLS.clientKey));

  for (const name of ["server", "client"]) {
    for (const scratch of [`${name}.csr`, `${name}.ext`]) rmSync(join(tmp, scratch));
  }
  rmSync(TLS_DIR, { recursive: true, force: true });
  renameSync(tmp, TLS_DIR);
}
