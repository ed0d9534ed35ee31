export type { CallOptions, KeywardClient, KeywardOptions, RouterInputs, RouterOutputs } from "./client";
// createKeyward and keywardEvents are client.ts's and events.ts's, reading KEYWARD_URL / KEYWARD_API_KEY for what the options leave out.
export { createKeyward, KEYWARD_API_KEY_ENV, KEYWARD_URL_ENV, keywardEvents, type CreateKeywardOptions, type KeywardEventsOptions } from "./env";
export {
  CLIENT_ERROR_CODES,
  isKeywardError,
  KeywardError,
  SERVER_ERROR_CODES,
  type ClientErrorCode,
  type KeywardErrorCode,
  type ServerErrorCode,
} from "./errors";
// The router's named types; any other is reachable through RouterInputs / RouterOutputs.
export type {
  ApiKeyView,
  AppRouter,
  ErrorShape,
  RateLimit,
  RequestLogEntry,
  UsageCounts,
  UsagePoint,
  UsageSeries,
  UsageSummary,
  UserView,
} from "./generated/router";
export type { EventStreamOptions, EventStreamState, KeywardEvent, KeywardEventStream } from "./events";
export { keywardGuard, type GuardOptions, type GuardRefusal, type GuardResult, type KeywardGuard, type Principal } from "./guard";
export {
  expressGuard,
  fastifyGuard,
  type AdapterOptions,
  type FastifyLikeReply,
  type FastifyLikeRequest,
  type NodeLikeHeaders,
  type NodeLikeRequest,
  type NodeLikeResponse,
} from "./adapters";
export { isRootKey, isWellFormedKey, keyFormatProblem, prefixOfKey, ROOT_KEY_PREFIX, type KeyFormatProblem } from "./key-format";
export type { PacingOptions } from "./pacing";
export type { PermissionQuery, RateLimitState, VerifiedIdentity, VerifiedKey, VerifyCode, VerifyInput, VerifyResult } from "./verify-types";
export type { BackoffOptions, FetchLike, HeadersOption } from "./transport";
