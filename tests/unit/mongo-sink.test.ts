import { describe, expect, test } from "bun:test";
import { MongoWriteConcernError } from "mongodb";
import { isFatalMongoError, isTransientMongoError } from "../../lib/mongo/errors.ts";
import { insertResult } from "../../lib/sinks/mongo.ts";

describe("the MongoDB sink's reading of an insert reply", () => {
  test("4c: an unmet write concern, as the 6.x driver throws it, is transient", () => {
    const reply = { n: 2, ok: 1, writeConcernError: { code: 64, errmsg: "waiting for replication timed out" } };
    expect(isTransientMongoError(new MongoWriteConcernError(reply))).toBe(true);
    expect(isFatalMongoError(new MongoWriteConcernError(reply))).toBe(false);
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
