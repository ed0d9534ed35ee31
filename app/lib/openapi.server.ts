import { z, type ZodObject, type ZodType } from "zod";
import { LOW_CREDITS_TEXT } from "./credits";
import {
  apiKeySchema,
  apiListSchema,
  apiSchema,
  createApiBody,
  createdKeySchema,
  createIdentityBody,
  createIssuedKeyBody,
  createKeyBody,
  deletedIdentitySchema,
  identityByExternalIdQuery,
  identityKeysChangeSchema,
  identityListSchema,
  identitySchema,
  keyListSchema,
  listApiKeysQuery,
  listApisQuery,
  listIdentitiesQuery,
  listKeysQuery,
  meSchema,
  problemSchema,
  revealedKeySchema,
  rotateKeyBody,
  rotatedKeySchema,
  updateApiBody,
  updateIdentityBody,
  updateKeyBody,
  reportedVerificationsSchema,
  reportVerificationsInput,
  verifyKeyInput,
  verifyResultSchema,
  alertPageSchema,
  alertSchema,
  alertWebhookPayloadSchema,
  healthSchema,
  openApiDocumentSchema,
  readySchema,
  securityEventPageSchema,
  securityEventSchema,
} from "./api-schemas";
import { alertListInput, securityEventsInput } from "../services/alerts.server";
import { auditEntrySchema, auditExportInput, auditListInput, auditPageSchema } from "./audit-schemas";
import {
  apiVerificationUsageSchema,
  requestLogInput,
  requestLogPageSchema,
  usageSeriesInput,
  usageSeriesSchema,
  usageSummaryInput,
  usageSummarySchema,
  verificationUsageSchema,
} from "./usage-schemas";
import { MAX_BODY_BYTES, PROBLEM_STATUS, PROBLEM_TITLES, problemType, type ProblemCode } from "./http.server";
import { exampleOf, STREAM_EXAMPLES } from "./openapi-examples.server";
import { scopeOf, type Operation } from "./operations";

/**
 * The OpenAPI 3.1 document of the REST API, generated from the zod schemas the handlers validate
 * with (app/lib/api-schemas.ts), so the document and the behaviour cannot drift apart.
 */

type JsonSchema = Record<string, unknown>;

const SCHEMAS: Record<string, ZodType> = {
  ApiKey: apiKeySchema,
  ApiKeyList: keyListSchema,
  CreateKeyRequest: createKeyBody,
  CreatedKey: createdKeySchema,
  UpdateKeyRequest: updateKeyBody,
  RotateKeyRequest: rotateKeyBody,
  RotatedKey: rotatedKeySchema,
  RevealedKey: revealedKeySchema,
  Me: meSchema,
  VerifyRequest: verifyKeyInput,
  VerifyResult: verifyResultSchema,
  VerificationReport: reportVerificationsInput,
  ReportedVerifications: reportedVerificationsSchema,
  Problem: problemSchema,
  UsageSeries: usageSeriesSchema,
  UsageSummary: usageSummarySchema,
  VerificationUsage: verificationUsageSchema,
  ApiVerificationUsage: apiVerificationUsageSchema,
  RequestLogPage: requestLogPageSchema,
  AuditEntry: auditEntrySchema,
  AuditPage: auditPageSchema,
  Api: apiSchema,
  ApiList: apiListSchema,
  CreateApiRequest: createApiBody,
  UpdateApiRequest: updateApiBody,
  CreateIssuedKeyRequest: createIssuedKeyBody,
  Identity: identitySchema,
  IdentityList: identityListSchema,
  CreateIdentityRequest: createIdentityBody,
  UpdateIdentityRequest: updateIdentityBody,
  DeletedIdentity: deletedIdentitySchema,
  IdentityKeysChange: identityKeysChangeSchema,
  SecurityEvent: securityEventSchema,
  SecurityEventPage: securityEventPageSchema,
  Alert: alertSchema,
  AlertPage: alertPageSchema,
  AlertWebhookPayload: alertWebhookPayloadSchema,
  Health: healthSchema,
  Ready: readySchema,
  OpenApiDocument: openApiDocumentSchema,
};
type SchemaName = keyof typeof SCHEMAS;

/** What each error code means, for the people reading the document. */
export const ERROR_DESCRIPTIONS: Record<RestProblemCode, string> = {
  credentials_in_url: "A key was sent in the URL (query string or path). It is refused and recorded; rotate that key, since URLs are logged.",
  missing_credentials: "No key in `Authorization: Bearer <key>` or `X-API-Key`.",
  invalid_key: "The key is malformed, has a wrong checksum, or is unknown. Nothing more is said.",
  key_revoked: "The key was revoked. Revocation is final.",
  key_disabled: "The key (or its owner) is disabled; it can be enabled again.",
  key_expired: "The key is past its `expiresAt`.",
  ip_not_allowed: "The key has an IP allowlist and the request came from elsewhere.",
  not_a_root_key: "The key is real but of the wrong kind: a key issued for one of your APIs. Issued keys never authenticate to Keyward's management API (REST, tRPC or the event stream); they are only checked, with `POST /api/v1/verify` called with a root key (`kw_…`).",
  insufficient_scope: "The key lacks the scope this needs, or tried to grant more than it holds. `requiredScope` says which.",
  forbidden: "The caller may not do this. On keys: the calling key tried to create, change or act on a key less restricted than itself (a wider allowlist, a looser rate limit, a later expiry); `errors` names the field.",
  self_modification_forbidden: "A key tried to change its own scopes, allowlist, rate limit or expiry, or to rotate itself. Use a dashboard session or a key at least as restricted. Renaming, describing, disabling or revoking itself is allowed.",
  not_found: "No such endpoint, or no such key, API or identity visible to the caller (another owner's, or outside a restricted root key's APIs, or a malformed id: not found, never forbidden).",
  method_not_allowed: "The endpoint exists but not with this method; `Allow` lists the methods it takes.",
  invalid_json: "The body is not valid JSON.",
  payload_too_large: `The body is larger than ${MAX_BODY_BYTES / 1024} KiB.`,
  unsupported_media_type: "The body is not declared as JSON: send it with `Content-Type: application/json` (or another `+json` type). A body as `text/plain`, a form, or without any Content-Type is refused, never guessed at.",
  validation_failed: "The input breaks the schema; `errors` lists each offending field and why.",
  policy_violation: "The input is valid but refused by a server policy (e.g. the longest key lifetime allowed).",
  invalid_state: "The key's state forbids it, e.g. changing a revoked key.",
  conflict: "The request clashes with the current state: rotating a key that was already rotated (rotate the successor instead), a prefix or externalId already taken, deleting an API or identity that still has live keys (revoke them first), or an externalId several of your APIs have (say which with `apiId`).",
  not_recoverable: "The key was not created as recoverable; its plaintext was never kept.",
  rate_limited: "The key has used up its request budget; `Retry-After` says when to try again.",
  too_many_failures: "Too many failed authentications from this address; `Retry-After` says when to try again.",
  too_many_requests: "The key already holds as many event streams open as the server allows (`KEYWARD_MAX_EVENT_STREAMS`); close one, or retry after `Retry-After`.",
  service_unavailable: "The database did not answer in time (a statement timed out, or it is unreachable). Nothing was changed by a refused change; retry after `Retry-After` seconds (5).",
  internal_error: "A fault on the server; quote the request id.",
  invalid_idempotency_key: "`Idempotency-Key` is not 1 to 255 printable ASCII characters.",
  idempotency_key_in_use: "A request with this `Idempotency-Key` is still being processed (on any instance); retry shortly. A claim whose request died is released after 60 seconds.",
  idempotency_key_reused: "This `Idempotency-Key` was already used by the same caller, within 24 hours, for a different request (method, path or body). Use a new key for a new request.",
};

