/**
 * Runs once per `bun test` process, before any test file (bunfig.toml).
 * Test files make their own kafkajs clients, so the filter for kafkajs's
 * negative-timeout warning is installed here rather than in each of them.
 */
import { ignoreKafkajsNegativeTimeouts } from "../lib/kafka/timer-warning.ts";

ignoreKafkajsNegativeTimeouts();
