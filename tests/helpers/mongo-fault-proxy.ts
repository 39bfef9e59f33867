/**
 * A TCP proxy in front of the stack's real FerretDB that can add a
 * `writeConcernError` to the server's replies to write commands: what a
 * replica set answers when a write is applied on the primary but the write
 * concern (w: majority, a wtimeout) is not met. FerretDB ignores write
 * concerns, so this is the only way to get that reply from a real server
 * here; everything else passes through byte for byte.
 *
 * Only OP_MSG replies are touched (the driver's commands after the
 * handshake); the handshake, other opcodes and replies to other commands
 * are forwarded unchanged. It also counts the commands it forwards, by
 * name, for tests of how many round trips a tool makes.
 *
 * @example
 * const proxy = await startMongoFaultProxy(mongoConfig.uri);
 * proxy.writeConcernErrors = true;       // replies to insert/update/delete carry one
 * proxy.faultIf = (doc, documents) => documents.some((d) => d.p === 0); // optionally only for some commands
 * const client = new MongoClient(proxy.uri);
 * await proxy.close();
 */
import { BSON, type Document } from "mongodb";
import { createConnection, createServer, type Socket } from "node:net";

const OP_MSG = 2013;
const WRITE_COMMANDS = new Set(["insert", "update", "delete"]);

export interface MongoFaultProxy {
  /** mongodb:// URI of the proxy. */
  uri: string;
  port: number;
  /** When true, replies to write commands get a writeConcernError (code 64, WriteConcernFailed). */
  writeConcernErrors: boolean;
  /** Narrows the fault to write commands this returns true for (default: all); `documents` are those the command carries (inserts). */
  faultIf?: (command: Document, documents: Document[]) => boolean;
  /** Write-command replies that got a writeConcernError so far. */
  faulted: number;
  /** Commands forwarded so far, by command name (find, getMore, insert, ...). */
  commands: Record<string, number>;
  close(): Promise<void>;
}

/** Splits a byte stream into wire-protocol messages (each starts with its int32 length). */
function framer(onMessage: (message: Buffer) => void): (bytes: Buffer) => void {
  let buffered: Buffer = Buffer.alloc(0);
  return (bytes) => {
    buffered = buffered.length ? Buffer.concat([buffered, bytes]) : bytes;
    while (buffered.length >= 4) {
      const length = buffered.readInt32LE(0);
      if (buffered.length < length) break;
      onMessage(buffered.subarray(0, length));
      buffered = buffered.subarray(length);
    }
  };
}

/** The kind-0 body of an OP_MSG, or undefined for any other message. */
function opMsgBody(message: Buffer): Document | undefined {
  if (message.readInt32LE(12) !== OP_MSG || message[20] !== 0) return undefined;
  const size = message.readInt32LE(21);
  return BSON.deserialize(message.subarray(21, 21 + size), { promoteValues: false, bsonRegExp: true });
}

/** The documents an OP_MSG carries in its document sequences (kind-1 sections: an insert's documents). */
function opMsgDocuments(message: Buffer): Document[] {
  const documents: Document[] = [];
  const checksum = (message.readUInt32LE(16) & 1) === 1 ? 4 : 0;
  const end = message.length - checksum;
  for (let at = 20; at < end; ) {
    const kind = message[at]!;
    const size = message.readInt32LE(at + 1);
    if (kind === 1) {
      const sectionEnd = at + 1 + size;
      let doc = message.indexOf(0, at + 5) + 1; // past the sequence's cstring identifier
      while (doc < sectionEnd) {
        const length = message.readInt32LE(doc);
        documents.push(BSON.deserialize(message.subarray(doc, doc + length), { promoteValues: false, bsonRegExp: true }));
        doc += length;
      }
      at = sectionEnd;
    } else at += 1 + size;
  }
  return documents;
}

/** An OP_MSG reply with one body section, as the server would send it (no checksum). */
function opMsgReply(original: Buffer, body: Document): Buffer {
  const bson = BSON.serialize(body);
  const message = Buffer.alloc(21 + bson.length);
  message.writeInt32LE(message.length, 0);
  message.writeInt32LE(original.readInt32LE(4), 4);
  message.writeInt32LE(original.readInt32LE(8), 8);
  message.writeInt32LE(OP_MSG, 12);
  message.writeUInt32LE(0, 16);
  message[20] = 0;
  Buffer.from(bson).copy(message, 21);
  return message;
}

export async function startMongoFaultProxy(upstreamUri: string): Promise<MongoFaultProxy> {
  const upstream = new URL(upstreamUri);
  const upstreamPort = Number(upstream.port || 27017);
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const backend = createConnection({ host: upstream.hostname, port: upstreamPort });
    sockets.add(client).add(backend);
    /** Request ids of write commands whose reply is to be faulted. */
    const toFault = new Set<number>();
    client.on(
      "data",
      framer((message) => {
        const body = opMsgBody(message);
        const name = body && Object.keys(body)[0];
        if (name) proxy.commands[name] = (proxy.commands[name] ?? 0) + 1;
        if (proxy.writeConcernErrors && body && name && WRITE_COMMANDS.has(name) && (proxy.faultIf?.(body, [...(Array.isArray(body.documents) ? body.documents : []), ...opMsgDocuments(message)]) ?? true)) toFault.add(message.readInt32LE(4));
        backend.write(message);
      }),
    );
    backend.on(
      "data",
      framer((message) => {
        const responseTo = message.readInt32LE(8);
        const body = toFault.delete(responseTo) ? opMsgBody(message) : undefined;
        if (!body || Number(body.ok) !== 1) return void client.write(message);
        body.writeConcernError = { code: 64, codeName: "WriteConcernFailed", errmsg: "waiting for replication timed out (fault proxy)", errInfo: { wtimeout: true } };
        proxy.faulted++;
        client.write(opMsgReply(message, body));
      }),
    );
    const end = () => {
      client.destroy();
      backend.destroy();
      sockets.delete(client);
      sockets.delete(backend);
    };
    client.on("close", end).on("error", end);
    backend.on("close", end).on("error", end);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  const proxy: MongoFaultProxy = {
    uri: `mongodb://127.0.0.1:${port}/`,
    port,
    writeConcernErrors: false,
    faulted: 0,
    commands: {},
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return proxy;
}