/** Codes only the dashboard and tRPC use: never in a REST answer. */
type RestProblemCode = Exclude<ProblemCode, "unauthorized" | "invalid_credentials" | "csrf_rejected" | "batch_too_large">;
const REST_CODES = Object.keys(ERROR_DESCRIPTIONS) as RestProblemCode[];

const AUTH_ERRORS: ProblemCode[] = ["credentials_in_url", "missing_credentials", "invalid_key", "key_revoked", "key_disabled", "key_expired", "ip_not_allowed", "not_a_root_key", "insufficient_scope", "rate_limited", "too_many_failures"];
const BODY_ERRORS: ProblemCode[] = ["invalid_json", "payload_too_large", "unsupported_media_type", "validation_failed"];
/** Every operation that reads the database: a statement timeout is 503, a fault 500. */
const DATABASE_ERRORS: ProblemCode[] = ["service_unavailable", "internal_error"];

interface Endpoint {
  method: "get" | "post" | "patch" | "delete";
  path: string;
  operationId: string;
  summary: string;
  description?: string;
  /** The operation whose scope it needs (app/lib/operations.ts); null = public. */
  operation: Operation | null;
  tag: string;
  query?: ZodObject;
  body?: SchemaName;
  success: { status: number; description: string; schema?: SchemaName; contentType?: string; alternatives?: Record<string, JsonSchema> };
  errors?: ProblemCode[];
  /** Served by a plain Remix loader rather than `apiRoute` (no 405 problem for other methods). */
  plain?: boolean;
  /** Further responses (not problems), e.g. the readiness probe's 503. */
  extraResponses?: Record<string, { description: string; schema: SchemaName; headers: string[] }>;
}

const idParameter = (what: string, prefix: string) => ({
  name: "id",
  in: "path",
  required: true,
  description: `The ${what}'s public id (\`${prefix}_…\`); a malformed one is 404, like one the caller may not see`,
  schema: { type: "string", pattern: `^${prefix}_[0-9A-Za-z]{20}$`, minLength: prefix.length + 21, maxLength: prefix.length + 21 },
});

/** The `{id}` of each family of paths. */
const ID_PARAMETERS: [pathPrefix: string, parameter: ReturnType<typeof idParameter>][] = [
  ["/api/v1/alerts/", idParameter("alert", "alr")],
  ["/api/v1/apis/", idParameter("API", "api")],
  ["/api/v1/identities/", idParameter("identity", "idt")],
  ["/api/v1/keys/", idParameter("key", "key")],
];

const IDENTITY_BY_EXTERNAL_ID =
  "The identity is the one `externalId` names among the APIs the caller sees; add `apiId` when several of them have it (else 409 `conflict`). None: 404. `GET /api/v1/identities?externalId=` is the list, filtered, so it answers `{ data, nextCursor }` (at most one identity per API) rather than 404.";

const VERIFICATION_USAGE =
  "Verifications of issued keys per minute, hour or day, each bucket with its `total` and its count per outcome (`VALID` and each refusal code; `INVALID` names no key and is never counted). Defaults to the last 24 hours by hour; minute granularity is limited to 90 days. Counts are written in batches, a few seconds after the verification.";

