import { describe, expect, test } from "bun:test";
import { TransientSinkError } from "../../lib/engine/sink.ts";
import { insertResult } from "../../lib/sinks/mongo.ts";

describe("the MongoDB sink's reading of an insert reply", () => {
  test("4c: an unmet write concern is transient: nothing counted, nothing committed", () => {
    const reply = { n: 2, ok: 1, writeConcernError: { code: 64, errmsg: "waiting for replication timed out" } };
    expect(() => insertResult(reply, 2)).toThrow(TransientSinkError);
    expect(() => insertResult(reply, 2)).toThrow("write concern not satisfied (error 64)");
  });

  test("4b: an E11000 counts as a duplicate only for a stored _id; otherwise it is rejected naming the index", () => {
    const reply = {
      n: 1,
      writeErrors: [
        { index: 1, code: 11000, errmsg: "E11000 duplicate key error collection: db.c index: _id_ dup key: { _id: 1 }" },
        { index: 2, code: 11000, errmsg: "E11000 duplicate key error collection: db.c index: email_1 dup key: { email: \"a\" }" },
      ],
    };
    const result = insertResult(reply, 3, new Set([1]));
    expect(result.written).toBe(1);
    expect(result.duplicates).toBe(1);
    expect(result.rejected).toEqual([{ index: 2, reason: expect.stringContaining("duplicate key on unique index 'email_1'") }]);
  });
});
