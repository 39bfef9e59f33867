import { describe, expect, test } from "bun:test";
import { aptStatus, goModuleDownloads, goPackagesBuilt, mavenDownloads, runWithProgress } from "../../stack/progress.ts";

describe("install progress trackers", () => {
  test("Maven: counts downloaded files and their sizes, ignores the rest", () => {
    const maven = mavenDownloads();
    expect(maven.status()).toContain("nothing fetched yet");
    expect(maven.line("[INFO] Scanning for projects...")).toBe(false);
    expect(maven.line("Downloading from central: https://repo.maven.apache.org/maven2/org/a/a-1.pom")).toBe(false);
    expect(maven.line("Downloaded from central: https://repo.maven.apache.org/maven2/org/a/a-1.pom (2.5 kB at 10 kB/s)")).toBe(true);
    expect(maven.line("Downloaded from central: https://repo.maven.apache.org/maven2/org/apache/kafka/kafka-clients-3.9.2.jar (1.5 MB at 3 MB/s)")).toBe(true);
    expect(maven.status()).toBe("2 files fetched (1.5 MB), last kafka-clients-3.9.2.jar");
  });

  test("Go modules: counts archives, with the module path unescaped", () => {
    const go = goModuleDownloads(79);
    expect(go.line("# get https://proxy.golang.org/github.com/%21ferret%21d%21b/wire/@v/v0.0.8.zip")).toBe(false);
    expect(go.line("# get https://proxy.golang.org/github.com/%21ferret%21d%21b/wire/@v/v0.0.8.zip: 200 OK (0.2s)")).toBe(true);
    expect(go.line("# get https://proxy.golang.org/golang.org/x/sys/@v/v0.33.0.mod: 200 OK (0.1s)")).toBe(false);
    expect(go.status()).toBe("1 of at most 79 modules fetched, last github.com/FerretDB/wire@v0.0.8");
  });

  test("Go build: one import path a line", () => {
    const go = goPackagesBuilt(541);
    expect(go.line("internal/abi")).toBe(true);
    expect(go.line("# some/pkg")).toBe(false);
    expect(go.status()).toBe("1 of at most 541 packages compiled, last internal/abi");
  });

  test("apt: its own status lines", () => {
    const apt = aptStatus();
    expect(apt.line("dlstatus:1:12.5:Retrieving file 1 of 8")).toBe(true);
    expect(apt.status()).toBe("downloading 13%: Retrieving file 1 of 8");
    expect(apt.line("pmstatus:docker-compose:80:Installing docker-compose")).toBe(true);
    expect(apt.status()).toBe("installing 80%: Installing docker-compose");
  });
});

describe("runWithProgress", () => {
  test("prints start, status while moving and the result; a failure shows the command", async () => {
    const printed: string[] = [];
    const tracker = { line: (t: string) => t.startsWith("step"), status: () => "some status" };
    const script = "for i in 1 2 3; do echo step $i; sleep 0.3; done";
    await runWithProgress({ label: "demo", argv: ["sh", "-c", script], cwd: "/", tracker, everyMs: 200, print: (l) => printed.push(l) });
    expect(printed[0]).toBe("install: demo: starting");
    expect(printed.some((l) => /^install: demo: some status \[\d+ s\]$/.test(l))).toBe(true);
    expect(printed.at(-1)).toMatch(/^install: demo: done in \d+ s, some status$/);

    const failing = runWithProgress({ label: "bad", argv: ["sh", "-c", "echo oops >&2; exit 3"], cwd: "/", tracker, print: () => {} });
    await expect(failing).rejects.toThrow("install: bad: `sh -c echo oops >&2; exit 3` exited with code 3");
  });
});