export const ENDPOINTS: Endpoint[] = [
  {
    method: "get", path: "/api/v1/me", operationId: "getMe", tag: "Keys", operation: "me",
    summary: "The calling key", description: "The key making the request, its owner and its effective scopes.",
    success: { status: 200, description: "The caller", schema: "Me" },
  },
  {
    method: "get", path: "/api/v1/keys", operationId: "listKeys", tag: "Keys", operation: "keys.list",
    summary: "List keys",
    description: "Keys visible to the caller, newest first: their owner's own; with the admin scope, everyone's (filter with `ownerId`). Root and issued keys alike: filter with `kind`, `apiId`, `identityId`, `externalId`. A root key restricted to some APIs sees only their keys. Cursor pagination.",
    query: listKeysQuery,
    success: { status: 200, description: "A page of keys", schema: "ApiKeyList" },
    errors: ["validation_failed"],
  },
  {
    method: "post", path: "/api/v1/keys", operationId: "createKey", tag: "Keys", operation: "keys.create",
    summary: "Create a key",
    description: "Creates a root key (`kw_…`); keys for your customers are issued with `POST /api/v1/apis/{id}/keys`. The plaintext key is in this response only. Scopes can never exceed the owner's role nor the caller's own scopes; `ownerId` needs the admin scope. `apiIds` restricts the new key to those APIs (their keys, identities and verifications). Give `expiresAt` or `expiresInDays`, not both.",
    body: "CreateKeyRequest",
    success: { status: 201, description: "The new key and its public view", schema: "CreatedKey" },
    errors: [...BODY_ERRORS, "policy_violation", "forbidden", "not_found", "invalid_state"],
  },
  {
    method: "get", path: "/api/v1/keys/{id}", operationId: "getKey", tag: "Keys", operation: "keys.get",
    summary: "Get a key", description: "A root key or an issued key. Another owner's key, or a key of an API outside a restricted root key's APIs, is 404.",
    success: { status: 200, description: "The key", schema: "ApiKey" },
    errors: ["not_found"],
  },
  {
    method: "patch", path: "/api/v1/keys/{id}", operationId: "updateKey", tag: "Keys", operation: "keys.update",
    summary: "Update a key", description: "Only the fields given change. `disabled: true` disables the key, `false` enables it. A revoked key cannot be changed. `scopes` belong to root keys and `permissions` (names of the API's vocabulary, or wildcards) to issued keys: the other is 422. An issued key's credits are replaced with `credits` (`{ remaining, refill? }`, null = unlimited) or added to with `addCredits` (to the balance as it stands, in the same statement as concurrent verifications); both are audited with before and after, and a root key has no credits (422).",
    body: "UpdateKeyRequest",
    success: { status: 200, description: "The key after the change", schema: "ApiKey" },
    errors: [...BODY_ERRORS, "not_found", "invalid_state", "policy_violation", "forbidden", "self_modification_forbidden"],
  },
  {
    method: "delete", path: "/api/v1/keys/{id}", operationId: "revokeKey", tag: "Keys", operation: "keys.revoke",
    summary: "Revoke a key", description: "Final and idempotent: revoking a revoked key succeeds and changes nothing.",
    success: { status: 200, description: "The key, with status `revoked`", schema: "ApiKey" },
    errors: ["not_found", "forbidden"],
  },
  {
    method: "post", path: "/api/v1/keys/{id}/rotate", operationId: "rotateKey", tag: "Keys", operation: "keys.rotate",
    summary: "Rotate a key",
    description: "Issues a new key with the same settings; the old one keeps working until now + `gracePeriodSeconds` (0–604800, default 0). A key is rotated once: rotating it again (it has a successor, or is in its grace period) is 409 `conflict`. A key cannot rotate itself.",
    body: "RotateKeyRequest",
    success: { status: 201, description: "The new key and the old one", schema: "RotatedKey" },
    errors: [...BODY_ERRORS, "not_found", "invalid_state", "conflict", "policy_violation", "forbidden", "self_modification_forbidden"],
  },
  {
    method: "post", path: "/api/v1/keys/{id}/reveal", operationId: "revealKey", tag: "Keys", operation: "keys.reveal",
    summary: "Reveal a recoverable key", description: "Only keys created with `recoverable: true`. Every reveal is audited.",
    success: { status: 200, description: "The plaintext key", schema: "RevealedKey" },
    errors: ["not_found", "not_recoverable", "invalid_state"],
  },
  {
    method: "get", path: "/api/v1/apis", operationId: "listApis", tag: "APIs", operation: "apis.list",
    summary: "List APIs",
    description: "The APIs the caller may see, newest first: an API belongs to the user who created it; admins see every one; a root key restricted to some APIs sees only those. Archived APIs only with `includeArchived=true`. Cursor pagination.",
    query: listApisQuery,
    success: { status: 200, description: "A page of APIs", schema: "ApiList" },
    errors: ["validation_failed"],
  },
  {
    method: "post", path: "/api/v1/apis", operationId: "createApi", tag: "APIs", operation: "apis.create",
    summary: "Create an API",
    description: "Its keys will start with `<prefix>_` (2–12 characters, `[a-z][a-z0-9]*` with optional `_` segments; unique; `kw` is reserved). The permission vocabulary defaults to `read`, `write`, `admin` with admin ⊇ write ⊇ read. A root key restricted to some APIs cannot create one.",
    body: "CreateApiRequest",
    success: { status: 201, description: "The new API", schema: "Api" },
    errors: [...BODY_ERRORS, "conflict", "forbidden"],
  },
  {
    method: "get", path: "/api/v1/apis/{id}", operationId: "getApi", tag: "APIs", operation: "apis.get",
    summary: "Get an API", description: "Archived APIs too. Another owner's API is 404.",
    success: { status: 200, description: "The API with its key counts", schema: "Api" },
    errors: ["not_found"],
  },
  {
    method: "patch", path: "/api/v1/apis/{id}", operationId: "updateApi", tag: "APIs", operation: "apis.update",
    summary: "Update an API",
    description: "Rename it, change its vocabulary, implications or key defaults (the prefix never changes). A permission still granted to a live key cannot leave the vocabulary (409). An archived API cannot be changed.",
    body: "UpdateApiRequest",
    success: { status: 200, description: "The API after the change", schema: "Api" },
    errors: [...BODY_ERRORS, "not_found", "conflict", "invalid_state"],
  },
  {
    method: "delete", path: "/api/v1/apis/{id}", operationId: "deleteApi", tag: "APIs", operation: "apis.delete",
    summary: "Delete (archive) an API",
    description: "Refused with 409 `conflict` while the API has live keys (neither revoked nor expired): revoke them first. Otherwise the API is archived: its keys stay readable, verification answers `INVALID` for them, and it takes no new keys. Idempotent.",
    success: { status: 200, description: "The API, with `archivedAt` set", schema: "Api" },
    errors: ["not_found", "conflict"],
  },
  {
    method: "get", path: "/api/v1/apis/{id}/keys", operationId: "listApiKeys", tag: "APIs", operation: "apis.keys.list",
    summary: "List an API's keys",
    description: "The keys issued for this API, newest first, filtered by `identityId`, `externalId` (the identity with your own id), `status` and `q` (name). Cursor pagination, as `GET /api/v1/keys`.",
    query: listApiKeysQuery,
    success: { status: 200, description: "A page of keys", schema: "ApiKeyList" },
    errors: ["validation_failed", "not_found"],
  },
  {
    method: "post", path: "/api/v1/apis/{id}/keys", operationId: "createApiKey", tag: "APIs", operation: "apis.keys.create",
    summary: "Issue a key for an API",
    description: "A key for one of your customers: `<prefix>_…`, 64 characters, shown in this response only. `externalId` names the customer by your own id (their identity is created on first use); or give `identityId`, not both. `permissions` are names of the API's vocabulary or wildcards over it (`orders.*`, `*`). Unset settings come from the API's defaults; `expiresAt` or `expiresInDays`, not both, and never past the API's maximum TTL. Manage the key afterwards through `/api/v1/keys/{id}`.",
    body: "CreateIssuedKeyRequest",
    success: { status: 201, description: "The new key and its public view", schema: "CreatedKey" },
    errors: [...BODY_ERRORS, "not_found", "invalid_state", "policy_violation"],
  },
  {
    method: "get", path: "/api/v1/apis/{id}/usage", operationId: "getApiUsage", tag: "Usage", operation: "apis.usage",
    summary: "An API's verifications over time",
    description: `${VERIFICATION_USAGE} \`topKeys\` and \`topIdentities\` list the most verified keys and identities of the range with their refusals, \`topKeysByRefusals\` and \`topIdentitiesByRefusals\` the most refused (up to 10 each). \`keysNearCreditEnd\` lists the live keys with credits that have ${LOW_CREDITS_TEXT}, now. Same visibility as the API.`,
    query: usageSeriesInput,
    success: { status: 200, description: "The series by outcome, its totals and the top keys", schema: "ApiVerificationUsage" },
    errors: ["validation_failed", "not_found"],
  },
  {
    method: "get", path: "/api/v1/identities", operationId: "listIdentities", tag: "Identities", operation: "identities.list",
    summary: "List identities",
    description: "Identities of the APIs the caller may see, newest first, filtered by `apiId`, `externalId` (exactly; at most one per API) or `q` (part of the externalId). Always a list, even with `externalId`: no match is an empty page, not 404. Cursor pagination.",
    query: listIdentitiesQuery,
    success: { status: 200, description: "A page of identities", schema: "IdentityList" },
    errors: ["validation_failed"],
  },
  {
    method: "post", path: "/api/v1/identities", operationId: "createIdentity", tag: "Identities", operation: "identities.create",
    summary: "Create an identity",
    description: "A customer of one API, by your own `externalId` (unique within the API: 409 when taken). Issuing a key with a new `externalId` creates one too.",
    body: "CreateIdentityRequest",
    success: { status: 201, description: "The new identity", schema: "Identity" },
    errors: [...BODY_ERRORS, "not_found", "conflict", "invalid_state", "policy_violation"],
  },
  {
    method: "patch", path: "/api/v1/identities", operationId: "updateIdentityByExternalId", tag: "Identities", operation: "identities.update",
    summary: "Update an identity by externalId",
    description: `As \`PATCH /api/v1/identities/{id}\`. ${IDENTITY_BY_EXTERNAL_ID}`,
    query: identityByExternalIdQuery,
    body: "UpdateIdentityRequest",
    success: { status: 200, description: "The identity after the change", schema: "Identity" },
    errors: [...BODY_ERRORS, "not_found", "conflict", "policy_violation"],
  },
  {
    method: "delete", path: "/api/v1/identities", operationId: "deleteIdentityByExternalId", tag: "Identities", operation: "identities.delete",
    summary: "Delete an identity by externalId",
    description: `As \`DELETE /api/v1/identities/{id}\`. ${IDENTITY_BY_EXTERNAL_ID}`,
    query: identityByExternalIdQuery,
    success: { status: 200, description: "What was deleted", schema: "DeletedIdentity" },
    errors: ["validation_failed", "not_found", "conflict"],
  },
  {
    method: "get", path: "/api/v1/identities/{id}", operationId: "getIdentity", tag: "Identities", operation: "identities.get",
    summary: "Get an identity", description: "With its key counts. An identity of an API the caller may not see is 404. Its keys: `GET /api/v1/keys?identityId=`.",
    success: { status: 200, description: "The identity", schema: "Identity" },
    errors: ["not_found"],
  },
  {
    method: "patch", path: "/api/v1/identities/{id}", operationId: "updateIdentity", tag: "Identities", operation: "identities.update",
    summary: "Update an identity", description: "Change its `externalId` (409 when the API has another identity with it) or replace its `meta`.",
    body: "UpdateIdentityRequest",
    success: { status: 200, description: "The identity after the change", schema: "Identity" },
    errors: [...BODY_ERRORS, "not_found", "conflict", "policy_violation"],
  },
  {
    method: "delete", path: "/api/v1/identities/{id}", operationId: "deleteIdentity", tag: "Identities", operation: "identities.delete",
    summary: "Delete an identity",
    description: "Refused with 409 `conflict` while it has live keys (revoke them with `revoke-keys` first). Its revoked and expired keys stay, no longer naming it.",
    success: { status: 200, description: "What was deleted", schema: "DeletedIdentity" },
    errors: ["not_found", "conflict"],
  },
  {
    method: "post", path: "/api/v1/identities/{id}/revoke-keys", operationId: "revokeIdentityKeys", tag: "Identities", operation: "identities.revokeKeys",
    summary: "Revoke all of an identity's keys",
    description: "Every key of the identity not yet revoked, in one transaction: all or none. Audited as one `identity.keys_revoked` entry with the count and the key ids.",
    success: { status: 200, description: "The keys revoked", schema: "IdentityKeysChange" },
    errors: ["not_found"],
  },
  {
    method: "post", path: "/api/v1/identities/{id}/disable-keys", operationId: "disableIdentityKeys", tag: "Identities", operation: "identities.disableKeys",
    summary: "Disable all of an identity's keys",
    description: "Every live, enabled key of the identity, in one transaction: all or none. Audited as one `identity.keys_disabled` entry with the count and the key ids. Each key can be enabled again with `PATCH /api/v1/keys/{id}`.",
    success: { status: 200, description: "The keys disabled", schema: "IdentityKeysChange" },
    errors: ["not_found"],
  },
  {
    method: "get", path: "/api/v1/identities/{id}/usage", operationId: "getIdentityUsage", tag: "Usage", operation: "identities.usage",
    summary: "An identity's verifications over time",
    description: `${VERIFICATION_USAGE} All of the identity's keys together. Same visibility as the identity.`,
    query: usageSeriesInput,
    success: { status: 200, description: "The series by outcome and its totals", schema: "VerificationUsage" },
    errors: ["validation_failed", "not_found"],
  },
  {
    method: "post", path: "/api/v1/verify", operationId: "verifyKey", tag: "Verification", operation: "verify",
    summary: "Verify a key",
    description:
      "For services that protect their own APIs with keys issued for them: send the key your caller presented, and optionally `apiId` (your API: a key of another one is `WRONG_API`), the `permissions` the request needs (a list that must all be held, or `{ anyOf: [...] }`; wildcard grants such as `orders.*` match) and your caller's `ip`. " +
      "A key with credits pays `cost` (default 1; 0 checks without charging) when every other check passed, atomically; with fewer left it is `USAGE_EXCEEDED` and nothing is taken. Every verdict on a key you manage carries `credits` (`{ remaining }` after this verification, null for a key without credits). " +
      "Rate limits are named, on the key and on its identity (shared by all its keys): `ratelimits: [{ name, cost? }]` picks which apply and at what cost (default: every limit of the key and of its identity, cost 1; a key limit and an identity limit of the same name both apply; a name neither has is ignored). Every limit applied counts the request; if one has too little left the answer is `RATE_LIMITED` with `ratelimit` naming the first that refused, and no credits are taken. Every verdict on a key you manage carries `ratelimits: [{ name, limit, remaining, resetAt }]` for the limits applied (empty when refused before the rate limits). " +
      "Always 200 for a well-formed request; the answer is in `valid` and `code`. Unknown keys, root keys and keys of an API the calling root key may not see are all the same bare `INVALID`: verification never tells anything about keys the caller may not manage. " +
      "The key in the Authorization header is your service's root key and is checked as usual.",
    body: "VerifyRequest",
    success: { status: 200, description: "The verdict", schema: "VerifyResult" },
    errors: BODY_ERRORS,
  },
  {
    method: "post", path: "/api/v1/verify/report", operationId: "reportVerifications", tag: "Verification", operation: "verify.report",
    summary: "Report requests admitted on a cached verdict",
    description:
      "For a guard that caches verdicts (the SDK's `keywardGuard`): the requests it admitted on a cached VALID verdict, without calling `POST /api/v1/verify`, by key, caller `ip` and time, with a `count`. " +
      "Each admission is recorded exactly as a VALID verification of its key: counted per minute for the key, its API and its identity, one line in the key's request log (path `/api/v1/verify/report`), and the key's last use and request count moved. " +
      "A guard caches only verdicts of keys without credits and without rate limits, so these reports never bypass a limit or a charge (ADR 21). " +
      "Only keys issued for APIs the calling root key may manage: if any `keyId` is unknown, a root key, or another owner's key, the whole report is refused (404 `not_found`) and nothing is recorded. " +
      "Times later than now are taken as now, earlier than 24 hours ago as 24 hours ago.",
    body: "VerificationReport",
    success: { status: 200, description: "How many admissions were recorded", schema: "ReportedVerifications" },
    errors: [...BODY_ERRORS, "not_found"],
  },
  {
    method: "get", path: "/api/v1/keys/{id}/usage", operationId: "getKeyUsage", tag: "Usage", operation: "keys.usage",
    summary: "A key's usage over time",
    description: "Requests, successes, denials (401/403 caused by the key), rate-limited and server errors per minute, hour or day. Defaults to the last 24 hours by hour; minute granularity is limited to 90 days. For a key issued for an API, `verifications` counts its verifications by outcome over the same buckets. Same visibility as the key.",
    query: usageSeriesInput,
    success: { status: 200, description: "The series and its totals", schema: "UsageSeries" },
    errors: ["validation_failed", "not_found"],
  },
  {
    method: "get", path: "/api/v1/keys/{id}/requests", operationId: "listKeyRequests", tag: "Usage", operation: "keys.requests",
    summary: "A key's recent requests", description: "The request log, newest first, with cursor pagination (kept 14 days by default). A verification of an issued key is one entry (`POST /api/v1/verify`) with its `outcome`, the caller's `tags` and `ip` (`clientIp`), and the root key that asked (`rootKeyId`).",
    query: requestLogInput,
    success: { status: 200, description: "A page of requests", schema: "RequestLogPage" },
    errors: ["validation_failed", "not_found"],
  },
  {
    method: "get", path: "/api/v1/usage/summary", operationId: "getUsageSummary", tag: "Usage", operation: "usage.summary",
    summary: "Usage across all keys", description: "Totals and the busiest keys over a range (default: the last 24 hours).",
    query: usageSummaryInput,
    success: { status: 200, description: "Totals and top keys", schema: "UsageSummary" },
    errors: ["validation_failed"],
  },
  {
    method: "get", path: "/api/v1/events", operationId: "streamEvents", tag: "Keys", operation: "events.stream",
    summary: "Live changes (Server-Sent Events)",
    description:
      "A `text/event-stream` that stays open. Each message's `data` is one JSON event with ids only: `{\"type\":\"key.changed\",\"keyId\"}` (a key was changed, disabled, enabled, rotated or revoked: drop cached verifications of it) and `{\"type\":\"usage.flushed\",\"keyIds\"}` (new usage was written). " +
      "Without the admin scope only events about the key owner's own keys (and `user.changed` for the owner) are sent; with it, every event, including types added later (treat unknown `type`s as \"something changed\"). " +
      "A comment line is sent every 15 s as a heartbeat, and `retry: 2000` tells EventSource when to come back. The stream ends when the calling key stops being valid (revoked, disabled, expired, owner disabled); reconnecting then answers 401. " +
      "It also ends at its maximum age (`KEYWARD_EVENT_STREAM_MAX_AGE_SECONDS`, one hour by default) after a `retry:` hint: reconnect, as after any end. A key may hold `KEYWARD_MAX_EVENT_STREAMS` streams open at once per server instance (10 by default); past it, 429 `too_many_requests`.",
    success: { status: 200, description: "The event stream", contentType: "text/event-stream" },
    errors: ["too_many_requests"],
  },
  {
    method: "get", path: "/api/v1/audit", operationId: "listAuditEntries", tag: "Audit", operation: "audit.list",
    summary: "The audit trail",
    description: "Every management action from every surface (dashboard, tRPC, REST, CLI), newest first, with its actor, target, client address and request id. `action` takes an exact action (`key.revoked`) or a family (`key.*`); `actorId` matches a user or the key it acted through. Entries are append-only: there is no way to change or delete one.",
    query: auditListInput,
    success: { status: 200, description: "A page of entries", schema: "AuditPage" },
    errors: ["validation_failed"],
  },
  {
    method: "get", path: "/api/v1/audit/export", operationId: "exportAuditEntries", tag: "Audit", operation: "audit.export",
    summary: "Export the audit trail",
    description: "The entries matching the same filters as `listAuditEntries`, streamed as a download: `format=ndjson` (one JSON entry per line, the default) or `format=csv` (RFC 4180; cells that a spreadsheet would run as a formula are prefixed with `'`).",
    query: auditExportInput,
    success: {
      status: 200,
      description: "The entries, newest first: NDJSON (`format=ndjson`, the default) or CSV (`format=csv`)",
      contentType: "application/x-ndjson",
      alternatives: {
        "text/csv": { type: "string", description: "RFC 4180, a header line then one entry per line" },
      },
    },
    errors: ["validation_failed"],
  },
  {
    method: "get", path: "/api/v1/security-events", operationId: "listSecurityEvents", tag: "Security", operation: "security.events",
    summary: "List security events",
    description: "Refused keys, keys in URLs, denied addresses, missing scopes, rate limiting, failed sign-ins, reveals, admin sign-ins from new addresses…, newest first. High-volume kinds are one row per minute per (kind, key, client address) with a `count`. Filter by `kind`, `keyId`, `severity`, `from` (inclusive), `to` (exclusive); cursor pagination.",
    query: securityEventsInput,
    success: { status: 200, description: "A page of security events", schema: "SecurityEventPage" },
    errors: ["validation_failed"],
  },
  {
    method: "get", path: "/api/v1/alerts", operationId: "listAlerts", tag: "Security", operation: "security.alerts",
    summary: "List alerts",
    description: "Alerts opened by the alert rules, newest first (by first firing). `status`: open, acknowledged, resolved, or unresolved (open or acknowledged). A rule firing again bumps the unresolved alert's `count` and `lastFiredAt`. Cursor pagination.",
    query: alertListInput,
    success: { status: 200, description: "A page of alerts", schema: "AlertPage" },
    errors: ["validation_failed"],
  },
  {
    method: "post", path: "/api/v1/alerts/{id}/ack", operationId: "acknowledgeAlert", tag: "Security", operation: "security.ack",
    summary: "Acknowledge an alert", description: "Records who acknowledged it and when (and an `alert.acknowledged` audit entry). Idempotent; a resolved alert cannot be acknowledged.",
    success: { status: 200, description: "The alert after the change", schema: "Alert" },
    errors: ["not_found", "invalid_state"],
  },
  {
    method: "post", path: "/api/v1/alerts/{id}/resolve", operationId: "resolveAlert", tag: "Security", operation: "security.resolve",
    summary: "Resolve an alert", description: "Records who resolved it and when (and an `alert.resolved` audit entry). Idempotent. If the rule fires again afterwards, a new alert opens.",
    success: { status: 200, description: "The alert after the change", schema: "Alert" },
    errors: ["not_found"],
  },
  {
    method: "get", path: "/api/v1/openapi.json", operationId: "getOpenApi", tag: "Meta", operation: null,
    summary: "This document", description: "The OpenAPI 3.1 document of this API, the one the API reference at `/docs/api` is rendered from. Like every route under `/api/v1`, it refuses a key in the URL (400 `credentials_in_url`).",
    success: { status: 200, description: "OpenAPI 3.1 document", schema: "OpenApiDocument" },
    errors: ["credentials_in_url", ...DATABASE_ERRORS],
  },
  {
    method: "get", path: "/api/health", operationId: "getHealth", tag: "Meta", operation: null,
    summary: "Liveness", description: "The process answers.", success: { status: 200, description: "`{ status: \"ok\" }`", schema: "Health" }, plain: true,
  },
  {
    method: "get", path: "/api/ready", operationId: "getReady", tag: "Meta", operation: null,
    summary: "Readiness", description: "The database answers: 200, else 503 with Retry-After.",
    success: { status: 200, description: "`{ status: \"ready\", database }`", schema: "Ready" }, plain: true,
    extraResponses: { "503": { description: "The database does not answer: `{ status: \"unavailable\", database }`; retry after `Retry-After` seconds", schema: "Ready", headers: ["Retry-After"] } },
  },
];

