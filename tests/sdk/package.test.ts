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
  /** What the consumer reads from its env, fresh for each run (it rotates and revokes): the API it protects and keys presented to it. */
  let presentedKeys: () => Promise<Record<string, string>>;
  let tmp: string;
  let project: string;
  let packed: { filename: string; files: { path: string }[] };

  beforeAll(async () => {
    app = await startApp();
    const member = await createUser(app.keyward, "member");
    ownerId = member.id;
    ({ key: apiKey } = await app.keyward.keys.create(member.actor, { name: "consumer app", scopes: ["write"] }));
    const orders = await app.keyward.apis.create(member.actor, { name: "Orders", prefix: "orders", permissions: ["orders.read", "orders.write"] });
    const billing = await app.keyward.apis.create(member.actor, { name: "Billing", prefix: "billing" });
    const issue = async (apiId: string, permissions: string[], externalId?: string) =>
      (await app.keyward.keys.createIssued(member.actor, apiId, { permissions, ...(externalId ? { externalId } : {}) })).key;
    presentedKeys = async () => ({
      ORDERS_API_ID: orders.id,
      READER_KEY: await issue(orders.id, ["orders.read"], "customer-1"),
      WRITER_KEY: await issue(orders.id, ["orders.write"]),
      ROTATING_KEY: await issue(orders.id, ["orders.*"]),
      BILLING_KEY: await issue(billing.id, ["read"]),
    });

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
  ])("runs as %s against the running app: the guard on a Fetch handler with apiId + permissions, its Express and Fastify adapters, a client from KEYWARD_URL / KEYWARD_API_KEY, verify, keys, errors", async (format, entry) => {
    const { stdout } = await run("node", [entry], { cwd: project, env: { ...process.env, ...(await presentedKeys()), KEYWARD_URL: app.url, KEYWARD_KEY: apiKey, KEYWARD_API_KEY: apiKey } });
    expect(JSON.parse(stdout)).toEqual({
      moduleSystem: format.toLowerCase(),
      me: ownerId,
      meFromEnv: ownerId,
      listed: true,
      issuedKeyAsClientKey: "this is a key issued for one of your APIs; the SDK client needs a root key (kw_…)",
      guard: {
        withPermission: { status: 200, body: { customer: "customer-1", permissions: ["orders.read"], cached: false } },
        again: { status: 200, body: { customer: "customer-1", permissions: ["orders.read"], cached: true } },
        withoutPermission: { status: 403, body: { code: "insufficient_permissions", missing: ["orders.read"] } },
        anotherApisKey: { status: 401, body: { code: "invalid_key" } },
        rootKey: { status: 401, body: { code: "invalid_key" } },
        noKey: { status: 401, body: { code: "missing_credentials" } },
      },
      adapters: {
        express: {
          withPermission: { status: 200, customer: "customer-1" },
          withoutPermission: { status: 403, code: "insufficient_permissions", contentType: "application/problem+json", challenge: 'Bearer realm="api", error="insufficient_scope", scope="orders.read"' },
          noKey: { status: 401, code: "missing_credentials", contentType: "application/problem+json", challenge: 'Bearer realm="api"' },
        },
        fastify: {
          withPermission: { status: 200, customer: "customer-1" },
          withoutPermission: { status: 403, code: "insufficient_permissions", contentType: "application/problem+json", challenge: 'Bearer realm="api", error="insufficient_scope", scope="orders.read"' },
          noKey: { status: 401, code: "missing_credentials", contentType: "application/problem+json", challenge: 'Bearer realm="api"' },
        },
      },
      wrongApiVerdict: "WRONG_API",
      rootKeyVerdict: "INVALID",
      rotatedVerdict: "VALID",
      revokedVerdict: "REVOKED",
      revokedAtGuard: { status: 401, body: { code: "key_revoked" } },
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
  const program = `import {
  createKeyward,
  expressGuard,
  fastifyGuard,
  keywardGuard,
  KeywardError,
  type FastifyLikeReply,
  type NodeLikeRequest,
  type NodeLikeResponse,
  type Principal,
  type RouterOutputs,
} from "@keyward/sdk";

declare const process: { env: Record<string, string | undefined>; exitCode?: number };
declare const require: unknown;

const env = (name: string) => process.env[name]!;

async function main(): Promise<void> {
  // The root key lives in the server's env; the guard checks keys of one API for one permission.
  const keyward = createKeyward({ baseUrl: env("KEYWARD_URL"), apiKey: env("KEYWARD_KEY") });
  const guard = keywardGuard({ client: keyward, apiId: env("ORDERS_API_ID"), permissions: ["orders.read"] });
  async function listOrders(request: Request): Promise<Response> {
    const auth = await guard(request, { ip: "198.51.100.7" });
    if (!auth.ok) return auth.response;
    const principal: Principal = auth.principal;
    return Response.json({ customer: principal.identity?.externalId ?? null, permissions: principal.permissions, cached: auth.cached });
  }
  const call = async (key?: string) => {
    const response = await listOrders(new Request("https://shop.example.test/orders", { headers: key ? { Authorization: "Bearer " + key } : {} }));
    const body = (await response.json()) as Record<string, unknown>;
    return { status: response.status, body: response.ok ? body : { code: body.code, ...(body.missing ? { missing: body.missing } : {}) } };
  };

  const me = await keyward.me();
  // KEYWARD_URL and KEYWARD_API_KEY from the environment.
  const meFromEnv = await createKeyward({ retries: 0 }).me();
  const page: RouterOutputs["keys"]["list"] = await keyward.keys.list({ status: "active", limit: 100 });
  let issuedKeyAsClientKey: string | null = null;
  try {
    createKeyward({ baseUrl: env("KEYWARD_URL"), apiKey: env("READER_KEY") });
  } catch (caught) {
    issuedKeyAsClientKey = caught instanceof TypeError ? caught.message : null;
  }
  const guardResults = {
    withPermission: await call(env("READER_KEY")),
    again: await call(env("READER_KEY")),
    withoutPermission: await call(env("WRITER_KEY")),
    anotherApisKey: await call(env("BILLING_KEY")),
    rootKey: await call(env("KEYWARD_KEY")),
    noKey: await call(),
  };

  // The adapters, handed what Express/Connect and Fastify hand a middleware and a preHandler hook.
  type Adapted = { status: number; customer?: string | null; code?: unknown; contentType?: string; challenge?: string };
  const refusal = (status: number, headers: Record<string, string>, body: string): Adapted => ({
    status,
    code: (JSON.parse(body) as { code?: unknown }).code,
    contentType: headers["content-type"]!,
    challenge: headers["www-authenticate"]!,
  });
  const viaExpress = (key?: string) =>
    new Promise<Adapted>((resolve, reject) => {
      const req: NodeLikeRequest = { headers: key ? { authorization: "Bearer " + key } : {}, ip: "198.51.100.7" };
      const headers: Record<string, string> = {};
      const res: NodeLikeResponse = {
        statusCode: 200,
        setHeader: (name, value) => (headers[name.toLowerCase()] = value),
        end: (body) => resolve(refusal(res.statusCode, headers, body)),
      };
      expressGuard(guard)(req, res, (error) => (error ? reject(error) : resolve({ status: 200, customer: req.keyward?.identity?.externalId ?? null })));
    });
  const viaFastify = async (key?: string): Promise<Adapted> => {
    const request: { headers: Record<string, string>; ip: string; keyward?: Principal } = { headers: key ? { authorization: "Bearer " + key } : {}, ip: "198.51.100.7" };
    const sent = { status: 200, headers: {} as Record<string, string>, body: null as Uint8Array | null };
    const reply: FastifyLikeReply = {
      code: (status) => (sent.status = status),
      header: (name, value) => (sent.headers[name.toLowerCase()] = value),
      send: (payload) => (sent.body = payload),
    };
    const answered = await fastifyGuard(guard)(request, reply);
    if (answered === undefined) return { status: 200, customer: request.keyward?.identity?.externalId ?? null };
    return refusal(sent.status, sent.headers, new TextDecoder().decode(sent.body!));
  };
  const adapters = {
    express: { withPermission: await viaExpress(env("READER_KEY")), withoutPermission: await viaExpress(env("WRITER_KEY")), noKey: await viaExpress() },
    fastify: { withPermission: await viaFastify(env("READER_KEY")), withoutPermission: await viaFastify(env("WRITER_KEY")), noKey: await viaFastify() },
  };
  const wrongApi = await keyward.verify({ key: env("BILLING_KEY"), apiId: env("ORDERS_API_ID") });
  const rootKeyVerdict = await keyward.verify({ key: env("KEYWARD_KEY") });

  const rotating = await keyward.verify({ key: env("ROTATING_KEY"), apiId: env("ORDERS_API_ID"), permissions: { anyOf: ["orders.read"] } });
  if (!rotating.valid) throw new Error("the rotating key is " + rotating.code);
  const rotated = await keyward.keys.rotate({ id: rotating.keyId, gracePeriodSeconds: 60 });
  const rotatedVerdict = await keyward.verify({ key: rotated.key, apiId: env("ORDERS_API_ID"), permissions: ["orders.read"] });
  const reader = await keyward.verify({ key: env("READER_KEY") });
  if (reader.code === "INVALID") throw new Error("the reader key is unknown");
  await keyward.keys.revoke({ id: reader.keyId });
  guard.invalidate(reader.keyId);
  const revokedVerdict = await keyward.verify({ key: env("READER_KEY") });
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
      meFromEnv: meFromEnv.user.id,
      listed: page.data.length > 0,
      issuedKeyAsClientKey,
      guard: guardResults,
      adapters,
      wrongApiVerdict: wrongApi.code,
      rootKeyVerdict: rootKeyVerdict.code,
      rotatedVerdict: rotatedVerdict.code,
      revokedVerdict: revokedVerdict.code,
      revokedAtGuard: await call(env("READER_KEY")),
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
    `import { createKeyward, expressGuard, keywardGuard, type KeywardClient } from "@keyward/sdk";

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
  await keyward.verify({ apiId: "api_00000000000000000000" });
  // @ts-expect-error verify's old scope is gone: ask for permissions
  await keyward.verify({ key: "k", scope: "read" });
  // @ts-expect-error permissions are a list or { anyOf }, not a string
  await keyward.verify({ key: "k", permissions: "orders.read" });
  const verdict = await keyward.verify({ key: "k" });
  // @ts-expect-error only INSUFFICIENT_PERMISSIONS carries missing: narrow on code first
  verdict.missing;
  // @ts-expect-error an INVALID verdict carries nothing else: narrow on valid or code first
  verdict.keyId;
  if (verdict.valid) {
    const customer: string | undefined = verdict.identity?.externalId;
    // @ts-expect-error a valid verdict has no missing permissions
    verdict.missing;
    void customer;
  }
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
  // baseUrl and apiKey may be left to KEYWARD_URL / KEYWARD_API_KEY, but what is given is typed.
  createKeyward({ baseUrl: "https://keys.example.test" });
  // @ts-expect-error apiKey is a string or a function returning one
  createKeyward({ apiKey: 42 });
  // @ts-expect-error the adapters take a guard, not the guard's options
  expressGuard({ client: keyward });
  // @ts-expect-error the guard asks for permissions, not a scope
  keywardGuard({ client: keyward, scope: "read" });
  // @ts-expect-error anyOf takes a list
  keywardGuard({ client: keyward, permissions: { anyOf: "orders.read" } });
}
`,
  );
}
