import { apiIdSchema, userIdSchema } from "../../app/lib/key-schemas";
import { systemActor } from "../../app/services/actor.server";
import type { ApiView } from "../../app/services/apis.server";
import { notFound } from "../../app/services/errors.server";
import type { Keyward } from "../../app/services/keyward.server";
import type { UserView } from "../../app/services/users.server";
import { CliError } from "./cli";

/** The actor every CLI change is recorded under in the audit log. */
export const cliActor = systemActor("cli");

/** A user by id (`usr_…`) or by email; "not found" otherwise. */
export async function findUser(keyward: Keyward, emailOrId: string): Promise<UserView> {
  if (userIdSchema.safeParse(emailOrId).success) return keyward.users.get(cliActor, emailOrId);
  const user = await keyward.users.findByEmail(emailOrId);
  if (!user) throw notFound(`User ${emailOrId}`);
  return user;
}

/** The owner of what the CLI creates: the user named, or else the first active admin. */
export async function ownerOrFirstAdmin(keyward: Keyward, emailOrId: string | undefined): Promise<UserView> {
  if (emailOrId !== undefined) return findUser(keyward, emailOrId);
  const admins = (await keyward.users.list(cliActor)).filter((user) => user.role === "admin" && !user.disabledAt);
  const first = admins.sort((a, b) => a.createdAt.localeCompare(b.createdAt))[0];
  if (!first) throw new CliError('No active admin to own it; name its owner with --owner EMAIL, or create an admin with "npm run users -- create --role admin"');
  return first;
}

/** An API by id (`api_…`) or by its key prefix (archived ones included); "not found" otherwise. */
export async function findApi(keyward: Keyward, idOrPrefix: string): Promise<ApiView> {
  if (apiIdSchema.safeParse(idOrPrefix).success) return keyward.apis.get(cliActor, idOrPrefix);
  let cursor: string | undefined;
  do {
    const page = await keyward.apis.list(cliActor, { includeArchived: true, limit: 100, cursor });
    const found = page.data.find((api) => api.prefix === idOrPrefix);
    if (found) return found;
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  throw notFound(`API ${idOrPrefix}`);
}