/** Bodies that must be sent: the others may be empty (`{}`), every field being optional. */
const REQUIRED_BODIES = new Set<SchemaName>(["CreateKeyRequest", "VerifyRequest", "CreateApiRequest", "CreateIdentityRequest"]);

function jsonSchema(schema: ZodType): JsonSchema {
  return tidy(z.toJSONSchema(schema, { io: "input", unrepresentable: "any" }) as JsonSchema);
}

/** Drops what only clutters the document: `$schema`/`$id` headers and the long regex zod adds beside `format: date-time`. */
function tidy(schema: JsonSchema): JsonSchema {
  const { $schema: _schema, $id: _id, ...rest } = schema;
  if (rest.format === "date-time") delete rest.pattern;
  // zod bounds `.int()` to the safe integers: int64 says what width a client needs, int32 when the bounds fit it.
  if (rest.type === "integer" && rest.format === undefined) {
    const fits32 = typeof rest.minimum === "number" && typeof rest.maximum === "number" && rest.minimum >= -(2 ** 31) && rest.maximum < 2 ** 31;
    rest.format = fits32 ? "int32" : "int64";
  }
  for (const [key, value] of Object.entries(rest)) {
    if (Array.isArray(value)) rest[key] = value.map((item) => (isObject(item) ? tidy(item) : item));
    else if (isObject(value)) rest[key] = key === "properties" || key === "$defs" ? mapValues(value, tidy) : tidy(value);
  }
  return rest;
}

