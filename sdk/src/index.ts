export { createKeyward, type CallOptions, type KeywardClient, type KeywardOptions, type RouterInputs, type RouterOutputs } from "./client";
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
export { keywardEvents, type EventStreamOptions, type EventStreamState, type KeywardEvent, type KeywardEventStream } from "./events";
export { keywardGuard, type GuardOptions, type GuardRefusal, type GuardResult, type KeywardGuard, type Principal } from "./guard";
export { isRootKey, isWellFormedKey, keyFormatProblem, prefixOfKey, ROOT_KEY_PREFIX, type KeyFormatProblem } from "./key-format";
export type { PacingOptions } from "./pacing";
export type { PermissionQuery, VerifiedIdentity, VerifiedKey, VerifyCode, VerifyInput, VerifyResult } from "./verify-types";
export type { BackoffOptions, FetchLike, HeadersOption } from "./transport";
