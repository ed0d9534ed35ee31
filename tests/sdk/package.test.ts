import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createUser } from "../support/keyward";
import { startApp, type RunningApp } from "../support/server";

const run = promisify(execFile);
const WORKSPACE = path.resolve(".");
const SDK = path.join(WORKSPACE, "sdk");
const MODULES = path.join(WORKSPACE, "node_modules");

/**
 * The published experience: `npm pack` the SDK, install the tarball into a fresh project outside
 * the workspace (its dependencies from this machine's node_modules, copied, so no network), and
 * there typecheck and run a small TypeScript app as ESM and as CJS against the running Keyward.
 */
describe("the packed @keyward/sdk in a fresh project", () => {
  let app: RunningApp;
  let apiKey: string;
  let ownerId: string;
  let tmp: string;
  let project: string;
  let packed: { filename: string; files: { path: string }[] };

  beforeAll(async () => {
    app = await startApp();
    const member = await createUser(app.keyward, "member");
    ownerId = member.id;
    ({ key: apiKey } = await app.keyward.keys.create(member.actor, { name: "consumer app", scopes: ["write"] }));

    await run("npx", ["tsup"], { cwd: SDK });
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "keyward-sdk-consumer-"));
    const { stdout } = await run("npm", ["pack", "--json", "--pack-destination", tmp], { cwd: SDK });
    [packed] = JSON.parse(stdout) as [typeof packed];

    project = path.join(tmp, "app");
    fs.mkdirSync(path.join(project, "src"), { recursive: true });
    fs.writeFileSync(path.join(project, "package.json"), JSON.stringify({ name: "consumer", private: true, type: "module" }));
    const local = (name: string) => `file:${path.join(MODULES, name)}`;
    await run(
      "npm",
      ["install", "--offline", "--no-audit", "--no-fund", "--install-links", "--ignore-scripts", path.join(tmp, packed.filename), local("@trpc/client"), local("@trpc/server"), local("bottleneck"), local("typescript")],
      { cwd: project },
    );
    writeConsumer(project);
  }, 240_000);

  afterAll(async () => {
    await app?.close();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it("ships dist and package.json, nothing else", () => {
    expect(packed.files.map((f) => f.path).sort()).toEqual(["dist/index.cjs", "dist/index.cjs.map", "dist/index.d.cts", "dist/index.d.ts", "dist/index.js", "dist/index.js.map", "package.json", ...(fs.existsSync(path.join(SDK, "README.md")) ? ["README.md"] : [])].sort());
    const manifest = JSON.parse(fs.readFileSync(path.join(project, "node_modules/@keyward/sdk/package.json"), "utf8"));
    expect(manifest).toMatchObject({ sideEffects: false, files: ["dist"], type: "module" });
    expect(Object.keys(manifest.dependencies).sort()).toEqual(["@trpc/client", "@trpc/server", "bottleneck"]);
  });

  it("has declarations that need nothing from Keyward's source, and browser-safe code", () => {
    const dist = path.join(project, "node_modules/@keyward/sdk/dist");
    for (const file of ["index.d.ts", "index.d.cts"]) {
      const declarations = fs.readFileSync(path.join(dist, file), "utf8");
      const imported = [...declarations.matchAll(/from ['"]([^'"]+)['"]/g)].map((m) => m[1]);
      expect(new Set(imported)).toEqual(new Set(["@trpc/server"]));
    }
    for (const [file, pattern] of [["index.js", /from ['"]([^'"]+)['"]/g], ["index.cjs", /require\(['"]([^'"]+)['"]\)/g]] as const) {
      const code = fs.readFileSync(path.join(dist, file), "utf8");
      expect(new Set([...code.matchAll(pattern)].map((m) => m[1]))).toEqual(new Set(["@trpc/client", "bottleneck"]));
      expect(code).not.toMatch(/\bnode:|\bprocess\.|\bBuffer\b/);
    }
  });

  it("typechecks a consumer (ESM and CJS resolution), and wrong inputs do not compile", async () => {
    const result = await run("node", ["node_modules/typescript/bin/tsc", "-p", "."], { cwd: project }).catch((error: { stdout: string }) => error);
    // A `// @ts-expect-error` line that compiles is an error too ("Unused '@ts-expect-error' directive").
    expect("stdout" in result ? result.stdout : "").toBe("");
    expect(fs.existsSync(path.join(project, "out/main.js"))).toBe(true);
    expect(fs.existsSync(path.join(project, "out/main.cjs"))).toBe(true);
  }, 120_000);

  it.each([
    ["ESM", "out/main.js"],
    ["CJS", "out/main.cjs"],
  ])("runs as %s against the running app: keys, guard, errors", async (format, entry) => {
    const { stdout } = await run("node", [entry], { cwd: project, env: { ...process.env, KEYWARD_URL: app.url, KEYWARD_KEY: apiKey } });
    expect(JSON.parse(stdout)).toEqual({
      moduleSystem: format.toLowerCase(),
      me: ownerId,
      listed: true,
      guardAllowed: 200,
      guardCached: true,
      rotatedVerdict: "VALID",
      revokedVerdict: "REVOKED",
      guardRefused: 401,
      guardRefusedCode: "key_revoked",
      error: { isKeywardError: true, code: "not_found", status: 404, hasRequestId: true },
    });
  }, 60_000);
});

