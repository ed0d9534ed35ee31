import { userIdSchema } from "../../app/lib/key-schemas";
import { systemActor } from "../../app/services/actor.server";
import { notFound } from "../../app/services/errors.server";
import type { Keyward } from "../../app/services/keyward.server";
import type { UserView } from "../../app/services/users.server";

/** The actor every CLI change is recorded under in the audit log. */
export const cliActor = systemActor("cli");

/** A user by id (`usr_…`) or by email; "not found" otherwise. */
export async function findUser(keyward: Keyward, emailOrId: string): Promise<UserView> {
  if (userIdSchema.safeParse(emailOrId).success) return keyward.users.get(cliActor, emailOrId);
  const user = await keyward.users.findByEmail(emailOrId);
  if (!user) throw notFound(`User ${emailOrId}`);
  return user;
}
