import { describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { interpolateSection, parseIni } from "../../lib/config/ini.ts";
import { mongoSection } from "../../lib/config/mongo-section.ts";
import { loadConfigSource } from "../../lib/config/source.ts";
import { ConfigError } from "../../lib/errors.ts";
import { createMongoClient } from "../../lib/mongo/client.ts";

const TRICKY = `# comment
; another comment
[DEFAULT]
client_id = from-default

[prod.kafka]
servers = a:9092,b:9092
password = pa#ss;word ; not a comment
Username: Admin
sasl_mechanism=scram-sha-512
pct = 100%% sure, user %(username)s
multi = first
  second

    third

[mongodb]
uri = mongodb://app:s3cret@db:27017/?authSource=users
client_id = own
`;
// [mongodb] does not know client_id: from [DEFAULT] it is ignored, set in the section it is refused.
const TRICKY_FOR_TOOLS = TRICKY.replace("client_id = own\n", "");

/** What Python's configparser gives for each section's items(). */
function pythonItems(text: string): Record<string, Record<string, string>> {
  const dir = mkdtempSync(join(tmpdir(), "kt-ini-"));
  const path = join(dir, "database.ini");
  writeFileSync(path, text);
  const script = `
import configparser, json, sys
p = configparser.ConfigParser()
p.read(sys.argv[1])
print(json.dumps({s: dict(p.items(s)) for s in p.sections()}))`;
  const run = spawnSync("python3", ["-c", script, path], { encoding: "utf8" });
  if (run.status !== 0) throw new Error(run.stderr);
  return JSON.parse(run.stdout);
}

function ours(text: string): Record<string, Record<string, string>> {
  const { sections, defaults } = parseIni(text, "database.ini");
  return Object.fromEntries(Object.entries(sections).map(([name, values]) => [name, interpolateSection({ ...defaults, ...values }, name)]));
}

describe("database.ini as Python's configparser reads it", () => {
  test("comments, # and ; inside values, dotted sections, continuations, DEFAULT, interpolation", () => {
    const parsed = ours(TRICKY);
    expect(parsed["prod.kafka"]).toMatchObject({
      password: "pa#ss;word ; not a comment",
      username: "Admin",
      pct: "100% sure, user Admin",
      multi: "first\nsecond\n\nthird",
      client_id: "from-default",
    });
    expect(parsed.mongodb!.client_id).toBe("own");
    expect(parsed).toEqual(pythonItems(TRICKY));
  });

  test("a lone % (a URL-encoded password), which configparser refuses, is kept as written", () => {
    const { sections } = parseIni("[k]\npassword = 50%off\nurl = postgres://me:s%40cret@db/x\n", "database.ini");
    expect(interpolateSection(sections.k!, "database.ini: [k]")).toEqual({ password: "50%off", url: "postgres://me:s%40cret@db/x" });
  });

  test("a stray % in a section no tool reads breaks nothing", () => {
    const dir = mkdtempSync(join(tmpdir(), "kt-ini-"));
    const path = join(dir, "database.ini");
    writeFileSync(path, "[other]\nx = 5%\n[mongodb]\nhost = db\n");
    expect(mongoSection(loadConfigSource(path, {}), "mongodb").uri).toBe("mongodb://db:27017/");
  });

  test("duplicate keys and sections are errors naming the line", () => {
    expect(() => parseIni("[a]\nx = 1\nx = 2\n", "f.ini")).toThrow(ConfigError);
    expect(() => parseIni("[a]\nx = 1\n[a]\n", "f.ini")).toThrow(/f.ini:3: section \[a\] appears twice/);
    expect(() => parseIni("x = 1\n", "f.ini")).toThrow(/outside any \[section\]/);
  });

  test("a malformed line is located by its number, never echoed (it may hold a password)", () => {
    expect(() => parseIni("password = hunter2\n[a]\n", "f.ini")).toThrow("f.ini:1: key 'password' is outside any [section]");
    expect(() => parseIni("[a]\npassword =\nhunter2\n", "f.ini")).toThrow("f.ini:3: [a] a line has no value");
    for (const text of ["password = hunter2\n", "[a]\nhunter2\n", "hunter2\n"]) {
      try {
        parseIni(text, "f.ini");
      } catch (error) {
        expect((error as Error).message).not.toContain("hunter2");
      }
    }
  });

  test("an authSource in a MongoDB uri is respected; auth_source wins over it", () => {
    const dir = mkdtempSync(join(tmpdir(), "kt-ini-"));
    const path = join(dir, "database.ini");
    writeFileSync(path, TRICKY_FOR_TOOLS + "\n[explicit]\nuri = mongodb://app:s3cret@db:27017/?authSource=users\nauth_source = ops\n[pathdb]\nuri = mongodb://app:s3cret@db:27017/sales\n[hostonly]\nhost = db\nusername = app\npassword = pw\n");
    const source = loadConfigSource(path, {});
    const credentials = (name: string) => createMongoClient(mongoSection(source, name)).options.credentials;
    expect(credentials("mongodb")).toMatchObject({ username: "app", password: "s3cret", source: "users" });
    expect(credentials("explicit")?.source).toBe("ops");
    expect(credentials("pathdb")?.source).toBe("sales");
    expect(credentials("hostonly")?.source).toBe("admin");
  });
});