const isObject = (value: unknown): value is JsonSchema => typeof value === "object" && value !== null && !Array.isArray(value);
const mapValues = (object: JsonSchema, fn: (value: JsonSchema) => JsonSchema) =>
  Object.fromEntries(Object.entries(object).map(([key, value]) => [key, isObject(value) ? fn(value) : value]));

function componentSchemas(): Record<string, JsonSchema> {
  const registry = z.registry<{ id: string }>();
  for (const [id, schema] of Object.entries(SCHEMAS)) registry.add(schema, { id });
  const { schemas } = z.toJSONSchema(registry, { io: "input", unrepresentable: "any", uri: (id) => `#/components/schemas/${id}` });
  return mapValues(schemas as JsonSchema, (schema) => defaultsInProse(tidy(schema))) as Record<string, JsonSchema>;
}

/**
 * A field with a `default` is optional in a request (zod's `.default()` leaves it out of `required`),
 * but generators such as openapi-typescript type any property with a `default` as always present,
 * so callers would have to send it. The default is therefore said in the description instead.
 */
function defaultsInProse(schema: JsonSchema): JsonSchema {
  const { default: fallback, ...rest } = schema;
  if (fallback !== undefined) {
    rest.description = `${rest.description ? `${String(rest.description).replace(/\.?$/, ".")} ` : ""}Default: \`${JSON.stringify(fallback)}\`.`;
  }
  for (const [key, value] of Object.entries(rest)) {
    if (Array.isArray(value)) rest[key] = value.map((item) => (isObject(item) ? defaultsInProse(item) : item));
    else if (isObject(value)) rest[key] = key === "properties" || key === "$defs" ? mapValues(value, defaultsInProse) : defaultsInProse(value);
  }
  return rest;
}

