/**
 * Writes sdk/src/generated/router.ts: the client-facing surface of Keyward's tRPC router (each
 * procedure's kind, input and output, and the error shape), expanded by the TypeScript checker
 * into plain types. The package ships these instead of `typeof appRouter`, whose declarations
 * drag in the server's context, services, drizzle schema and zod (see sdk/README.md, "How the
 * types are built").
 *
 *   npx tsx sdk/scripts/generate-router-types.ts          write the file
 *   npx tsx sdk/scripts/generate-router-types.ts --check  exit 1 when it is stale
 */
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";

const WORKSPACE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
export const GENERATED_FILE = path.join(WORKSPACE, "sdk/src/generated/router.ts");
const PROBE_FILE = path.join(WORKSPACE, "sdk/__router_probe__.ts");
const PROBE_SOURCE = `
import type { AppRouter } from "../app/trpc/root.server";
export type RouterRecord = AppRouter["_def"]["record"];
export type ErrorShape = AppRouter["_def"]["_config"]["$types"]["errorShape"];
`;

export type ProcedureKind = "query" | "mutation";

interface Procedure {
  path: string;
  kind: ProcedureKind;
  input: string;
  output: string;
}

/** Prints types as self-contained TypeScript; the project's own named types become declarations of the same name. */
class TypePrinter {
  readonly declarations = new Map<ts.Symbol, { name: string; text: string }>();
  private readonly usedNames = new Set<string>();
  private readonly expanding = new Set<ts.Type>();

  constructor(private readonly checker: ts.TypeChecker) {}

  print(type: ts.Type, where: string): string {
    const named = this.namedSymbol(type);
    if (named) return this.reference(named, type, where);
    return this.structure(type, where);
  }

  /** An interface or alias declared in Keyward's own source (not a library) and not generic. */
  private namedSymbol(type: ts.Type): ts.Symbol | null {
    const symbol = type.aliasSymbol ?? (type.flags & ts.TypeFlags.Object && (type as ts.ObjectType).objectFlags & ts.ObjectFlags.Interface ? type.getSymbol() : undefined);
    if (!symbol || (type.aliasTypeArguments?.length ?? 0) > 0) return null;
    const declaration = symbol.declarations?.[0];
    if (!declaration) return null;
    const file = declaration.getSourceFile().fileName;
    return file.includes("/node_modules/") || !file.startsWith(WORKSPACE) ? null : symbol;
  }

  private reference(symbol: ts.Symbol, type: ts.Type, where: string): string {
    const existing = this.declarations.get(symbol);
    if (existing) return existing.name;
    let name = symbol.getName();
    for (let n = 2; this.usedNames.has(name); n++) name = `${symbol.getName()}${n}`;
    this.usedNames.add(name);
    const entry = { name, text: "" };
    this.declarations.set(symbol, entry);
    const body = this.structure(type, `${where} (${name})`);
    const docs = ts.displayPartsToString(symbol.getDocumentationComment(this.checker));
    const comment = docs ? `/** ${docs.replace(/\s*\n\s*/g, " ")} */\n` : "";
    const isObject = !type.isUnion() && !type.isIntersection() && body.startsWith("{");
    entry.text = isObject ? `${comment}export interface ${name} ${body}` : `${comment}export type ${name} = ${body};`;
    return name;
  }

  private structure(type: ts.Type, where: string): string {
    const { flags } = type;
    if (flags & ts.TypeFlags.Any) throw new Error(`${where}: \`any\` would switch type checking off for SDK users`);
    if (flags & ts.TypeFlags.Unknown) return "unknown";
    if (flags & ts.TypeFlags.String) return "string";
    if (flags & ts.TypeFlags.Number) return "number";
    if (flags & ts.TypeFlags.Boolean) return "boolean";
    if (flags & ts.TypeFlags.BigInt) return "bigint";
    if (flags & ts.TypeFlags.Null) return "null";
    if (flags & ts.TypeFlags.Undefined) return "undefined";
    if (flags & ts.TypeFlags.Void) return "void";
    if (flags & ts.TypeFlags.Never) return "never";
    if (type.isStringLiteral()) return JSON.stringify(type.value);
    if (type.isNumberLiteral()) return String(type.value);
    if (flags & ts.TypeFlags.BooleanLiteral) return this.checker.typeToString(type);
    if (type.isUnion()) return this.union(type.types, where);
    if (type.isIntersection()) return type.types.map((member) => this.wrap(member, where)).join(" & ");
    if (flags & ts.TypeFlags.Object) return this.object(type as ts.ObjectType, where);
    throw new Error(`${where}: cannot print ${this.checker.typeToString(type)} (flags ${flags})`);
  }

