import { describe, expect, test } from "bun:test";
import { memoryCeiling } from "../../lib/engine/memory-ceiling.ts";

const MB = 1024 * 1024;

/** A process whose RSS is `now`, and whose collections bring it down to `live`. */
function fakeProcess(live: number) {
  const state = { now: live, live, collected: 0 };
  return {
    state,
    rss: () => state.now,
    collect: () => {
      state.collected++;
      state.now = state.live;
    },
  };
}

describe("memoryCeiling", () => {
  test("collects once RSS passes the ceiling, not before", () => {
    const p = fakeProcess(100 * MB);
    const ceiling = memoryCeiling({ softLimitBytes: 180 * MB, rss: p.rss, collect: p.collect, everyMs: 60_000 });
    p.state.now = 170 * MB;
    ceiling.check();
    expect(p.state.collected).toBe(0);
    p.state.now = 190 * MB;
    ceiling.check();
    expect(p.state.collected).toBe(1);
    expect(ceiling.collections).toBe(1);
    ceiling.stop();
  });

  test("live data above the ceiling: waits for another quarter of growth instead of collecting every check", () => {
    const p = fakeProcess(200 * MB);
    const ceiling = memoryCeiling({ softLimitBytes: 180 * MB, rss: p.rss, collect: p.collect, everyMs: 60_000 });
    ceiling.check();
    expect(p.state.collected).toBe(1);
    p.state.now = 240 * MB;
    ceiling.check();
    expect(p.state.collected).toBe(1);
    p.state.now = 260 * MB;
    ceiling.check();
    expect(p.state.collected).toBe(2);
    // The live set shrinks again: back to the configured ceiling.
    p.state.live = 100 * MB;
    p.state.now = 320 * MB;
    ceiling.check();
    p.state.now = 185 * MB;
    ceiling.check();
    expect(p.state.collected).toBe(4);
    ceiling.stop();
  });

});