const ref = (name: SchemaName) => ({ $ref: `#/components/schemas/${name}` });
const headerRef = (name: string) => ({ $ref: `#/components/headers/${name}` });

/** Response headers, declared once (components.headers) and referenced by every response that carries them. */
const HEADERS: Record<string, JsonSchema> = {
  "X-Request-Id": {
    description: "The request's id (the client's own `X-Request-Id` when it sent a sane one); every response carries it and every problem quotes it as `requestId`.",
    required: true,
    schema: { type: "string", maxLength: 128 },
    example: "0b7c2f4e-61a8-4d6a-9a51-2f1c4ab7d3e9",
  },
  "RateLimit-Limit": {
    description: "The calling key's request budget per window (the key's own rate limit, or the server's default). Sent on every answer once the key was identified and counted.",
    schema: { type: "string", pattern: "^[0-9]+$" },
    example: "600",
  },
  "RateLimit-Remaining": {
    description: "Requests left in the current window.",
    schema: { type: "string", pattern: "^[0-9]+$" },
    example: "599",
  },
  "RateLimit-Reset": {
    description: "Seconds until the window resets.",
    schema: { type: "string", pattern: "^[0-9]+$" },
    example: "42",
  },
  "Retry-After": {
    description: "Seconds to wait before retrying (RFC 9110).",
    required: true,
    schema: { type: "string", pattern: "^[0-9]+$" },
    example: "5",
  },
  "WWW-Authenticate": {
    description: '`Bearer realm="keyward"`, with `error="invalid_token"` when a key was sent and refused.',
    required: true,
    schema: { type: "string" },
    example: 'Bearer realm="keyward", error="invalid_token"',
  },
  Allow: {
    description: "The methods this path takes (RFC 9110).",
    required: true,
    schema: { type: "string" },
    example: "GET, HEAD, POST",
  },
};

const RATE_LIMIT_HEADERS = ["RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"];

/**
 * The headers of one response. `required: true` on a reference cannot be overridden in OpenAPI, so
 * the RateLimit ones, sent on every answer once the key passed admission, come in two versions: the
 * components (optional, for refusals that may come before it) and a required copy for successes.
 */
function headersOf(names: readonly string[], options: { rateLimit?: "required" | "optional" } = {}): Record<string, unknown> {
  const headers: Record<string, unknown> = { "X-Request-Id": headerRef("X-Request-Id") };
  for (const name of RATE_LIMIT_HEADERS) {
    if (options.rateLimit === "required") headers[name] = { ...HEADERS[name], required: true };
    else if (options.rateLimit === "optional") headers[name] = headerRef(name);
  }
  for (const name of names) headers[name] = headerRef(name);
  return headers;
}

/** A problem example for a status: the first code it can carry. */
function problemExample(code: ProblemCode): Record<string, unknown> {
  return {
    type: problemType(code),
    title: PROBLEM_TITLES[code],
    status: PROBLEM_STATUS[code],
    detail: PROBLEM_EXAMPLE_DETAILS[code] ?? ERROR_DESCRIPTIONS[code as RestProblemCode] ?? PROBLEM_TITLES[code],
    code,
    requestId: "0b7c2f4e-61a8-4d6a-9a51-2f1c4ab7d3e9",
    ...(code === "validation_failed" ? { errors: [{ field: "name", message: "Too small: expected string to have >=1 characters" }] } : {}),
    ...(code === "insufficient_scope" ? { requiredScope: "write" } : {}),
  };
}

const PROBLEM_EXAMPLE_DETAILS: Partial<Record<ProblemCode, string>> = {
  not_found: "Key not found",
  missing_credentials: "Send your API key in the Authorization header (Bearer <key>) or in X-API-Key",
  rate_limited: "This key has used up its request budget for now; retry after the time in Retry-After",
  service_unavailable: "The database is not answering right now; retry after the time in Retry-After",
};

function errorResponses(codes: readonly ProblemCode[], authenticated: boolean): Record<string, unknown> {
  const byStatus = new Map<number, ProblemCode[]>();
  for (const code of codes) byStatus.set(PROBLEM_STATUS[code], [...(byStatus.get(PROBLEM_STATUS[code]) ?? []), code]);
  return Object.fromEntries(
    [...byStatus].sort(([a], [b]) => a - b).map(([status, list]) => {
      const extra = status === 401 ? ["WWW-Authenticate"] : status === 429 || status === 503 ? ["Retry-After"] : status === 405 ? ["Allow"] : [];
      return [
        String(status),
        {
          description: `${list.map((code) => `\`${code}\``).join(", ")}.${status === 405 ? " Any method this path does not take; `Allow` lists those it does." : ""}`,
          headers: headersOf(extra, { rateLimit: authenticated ? "optional" : undefined }),
          content: { "application/problem+json": { schema: ref("Problem"), example: problemExample(list[0]!) } },
          "x-codes": list,
        },
      ];
    }),
  );
}

/** zod's `stringbool()` reads as a bare string; it takes exactly these words (case-insensitive), so the document lists them. */
const STRINGBOOL_WORDS = ["true", "false", "1", "0", "yes", "no", "on", "off", "y", "n", "enabled", "disabled"];
function booleanText(schema: ZodType, described: JsonSchema): JsonSchema {
  const isStringBool = described.type === "string" && schema.safeParse("yes").success && schema.safeParse("off").success && !schema.safeParse("maybe").success;
  return isStringBool ? { ...described, enum: STRINGBOOL_WORDS } : described;
}

function operationObject(op: Endpoint): Record<string, unknown> {
  const scope = op.operation ? scopeOf(op.operation) : null;
  const codes = [
    ...new Set([
      ...(scope ? AUTH_ERRORS : []),
      ...(op.body ? BODY_ERRORS : []),
      ...(op.errors ?? []),
      ...(scope ? DATABASE_ERRORS : []),
      ...(op.plain ? [] : (["method_not_allowed"] as const)),
    ]),
  ];
  const idParameter = op.path.includes("{id}") ? ID_PARAMETERS.find(([prefix]) => op.path.startsWith(prefix))![1] : null;
  const parameters = [
    ...(idParameter ? [idParameter] : []),
    ...(op.query
      ? Object.entries(op.query.shape).map(([name, schema]) => {
          const described = booleanText(schema as ZodType, jsonSchema(schema as ZodType));
          // Required when absence does not parse (no default, not optional).
          const required = !(schema as ZodType).safeParse(undefined).success;
          return { name, in: "query", required, description: described.description ?? `The \`${name}\` filter`, schema: described };
        })
      : []),
  ];
  const successHeaders = headersOf([], { rateLimit: scope ? "required" : undefined });
  const success = op.success.schema
    ? {
        description: op.success.description,
        headers: successHeaders,
        content: {
          "application/json": {
            schema: ref(op.success.schema),
            example: op.success.schema === "OpenApiDocument" ? { openapi: "3.1.0", info: { title: "Keyward API", version: "1.0.0" }, paths: { "/api/v1/me": { get: { operationId: "getMe" } } } } : exampleOf("response", op.operationId),
          },
        },
      }
    : {
        description: op.success.description,
        headers: successHeaders,
        content: {
          [op.success.contentType ?? "application/json"]: { schema: { type: "string" }, example: STREAM_EXAMPLES[`${op.operationId} ${op.success.contentType ?? "application/json"}`] },
          ...Object.fromEntries(Object.entries(op.success.alternatives ?? {}).map(([type, schema]) => [type, { schema, example: STREAM_EXAMPLES[`${op.operationId} ${type}`] }])),
        },
      };
  const extra = Object.fromEntries(
    Object.entries(op.extraResponses ?? {}).map(([status, response]) => [
      status,
      {
        description: response.description,
        headers: headersOf(response.headers),
        content: { "application/json": { schema: ref(response.schema), example: exampleOf("response", `${op.operationId} ${status}`) } },
      },
    ]),
  );
  return {
    operationId: op.operationId,
    summary: op.summary,
    description: [
      op.description,
      scope ? `Requires the \`${scope}\` scope (operation \`${op.operation}\`) and a root key.` : "Public: no key needed.",
      op.method === "get" && !op.success.contentType ? "`HEAD` answers the same status and headers, without the body." : null,
    ]
      .filter(Boolean)
      .join("\n\n"),
    tags: [op.tag],
    ...(scope ? { "x-keyward-scope": scope, "x-keyward-operation": op.operation } : { security: [] }),
    ...(parameters.length > 0 ? { parameters } : {}),
    ...(op.body
      ? {
          requestBody: {
            required: REQUIRED_BODIES.has(op.body),
            description: "JSON, sent with `Content-Type: application/json` (or another `+json` type); any other type, or none with a body, is 415 `unsupported_media_type`.",
            content: { "application/json": { schema: ref(op.body), example: exampleOf("request", op.operationId) } },
          },
        }
      : {}),
    responses: { [String(op.success.status)]: success, ...extra, ...errorResponses(codes, scope !== null) },
  };
}

