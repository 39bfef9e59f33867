/**
 * A small JSON state file written atomically and durably: a temporary file
 * beside it is written and fsynced, renamed over the old one, and the folder
 * fsynced, so after a crash (kill -9, power loss) the file holds either the
 * previous state or the new one, never a torn mix.
 *
 * @example
 * const file = checkpointFile<{ position: string }>("state/orders.json");
 * file.read();                       // undefined on the first run
 * file.write({ position: "42" });    // durable when it returns
 */
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from "node:fs";
import { dirname } from "node:path";
import { errorMessage } from "../errors.ts";

export class CheckpointFileError extends Error {
  override name = "CheckpointFileError";
}

export interface CheckpointFile<T> {
  readonly path: string;
  read(): T | undefined;
  write(state: T): void;
}

export function checkpointFile<T>(path: string): CheckpointFile<T> {
  return {
    path,
    read() {
      if (!existsSync(path)) return undefined;
      try {
        return JSON.parse(readFileSync(path, "utf8")) as T;
      } catch (error) {
        throw new CheckpointFileError(`${path}: not a readable checkpoint (${errorMessage(error)}); move it away to start over`);
      }
    },
    write(state) {
      const folder = dirname(path);
      mkdirSync(folder, { recursive: true });
      const temporary = `${path}.tmp`;
      const fd = openSync(temporary, "w");
      try {
        writeSync(fd, JSON.stringify(state, null, 2) + "\n");
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      renameSync(temporary, path);
      const dirFd = openSync(folder, "r");
      try {
        fsyncSync(dirFd);
      } finally {
        closeSync(dirFd);
      }
    },
  };
}