function writeConsumer(project: string): void {
  fs.writeFileSync(
    path.join(project, "tsconfig.json"),
    JSON.stringify({
      compilerOptions: { strict: true, module: "nodenext", moduleResolution: "nodenext", target: "es2022", lib: ["es2022", "dom", "esnext.disposable"], types: [], outDir: "out", rootDir: "src", skipLibCheck: false },
      include: ["src"],
    }),
  );
  // One program, compiled twice: main.ts is ESM (package type "module"), main.cts is CommonJS.
  const program = `import { createKeyward, keywardGuard, KeywardError, type Principal, type RouterOutputs } from "@keyward/sdk";

declare const process: { env: Record<string, string | undefined>; exitCode?: number };
declare const require: unknown;

async function main(): Promise<void> {
  const keyward = createKeyward({ baseUrl: process.env.KEYWARD_URL!, apiKey: process.env.KEYWARD_KEY! });
  const guard = keywardGuard({ client: keyward, scope: "read" });
  async function orders(request: Request): Promise<Response> {
    const auth = await guard(request, { ip: "198.51.100.7" });
    if (!auth.ok) return auth.response;
    const principal: Principal = auth.principal;
    return Response.json({ owner: principal.ownerId, cached: auth.cached });
  }
  const call = (key: string) => orders(new Request("https://shop.example.test/orders", { headers: { Authorization: "Bearer " + key } }));

  const me = await keyward.me();
  const created = await keyward.keys.create({ name: "consumer-created", scopes: ["read"], expiresInDays: 7 });
  const page: RouterOutputs["keys"]["list"] = await keyward.keys.list({ status: "active", limit: 100 });
  const allowed = await call(created.key);
  const again = (await (await call(created.key)).json()) as { cached: boolean };
  const rotated = await keyward.keys.rotate({ id: created.apiKey.id, gracePeriodSeconds: 60 });
  const rotatedVerdict = await keyward.verify({ key: rotated.key, scope: "read" });
  await keyward.keys.revoke({ id: created.apiKey.id });
  guard.invalidate(created.apiKey.id);
  const refused = await call(created.key);
  const revokedVerdict = await keyward.verify({ key: created.key });
  let error: unknown;
  try {
    await keyward.keys.get({ id: "key_00000000000000000000" });
  } catch (caught) {
    error = caught;
  }
  console.log(
    JSON.stringify({
      moduleSystem: typeof require === "function" ? "cjs" : "esm",
      me: me.user.id,
      listed: page.data.some((k) => k.id === created.apiKey.id),
      guardAllowed: allowed.status,
      guardCached: again.cached,
      rotatedVerdict: rotatedVerdict.code,
      revokedVerdict: revokedVerdict.code,
      guardRefused: refused.status,
      guardRefusedCode: ((await refused.json()) as { code: string }).code,
      error: {
        isKeywardError: error instanceof KeywardError,
        code: error instanceof KeywardError ? error.code : null,
        status: error instanceof KeywardError ? error.status : null,
        hasRequestId: error instanceof KeywardError && typeof error.requestId === "string",
      },
    }),
  );
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
`;
  fs.writeFileSync(path.join(project, "src/main.ts"), program);
  fs.writeFileSync(path.join(project, "src/main.cts"), program);
  fs.writeFileSync(
    path.join(project, "src/type-errors.ts"),
    `import { createKeyward, keywardGuard, type KeywardClient } from "@keyward/sdk";

// Never called: only compiled. Each line must fail to typecheck, or tsc reports the unused directive.
export async function wrongInputs(keyward: KeywardClient): Promise<void> {
  // @ts-expect-error scopes is required
  await keyward.keys.create({ name: "no scopes" });
  // @ts-expect-error "superuser" is not a scope
  await keyward.keys.create({ name: "x", scopes: ["superuser"] });
  // @ts-expect-error an id is a string
  await keyward.keys.get({ id: 42 });
  // @ts-expect-error keys.get needs its input
  await keyward.keys.get();
  // @ts-expect-error verify needs the key
  await keyward.verify({ scope: "read" });
  // @ts-expect-error "owner" is not a role
  await keyward.users.setRole({ id: "usr_00000000000000000000", role: "owner" });
  // @ts-expect-error there is no keys.destroy
  await keyward.keys.destroy({ id: "key_00000000000000000000" });
  // @ts-expect-error list's status is one of active/disabled/expired/revoked/all
  await keyward.keys.list({ status: "deleted" });
  // @ts-expect-error gracePeriodSeconds is a number
  await keyward.keys.rotate({ id: "key_00000000000000000000", gracePeriodSeconds: "1h" });
  const key = await keyward.keys.get({ id: "key_00000000000000000000" });
  // @ts-expect-error outputs are typed too: there is no "nmae"
  key.nmae;
  // @ts-expect-error apiKey is required
  createKeyward({ baseUrl: "https://keys.example.test" });
  // @ts-expect-error "root" is not a scope
  keywardGuard({ client: keyward, scope: "root" });
}
`,
  );
}