// Idempotency keys (docs/decisions/0023-idempotency-keys.md): one self-contained addition to the document.

/** The operations that honour `Idempotency-Key` (app/lib/idempotency.server.ts wraps their handlers). */
export const IDEMPOTENT_OPERATION_IDS = ["createKey", "rotateKey", "createApi", "createApiKey", "createIdentity", "revokeIdentityKeys", "disableIdentityKeys", "acknowledgeAlert", "resolveAlert", "createUser", "resetUserPassword"] as const;
const IDEMPOTENCY_ERRORS: ProblemCode[] = ["invalid_idempotency_key", "idempotency_key_in_use", "idempotency_key_reused"];

/** Adds the `IdempotencyKey` parameter, the `Idempotent-Replayed` header and the three refusals to each idempotent operation. */
function addIdempotency(document: { paths: Record<string, Record<string, Record<string, unknown>>>; components: Record<string, unknown> }): void {
  document.components.parameters = {
    ...(document.components.parameters as object | undefined),
    IdempotencyKey: {
      name: "Idempotency-Key",
      in: "header",
      required: false,
      description:
        "Makes the request safe to retry (Stripe's semantics): the first answer (2xx or 4xx, a created key's plaintext included, stored encrypted) is replayed for 24 hours to the same user sending the same key with the same method, path and JSON body, with `Idempotent-Replayed: true`. The same key with another request: 422 `idempotency_key_reused`; while the first is still running: 409 `idempotency_key_in_use`. A 5xx is not stored. A random UUID per logical request is a good key.",
      schema: { type: "string", minLength: 1, maxLength: 255, pattern: "^[\\x20-\\x7E]+$" },
      example: "3f0c1b2e-8a4d-4c4e-9b8f-1f2a3b4c5d6e",
    },
  };
  document.components.headers = {
    ...(document.components.headers as object | undefined),
    IdempotentReplayed: { description: "`true` when this is the stored answer to an earlier request with the same `Idempotency-Key`; absent otherwise", schema: { type: "string", enum: ["true"] } },
  };
  const wanted = new Set<string>(IDEMPOTENT_OPERATION_IDS);
  for (const item of Object.values(document.paths)) {
    for (const operation of Object.values(item)) {
      if (!wanted.has(operation.operationId as string)) continue;
      operation.parameters = [...((operation.parameters as unknown[] | undefined) ?? []), { $ref: "#/components/parameters/IdempotencyKey" }];
      const responses = operation.responses as Record<string, Record<string, unknown>>;
      for (const [status, response] of Object.entries(responses)) {
        // A replay can answer any stored 2xx or 4xx.
        if (/^[24]/.test(status)) response.headers = { ...(response.headers as object | undefined), "Idempotent-Replayed": { $ref: "#/components/headers/IdempotentReplayed" } };
      }
      for (const [status, added] of Object.entries(errorResponses(IDEMPOTENCY_ERRORS, true)) as [string, Record<string, unknown>][]) {
        const existing = responses[status];
        if (!existing) responses[status] = { ...added, headers: { ...(added.headers as object), "Idempotent-Replayed": { $ref: "#/components/headers/IdempotentReplayed" } } };
        else {
          const codes = [...(existing["x-codes"] as ProblemCode[]), ...(added["x-codes"] as ProblemCode[])];
          responses[status] = { ...existing, description: codes.map((code) => `\`${code}\``).join(", "), "x-codes": codes };
        }
      }
    }
  }
}

/** Builds the component schemas, with `Problem.code` tied to the one enum of codes and `VerifyResult` as a union on `valid`. */
function schemas(): Record<string, JsonSchema> {
  const all = componentSchemas();
  const problem = all.Problem!;
  const properties = problem.properties as Record<string, JsonSchema>;
  properties.code = { $ref: "#/components/schemas/ProblemCode", description: properties.code!.description };
  problem.required = ["type", "title", "status", "detail", "code", "requestId"];
  all.ProblemCode = {
    type: "string",
    enum: REST_CODES,
    description: "Every code a REST answer can carry; each is explained at `/docs/api#error-<code>`, where `type` points.",
  };
  all.VerifyResult = verifyResultUnion(all.VerifyResult!);
  return Object.fromEntries(Object.entries(all).sort(([a], [b]) => a.localeCompare(b)));
}

/**
 * zod emits the verdict as `anyOf` over five variants. For generated clients it is a `oneOf` in two
 * branches discriminated by `valid`: `true` (code VALID, the key's details required) and `false`
 * (a refusal, with its `code`); the five variants stay inside the `false` branch.
 */
function verifyResultUnion(schema: JsonSchema): JsonSchema {
  const variants = schema.anyOf as JsonSchema[];
  const validOnes = variants.filter((variant) => (variant.properties as Record<string, JsonSchema>).valid!.const === true);
  const refused = variants.filter((variant) => (variant.properties as Record<string, JsonSchema>).valid!.const === false);
  return {
    description: schema.description,
    oneOf: [
      { ...validOnes[0]!, title: "VerifiedKey" },
      { title: "RefusedKey", description: "A refusal: `code` says why", anyOf: refused },
    ],
  };
}

const SECURITY_SCHEMES = {
  bearerAuth: { type: "http", scheme: "bearer", description: "`Authorization: Bearer kw_…`" },
  apiKeyHeader: { type: "apiKey", in: "header", name: "X-API-Key", description: "`X-API-Key: kw_…`, for clients that cannot set Authorization" },
};

let cached: Record<string, unknown> | undefined;

