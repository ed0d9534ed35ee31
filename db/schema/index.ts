export * from "./users";
export * from "./sessions";
export * from "./api-keys";
export * from "./audit-events";
export * from "./security-events";
export * from "./usage";
export * from "./request-log";
export * from "./alerts";
