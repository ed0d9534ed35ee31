/**
 * A client developer's program, written only against types openapi-typescript generates from the
 * served /api/v1/openapi.json (`./keyward-api`, generated next to it by tests/contract/client.test.ts)
 * and the openapi-fetch client: it pages keys, creates an API and a key for it, verifies the key,
 * rotates it, verifies the successor, and handles a problem. No casts, no `any`: if the document
 * types a body loosely, this does not compile under `tsc --strict`.
 *
 * Run: KEYWARD_URL=http://… KEYWARD_API_KEY=kw_… tsx consumer.ts → one JSON line on stdout.
 */
import createClient from "openapi-fetch";
import type { components, paths } from "./keyward-api";

type ApiKey = components["schemas"]["ApiKey"];
type Problem = components["schemas"]["Problem"];
type ProblemCode = components["schemas"]["ProblemCode"];

/** What a failed call becomes: its problem's code and request id, typed from the document. */
class KeywardProblem extends Error {
  readonly code: ProblemCode;
  readonly requestId: string;
  constructor(operation: string, problem: Problem) {
    super(`${operation}: ${problem.status} ${problem.code} (${problem.detail}) [request ${problem.requestId}]`);
    this.code = problem.code;
    this.requestId = problem.requestId;
  }
}

export interface Summary {
  pagedKeys: number;
  pages: number;
  apiId: string;
  issuedKeyId: string;
  verifiedKeyId: string;
  rotatedTo: string;
  successorValid: boolean;
  successorCode: string;
  wrongApiCode: string;
  missingKeyProblem: ProblemCode;
  missingKeyStatus: number;
  rateLimitRemaining: string | null;
}

export async function run(baseUrl: string, rootKey: string): Promise<Summary> {
  const client = createClient<paths>({ baseUrl, headers: { Authorization: `Bearer ${rootKey}` } });

  // Page through every key, two at a time.
  const keys: ApiKey[] = [];
  let cursor: string | undefined;
  let pages = 0;
  let rateLimitRemaining: string | null = null;
  do {
    const { data, error, response } = await client.GET("/api/v1/keys", { params: { query: { limit: 2, cursor } } });
    if (error) throw new KeywardProblem("listKeys", error);
    pages++;
    keys.push(...data.data);
    cursor = data.nextCursor ?? undefined;
    rateLimitRemaining = response.headers.get("RateLimit-Remaining");
  } while (cursor !== undefined);

  // An API of ours, and a key issued for one of its customers.
  const prefix = `c${Date.now().toString(36).slice(-6)}`;
  const created = await client.POST("/api/v1/apis", { body: { name: "Consumer test API", prefix } });
  if (created.error) throw new KeywardProblem("createApi", created.error);
  const apiId: string = created.data.id;

  const issued = await client.POST("/api/v1/apis/{id}/keys", {
    params: { path: { id: apiId } },
    body: { name: "customer key", externalId: "customer-42", permissions: ["read"] },
  });
  if (issued.error) throw new KeywardProblem("createApiKey", issued.error);
  const plaintext: string = issued.data.key;
  const issuedKeyId: string = issued.data.apiKey.id;

  // Verify it: a VALID verdict has the key's id, typed as present (the union on `valid`).
  const verdict = await client.POST("/api/v1/verify", { body: { key: plaintext, apiId, permissions: ["read"] } });
  if (verdict.error) throw new KeywardProblem("verifyKey", verdict.error);
  if (!verdict.data.valid) throw new Error(`the new key was refused: ${verdict.data.code}`);
  const verifiedKeyId: string = verdict.data.keyId;

  // Rotate it without a grace period field: it has a default, so it is optional.
  const rotated = await client.POST("/api/v1/keys/{id}/rotate", { params: { path: { id: issuedKeyId } }, body: {} });
  if (rotated.error) throw new KeywardProblem("rotateKey", rotated.error);
  const successor = await client.POST("/api/v1/verify", { body: { key: rotated.data.key, apiId } });
  if (successor.error) throw new KeywardProblem("verifyKey", successor.error);

  // A refusal is a verdict too, with its code.
  const other = await client.POST("/api/v1/apis", { body: { name: "Another API", prefix: `${prefix}x` } });
  if (other.error) throw new KeywardProblem("createApi", other.error);
  const wrongApi = await client.POST("/api/v1/verify", { body: { key: rotated.data.key, apiId: other.data.id } });
  if (wrongApi.error) throw new KeywardProblem("verifyKey", wrongApi.error);

  // A problem: a key that does not exist.
  const missing = await client.GET("/api/v1/keys/{id}", { params: { path: { id: "key_00000000000000000000" } } });
  if (!missing.error) throw new Error("a missing key was found");
  const problem = new KeywardProblem("getKey", missing.error);

  return {
    pagedKeys: keys.length,
    pages,
    apiId,
    issuedKeyId,
    verifiedKeyId,
    rotatedTo: rotated.data.apiKey.id,
    successorValid: successor.data.valid,
    successorCode: successor.data.code,
    wrongApiCode: wrongApi.data.code,
    missingKeyProblem: problem.code,
    missingKeyStatus: missing.response.status,
    rateLimitRemaining,
  };
}

const url = process.env.KEYWARD_URL;
const key = process.env.KEYWARD_API_KEY;
if (url && key) {
  run(url, key).then(
    (summary) => console.log(JSON.stringify(summary)),
    (error: unknown) => {
      console.error(error);
      process.exitCode = 1;
    },
  );
}