  private union(members: readonly ts.Type[], where: string): string {
    const hasTrue = members.some((m) => m.flags & ts.TypeFlags.BooleanLiteral && this.checker.typeToString(m) === "true");
    const hasFalse = members.some((m) => m.flags & ts.TypeFlags.BooleanLiteral && this.checker.typeToString(m) === "false");
    const parts: string[] = [];
    // null and undefined read best last (`string | null`), as people write them.
    const ordered = [...members].sort((a, b) => Number(isNullish(a)) - Number(isNullish(b)));
    for (const member of ordered) {
      if (hasTrue && hasFalse && member.flags & ts.TypeFlags.BooleanLiteral) {
        if (!parts.includes("boolean")) parts.push("boolean");
        continue;
      }
      parts.push(this.wrap(member, where));
    }
    return parts.join(" | ");
  }

  /** Parenthesises what would otherwise bind wrongly inside a union, intersection or array. */
  private wrap(type: ts.Type, where: string): string {
    const text = this.print(type, where);
    return (type.isUnion() || type.isIntersection()) && !this.namedSymbol(type) ? `(${text})` : text;
  }

  private object(type: ts.ObjectType, where: string): string {
    const checker = this.checker;
    if (checker.isArrayType(type)) {
      const [element] = checker.getTypeArguments(type as ts.TypeReference);
      const readonly = type.getSymbol()?.getName() === "ReadonlyArray" ? "readonly " : "";
      return `${readonly}${this.wrap(element!, `${where}[]`)}[]`;
    }
    if (checker.isTupleType(type)) {
      const target = (type as ts.TypeReference).target as ts.TupleType;
      const elements = checker.getTypeArguments(type as ts.TypeReference).map((element, i) => {
        const flag = target.elementFlags[i]!;
        const text = this.print(element, `${where}[${i}]`);
        return flag & ts.ElementFlags.Rest ? `...${text}[]` : flag & ts.ElementFlags.Optional ? `${text}?` : text;
      });
      return `${target.readonly ? "readonly " : ""}[${elements.join(", ")}]`;
    }
    if (type.getCallSignatures().length > 0 || type.getConstructSignatures().length > 0) {
      throw new Error(`${where}: a function cannot cross the wire`);
    }
    if (this.expanding.has(type)) throw new Error(`${where}: recursive anonymous type; give it a name in the app`);
    this.expanding.add(type);
    try {
      const members: string[] = [];
      for (const info of checker.getIndexInfosOfType(type)) {
        members.push(`${info.isReadonly ? "readonly " : ""}[key: ${checker.typeToString(info.keyType)}]: ${this.print(info.type, `${where}[key]`)};`);
      }
      for (const property of checker.getPropertiesOfType(type)) {
        const optional = (property.flags & ts.SymbolFlags.Optional) !== 0;
        let propertyType = checker.getTypeOfSymbol(property);
        if (optional && propertyType.isUnion()) {
          const defined = propertyType.types.filter((t) => !(t.flags & ts.TypeFlags.Undefined));
          if (defined.length === 1) propertyType = defined[0]!;
          else if (defined.length < propertyType.types.length) {
            members.push(this.member(property, optional, this.union(defined, `${where}.${property.getName()}`)));
            continue;
          }
        }
        members.push(this.member(property, optional, this.print(propertyType, `${where}.${property.getName()}`)));
      }
      return members.length === 0 ? "{}" : `{\n${members.map((m) => indent(m)).join("\n")}\n}`;
    } finally {
      this.expanding.delete(type);
    }
  }

  private member(property: ts.Symbol, optional: boolean, typeText: string): string {
    const name = /^[A-Za-z_$][\w$]*$/.test(property.getName()) ? property.getName() : JSON.stringify(property.getName());
    const readonly = property.declarations?.some((d) => ts.getCombinedModifierFlags(d) & ts.ModifierFlags.Readonly) ? "readonly " : "";
    const docs = ts.displayPartsToString(property.getDocumentationComment(this.checker));
    const comment = docs ? `/** ${docs.replace(/\s*\n\s*/g, " ")} */\n` : "";
    return `${comment}${readonly}${name}${optional ? "?" : ""}: ${typeText};`;
  }
}

function isNullish(type: ts.Type): boolean {
  return (type.flags & (ts.TypeFlags.Null | ts.TypeFlags.Undefined)) !== 0;
}

function indent(text: string): string {
  return text
    .split("\n")
    .map((line) => `  ${line}`)
    .join("\n");
}

function createProgram(): ts.Program {
  const configPath = path.join(WORKSPACE, "tsconfig.json");
  const config = ts.readConfigFile(configPath, (file) => ts.sys.readFile(file));
  if (config.error) throw new Error(ts.flattenDiagnosticMessageText(config.error.messageText, "\n"));
  const { options } = ts.parseJsonConfigFileContent(config.config, ts.sys, WORKSPACE);
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (fileName, languageVersion, ...rest) =>
    path.resolve(fileName) === PROBE_FILE ? ts.createSourceFile(fileName, PROBE_SOURCE, languageVersion, true) : getSourceFile(fileName, languageVersion, ...rest);
  const fileExists = host.fileExists.bind(host);
  host.fileExists = (fileName) => path.resolve(fileName) === PROBE_FILE || fileExists(fileName);
  return ts.createProgram({ rootNames: [PROBE_FILE], options: { ...options, noEmit: true }, host });
}

