import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { UserView } from "../../app/services/users.server";
import { cliEnvironment, type CliEnvironment } from "./run-cli";

const STACK_FRAME = /\n\s+at /;

// Each CLI process starts tsx and opens the database (~1–3 s), so the steps share one database.
describe("npm run users", { timeout: 180_000 }, () => {
  let cli: CliEnvironment;
  let memberId: string;
  beforeAll(async () => {
    cli = await cliEnvironment();
  });
  afterAll(() => cli?.dispose());

  it("creates users, with the password as an option or on stdin, and prints the id alone", async () => {
    const admin = await cli.run("users", ["create", "--email", "Ops@Example.test", "--password", "a long admin password", "--role", "admin"]);
    expect(admin.code).toBe(0);
    expect(admin.stdout).toMatch(/^usr_[0-9A-Za-z]{20}\n$/);
    expect(admin.stderr).toContain("Created admin ops@example.test");

    const member = await cli.run("users", ["create", "--email", "dev@example.test", "--password-stdin"], { input: "a long member password\n" });
    expect(member.code).toBe(0);
    expect(member.stderr).toContain("Created member dev@example.test");
    memberId = member.stdout.trim();

    const keyward = await cli.open();
    try {
      await expect(keyward.auth.login("dev@example.test", "a long member password")).resolves.toMatchObject({ user: { role: "member" } });
    } finally {
      await keyward.close();
    }
  });

  it("refuses a duplicate email (exit 1) and a bad command line (exit 2), without a stack trace", async () => {
    const [duplicate, short, unknownRole] = await Promise.all([
      cli.run("users", ["create", "--email", "OPS@example.test", "--password", "another long password"]),
      // These two fail before opening the database, so they may run beside the first.
      cli.run("users", ["create", "--email", "x@example.test", "--password", "short"]),
      cli.run("users", ["create", "--email", "x@example.test", "--password", "long enough password", "--role", "owner"]),
    ]);
    expect(duplicate).toMatchObject({ code: 1, stdout: "" });
    expect(duplicate.stderr).toContain("A user with the email ops@example.test already exists");
    expect(short).toMatchObject({ code: 2, stdout: "" });
    expect(short.stderr).toContain("--password: Use at least 10 characters");
    expect(unknownRole.code).toBe(2);
    expect(unknownRole.stderr).toContain("--role");
    for (const result of [duplicate, short, unknownRole]) expect(result.stderr).not.toMatch(STACK_FRAME);
  });

  it("lists users as JSON", async () => {
    const json = await cli.run("users", ["list", "--json"]);
    expect(json.code).toBe(0);
    const users = JSON.parse(json.stdout) as UserView[];
    expect(users.map(({ email, role, disabledAt }) => ({ email, role, disabledAt }))).toEqual([
      { email: "dev@example.test", role: "member", disabledAt: null },
      { email: "ops@example.test", role: "admin", disabledAt: null },
    ]);
    expect(json.stdout).not.toMatch(/password|argon2/i);
  });

  it("disables a user by email or id, never the last active admin, and the table shows it", async () => {
    const lastAdmin = await cli.run("users", ["disable", "ops@example.test"]);
    expect(lastAdmin).toMatchObject({ code: 1, stdout: "" });
    expect(lastAdmin.stderr).toContain("last active admin");

    const disabled = await cli.run("users", ["disable", memberId]);
    expect(disabled.code).toBe(0);
    expect(disabled.stdout).toContain("Disabled member dev@example.test");

    const table = await cli.run("users", ["list"]);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/^ID\s+EMAIL\s+ROLE\s+STATUS\s+CREATED\n/);
    expect(table.stdout).toMatch(/dev@example\.test\s+member\s+disabled/);
    expect(table.stdout).toMatch(/ops@example\.test\s+admin\s+active/);

    const keyward = await cli.open();
    try {
      await expect(keyward.auth.login("dev@example.test", "a long member password")).rejects.toMatchObject({ code: "invalid_credentials" });
    } finally {
      await keyward.close();
    }
  });
});
