/**
 * Preloaded before every test file (bunfig.toml). Integration tests run the
 * tools against real brokers and FerretDB, which takes seconds, not the 5 s
 * bun allows by default; bunfig's own `timeout` key is not read by bun 1.4.
 */
import { setDefaultTimeout } from "bun:test";

setDefaultTimeout(180_000);
