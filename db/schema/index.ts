export * from "./users";
export * from "./sessions";
export * from "./api-keys";
export * from "./audit-events";