/** Built once per process: it depends on code only. */
export function openApiDocument(): Record<string, unknown> {
  if (cached) return cached;
  const paths: Record<string, Record<string, unknown>> = {};
  for (const op of ENDPOINTS) {
    const operation = operationObject(op);
    (paths[op.path] ??= {})[op.method] = operation;
  }
  cached = {
    openapi: "3.1.0",
    info: {
      title: "Keyward API",
      version: "1.0.0",
      description:
        "Protect your APIs with keys Keyward issues for them, and manage those keys, APIs and identities. Authenticate with a root key (`kw_…`) in `Authorization: Bearer <key>` (or `X-API-Key: <key>`); a key is never accepted in a URL, and keys issued for your APIs never authenticate here (403 `not_a_root_key`): they are checked with `POST /api/v1/verify`. " +
        "Errors are RFC 9457 problem details (`application/problem+json`) with a stable `code` (the `ProblemCode` enum) and the request id, which every response also carries in `X-Request-Id`. " +
        "Every answer to an identified key carries its rate limit in `RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset`; 429 and 503 carry `Retry-After`. " +
        "Request bodies are JSON and must say so (`Content-Type: application/json`): anything else is 415. Every GET also answers HEAD; any other method a path does not take is 405 with `Allow`. " +
        "Scopes are hierarchical (admin ⊇ write ⊇ read) and a key's effective scopes never exceed what its owner's role allows today.",
      // The repository declares no license yet (package.json is private, no LICENSE file): the
      // document says so rather than invent one; set both when the project chooses.
      contact: { name: "The operators of this Keyward instance" },
      license: { name: "UNLICENSED: no license has been chosen yet" },
    },
    servers: [{ url: "/", description: "This Keyward instance (production, staging or local: wherever this document is served from)", "x-internal": false }],
    tags: [
      { name: "Keys", description: "Create, list, change, rotate and revoke keys: root keys, and keys issued for your APIs" },
      { name: "APIs", description: "The services you protect, each with its own key prefix, permission vocabulary and key defaults" },
      { name: "Identities", description: "Your customers, by your own externalId: their keys, and revoking or disabling them all at once" },
      { name: "Verification", description: "Check keys your own service receives" },
      { name: "Usage", description: "Per-key counters and the request log" },
      { name: "Audit", description: "The append-only trail of every management action, and its export" },
      { name: "Security", description: "Security events and the alerts the alert rules open from them" },
      { name: "Users", description: "The people who sign in to the dashboard and own root keys (admin root keys only)" },
      { name: "Meta", description: "Health, readiness and this document" },
    ],
    security: [{ bearerAuth: [] }, { apiKeyHeader: [] }],
    paths,
    webhooks: {
      alertOpened: {
        post: {
          operationId: "alertOpened",
          summary: "An alert opened",
          description:
            "Sent to `KEYWARD_ALERT_WEBHOOK_URL` when an alert rule opens an alert, with `User-Agent: Keyward-Webhooks/1`, retried with backoff until the receiver answers 2xx. " +
            "`Keyward-Signature: t=<unix seconds>,v1=<hex HMAC-SHA-256 of \"<t>.<raw body>\" under KEYWARD_ALERT_WEBHOOK_SECRET>`: recompute it over the raw body, compare in constant time, and refuse a `t` too far from now (replays). Several `v1=` may be sent while a secret is rotated; any one matching is enough.",
          tags: ["Security"],
          security: [],
          parameters: [
            {
              name: "Keyward-Signature",
              in: "header",
              required: true,
              description: "`t=<unix seconds>,v1=<hex HMAC-SHA-256>` of `<t>.<raw body>`",
              schema: { type: "string", pattern: "^t=[0-9]+(,v1=[0-9a-f]{64})+$" },
              example: "t=1796327700,v1=5f0c3a1e9d7b2c4a6e8f0a1b3c5d7e9f1a2b3c4d5e6f708192a3b4c5d6e7f809",
            },
          ],
          requestBody: {
            required: true,
            content: { "application/json": { schema: ref("AlertWebhookPayload"), example: exampleOf("response", "alertOpened") } },
          },
          responses: {
            "200": { description: "Received; any 2xx ends the retries" },
            default: { description: "Anything else (or no answer within the timeout) is retried" },
          },
        },
      },
    },
    components: {
      schemas: schemas(),
      headers: HEADERS,
      securitySchemes: SECURITY_SCHEMES,
    },
    "x-error-codes": REST_CODES.map((code) => ({
      code,
      status: PROBLEM_STATUS[code],
      title: PROBLEM_TITLES[code],
      description: ERROR_DESCRIPTIONS[code],
    })),
  };
  addIdempotency(cached as Parameters<typeof addIdempotency>[0]);
  return cached;
}

// Users: REST user management (admins' root keys), for `keyward users` in remote mode --------------
// One self-contained block: its own import (hoisted), schemas, the `{id}` parameter and the endpoints,
// registered before the document is first built (openApiDocument() builds lazily).
import { createUserBody, passwordResetSchema, resetPasswordBody, updateUserBody, userListSchema, userSchema } from "./api-schemas";

Object.assign(SCHEMAS, {
  User: userSchema,
  UserList: userListSchema,
  CreateUserRequest: createUserBody,
  UpdateUserRequest: updateUserBody,
  ResetPasswordRequest: resetPasswordBody,
  PasswordReset: passwordResetSchema,
});
REQUIRED_BODIES.add("CreateUserRequest");
REQUIRED_BODIES.add("UpdateUserRequest");
ID_PARAMETERS.push(["/api/v1/users/", idParameter("user", "usr")]);

const USERS_ADMIN_ONLY = "Admin only: the same user management as the dashboard's Users page, audited the same way (`user.*`), with the acting key recorded.";

ENDPOINTS.push(
  {
    method: "get", path: "/api/v1/users", operationId: "listUsers", tag: "Users", operation: "users.manage",
    summary: "List users", description: `Every user, by email (not paginated). Never a password. ${USERS_ADMIN_ONLY}`,
    success: { status: 200, description: "The users", schema: "UserList" },
  },
  {
    method: "post", path: "/api/v1/users", operationId: "createUser", tag: "Users", operation: "users.manage",
    summary: "Create a user", description: `A user who can sign in to the dashboard, with the password given (at least 10 characters). Audited as \`user.created\`. ${USERS_ADMIN_ONLY}`,
    body: "CreateUserRequest",
    success: { status: 201, description: "The new user", schema: "User" },
    errors: [...BODY_ERRORS, "conflict"],
  },
  {
    method: "get", path: "/api/v1/users/{id}", operationId: "getUser", tag: "Users", operation: "users.manage",
    summary: "Get a user", description: USERS_ADMIN_ONLY,
    success: { status: 200, description: "The user", schema: "User" },
    errors: ["not_found"],
  },
  {
    method: "patch", path: "/api/v1/users/{id}", operationId: "updateUser", tag: "Users", operation: "users.manage",
    summary: "Change a user's role or status",
    description: `\`role\` is applied first (\`user.role_changed\`), then \`disabled\` (\`user.disabled\`: their sessions end and their keys stop authenticating; \`user.enabled\`). Unchanged values change and record nothing. Keyward always keeps one active admin: demoting or disabling the last one is 409 \`invalid_state\`, as is disabling or demoting the key's own owner. ${USERS_ADMIN_ONLY}`,
    body: "UpdateUserRequest",
    success: { status: 200, description: "The user after the change", schema: "User" },
    errors: [...BODY_ERRORS, "not_found", "invalid_state"],
  },
  {
    method: "post", path: "/api/v1/users/{id}/reset-password", operationId: "resetUserPassword", tag: "Users", operation: "users.manage",
    summary: "Reset a user's password",
    description: `Replaces the password with the one given, or a generated one (24 characters) when \`password\` is omitted; the password is in this response only. Every session of the user ends. Audited as \`user.password_reset\` (never the password). Not for the key's own owner (409 \`invalid_state\`): one's own password is changed from the account page, with the current one. ${USERS_ADMIN_ONLY}`,
    body: "ResetPasswordRequest",
    success: { status: 200, description: "The user and the new password", schema: "PasswordReset" },
    errors: [...BODY_ERRORS, "not_found", "invalid_state"],
  },
);
