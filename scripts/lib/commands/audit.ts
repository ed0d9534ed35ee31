import { auditExportInput, auditListInput, type AuditEntryView } from "../../../app/lib/audit-schemas";
import { integerOption, parseCommand, parseInput, type Command, type Program } from "../cli";
import { printJson, table } from "../format";
import { withKeyward } from "../keyward";
import { cliActor as actor } from "../lookup";
import { call, send, remoteTarget } from "../remote";

const FLAGS = { action: "--action", actorId: "--actor", targetId: "--target", from: "--from", to: "--to", limit: "--limit", format: "--format" };

const filterOptions = {
  action: { type: "string" },
  actor: { type: "string" },
  target: { type: "string" },
  from: { type: "string" },
  to: { type: "string" },
} as const;

const FILTER_HELP = `  --action ACTION     An exact action (key.revoked) or a family (key.*)
  --actor ID          A user (usr_…) or the key it acted through (key_…)
  --target ID         What was acted on (a key, API, identity or user id)
  --from TIME         From this ISO 8601 instant (inclusive)
  --to TIME           Until this ISO 8601 instant (exclusive)`;

function filterOf(values: { action?: string; actor?: string; target?: string; from?: string; to?: string }) {
  return { action: values.action, actorId: values.actor, targetId: values.target, from: values.from, to: values.to };
}

/** One entry on one line: when, who, what, on what. */
function rows(entries: readonly AuditEntryView[]): string[][] {
  return entries.map((entry) => [
    `${entry.occurredAt.slice(0, 19).replace("T", " ")}Z`,
    entry.actorType === "system" ? "system (cli)" : `${entry.actorEmail ?? entry.actorId ?? "?"}${entry.actorKeyId ? ` via ${entry.actorKeyId}` : ""}`,
    entry.action,
    `${entry.targetType} ${entry.targetId}`,
  ]);
}

const tail: Command = {
  summary: "The latest audit entries, oldest first (--follow to keep printing new ones)",
  help: `Prints the latest entries of the audit trail, oldest first, like tail(1).

Usage: keyward audit tail [--limit N] [filters] [--follow [--interval SECONDS]] [--json]

Options:
  --limit N           How many entries, 1–200 (default: 20)
${FILTER_HELP}
  --follow            Keep running, printing new entries as they are recorded (Ctrl-C stops)
  --interval SECONDS  With --follow: how often to look, 1–3600 (default: 2)
  --json              Print a JSON array of entries (with --follow: one JSON entry per line)`,
  async run(argv) {
    const { values } = parseCommand(argv, tail, { ...filterOptions, limit: { type: "string" }, follow: { type: "boolean" }, interval: { type: "string" }, json: { type: "boolean" } });
    const input = parseInput(auditListInput, { ...filterOf(values), limit: integerOption(values.limit, "--limit") ?? 20 }, FLAGS);
    const interval = integerOption(values.interval, "--interval") ?? 2;
    const latest = async (): Promise<AuditEntryView[]> => {
      const page = remoteTarget()
        ? await call<{ data: AuditEntryView[] }>("GET", "/api/v1/audit", { query: input })
        : await withKeyward((keyward) => keyward.audit.list(actor, input));
      return [...page.data].reverse();
    };
    const entries = await latest();
    if (!values.follow) {
      if (values.json) return printJson(entries);
      if (entries.length === 0) process.stderr.write("No audit entries match.\n");
      else process.stdout.write(`${table(["time", "actor", "action", "target"], rows(entries))}\n`);
      return;
    }
    const seen = new Set<string>();
    const print = (batch: AuditEntryView[]) => {
      const fresh = batch.filter((entry) => !seen.has(entry.id));
      for (const entry of fresh) {
        seen.add(entry.id);
        process.stdout.write(values.json ? `${JSON.stringify(entry)}\n` : `${rows([entry])[0]!.join("  ")}\n`);
      }
    };
    print(entries);
    for (;;) {
      await new Promise((resolve) => setTimeout(resolve, Math.min(Math.max(interval, 1), 3600) * 1000));
      print(await latest());
    }
  },
};

const exportCommand: Command = {
  summary: "Export the audit trail as NDJSON or CSV on stdout, newest first",
  help: `Writes every audit entry matching the filters to stdout, newest first, streamed page by page:
NDJSON (one JSON entry per line, the default) or CSV (RFC 4180; cells a spreadsheet would run as a
formula are prefixed with ').

Usage: keyward audit export [--format ndjson|csv] [filters] > audit.ndjson

Options:
  --format FORMAT     ndjson or csv (default: ndjson)
${FILTER_HELP}`,
  async run(argv) {
    const { values } = parseCommand(argv, exportCommand, { ...filterOptions, format: { type: "string" } });
    const input = parseInput(auditExportInput, { ...filterOf(values), format: values.format }, FLAGS);
    if (remoteTarget()) {
      const response = await send("GET", "/api/v1/audit/export", { query: input });
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) await write(chunk);
      return;
    }
    await withKeyward(async (keyward) => {
      for await (const chunk of keyward.audit.export(actor, input)) await write(chunk);
    });
  },
};

/** Writes to stdout, waiting when the reader is slower (a pipe into less or gzip). */
function write(chunk: string | Uint8Array): Promise<void> {
  return new Promise((resolve, reject) => {
    if (process.stdout.write(chunk, (error) => (error ? reject(error) : undefined))) resolve();
    else process.stdout.once("drain", resolve);
  });
}

export const auditProgram: Program = {
  name: "keyward audit",
  summary: "Read the audit trail (admin): every change from every surface, append-only.",
  commands: { tail, export: exportCommand },
};