function exportedType(checker: ts.TypeChecker, probe: ts.SourceFile, name: string): ts.Type {
  const symbol = checker.getExportsOfModule(checker.getSymbolAtLocation(probe)!).find((s) => s.getName() === name);
  if (!symbol) throw new Error(`probe does not export ${name}`);
  return checker.getDeclaredTypeOfSymbol(symbol);
}

function property(checker: ts.TypeChecker, type: ts.Type, name: string): ts.Type {
  const symbol = type.getProperty(name);
  if (!symbol) throw new Error(`no property ${name} on ${checker.typeToString(type)}`);
  return checker.getTypeOfSymbol(symbol);
}

/** Walks the router record: a procedure has `_def.procedure`; anything else is a nested router record. */
function collectProcedures(checker: ts.TypeChecker, printer: TypePrinter, record: ts.Type, prefix: string[], out: Procedure[], tree: string[]): void {
  for (const entry of checker.getPropertiesOfType(record)) {
    const name = entry.getName();
    const value = checker.getTypeOfSymbol(entry);
    const def = value.getProperty("_def") ? property(checker, value, "_def") : null;
    const pathParts = [...prefix, name];
    const dotted = pathParts.join(".");
    if (def?.getProperty("procedure")) {
      const kindType = property(checker, def, "type");
      const kind = kindType.isStringLiteral() ? kindType.value : "";
      if (kind !== "query" && kind !== "mutation") throw new Error(`${dotted}: ${kind || "unknown"} procedures are not supported by the SDK`);
      const types = property(checker, def, "$types");
      const input = printer.print(property(checker, types, "input"), `${dotted} input`);
      const output = printer.print(property(checker, types, "output"), `${dotted} output`);
      out.push({ path: dotted, kind, input, output });
      const wrapper = kind === "query" ? "TRPCQueryProcedure" : "TRPCMutationProcedure";
      tree.push(`${name}: ${wrapper}<{ input: ${input}; output: ${output}; meta: object; errorShape: ErrorShape }>;`);
    } else {
      const nested: string[] = [];
      collectProcedures(checker, printer, value, pathParts, out, nested);
      tree.push(`${name}: {\n${nested.map(indent).join("\n")}\n};`);
    }
  }
}

/** The generated module's text. Takes ~15 s: it type-checks the app's router. */
export function generateRouterTypes(): string {
  const program = createProgram();
  const checker = program.getTypeChecker();
  const probe = program.getSourceFile(PROBE_FILE)!;
  const errors = ts.getPreEmitDiagnostics(program, probe);
  if (errors.length > 0) throw new Error(ts.formatDiagnostics(errors, ts.createCompilerHost({})));
  const printer = new TypePrinter(checker);
  const errorShape = printer.print(exportedType(checker, probe, "ErrorShape"), "error shape");
  const procedures: Procedure[] = [];
  const tree: string[] = [];
  collectProcedures(checker, printer, exportedType(checker, probe, "RouterRecord"), [], procedures, tree);

  const declarations = [...printer.declarations.values()].map((d) => d.text).join("\n\n");
  return `// Generated by sdk/scripts/generate-router-types.ts from app/trpc/root.server.ts: do not edit.
// Regenerate with \`npm run sdk:generate\` (\`npm run build:sdk\` does it first); tests/sdk/router-types.test.ts fails when stale.
/* eslint-disable @typescript-eslint/no-empty-object-type -- types are printed exactly as the server declares them */
import type { TRPCBuiltRouter, TRPCMutationProcedure, TRPCQueryProcedure } from "@trpc/server";

${declarations}

/** The shape of every error the router sends (its errorFormatter). */
export type ErrorShape = ${errorShape};

/** Keyward's tRPC router as a client sees it: the same procedures, inputs and outputs, without the server's context. */
export type AppRouter = TRPCBuiltRouter<
  { ctx: object; meta: object; errorShape: ErrorShape; transformer: false },
  {
${tree.map((line) => indent(indent(line))).join("\n")}
  }
>;

/** Which procedures are queries (GET) and which are mutations (POST): the client needs it at run time. */
export const PROCEDURES = {
${procedures.map((p) => `  ${JSON.stringify(p.path)}: ${JSON.stringify(p.kind)},`).join("\n")}
} as const satisfies Record<string, "query" | "mutation">;
`;
}

const isMain = process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (isMain) {
  const text = generateRouterTypes();
  if (process.argv.includes("--check")) {
    const current = fs.existsSync(GENERATED_FILE) ? fs.readFileSync(GENERATED_FILE, "utf8") : "";
    if (current !== text) {
      console.error("sdk/src/generated/router.ts is stale: run `npm run sdk:generate`");
      process.exit(1);
    }
  } else {
    fs.mkdirSync(path.dirname(GENERATED_FILE), { recursive: true });
    fs.writeFileSync(GENERATED_FILE, text);
    console.log(`wrote ${path.relative(WORKSPACE, GENERATED_FILE)}`);
  }
}
