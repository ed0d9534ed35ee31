import { useEffect, useRef } from "react";
import { toast } from "sonner";

type Answer = { ok: boolean };
type Success<T> = Extract<T, { ok: true }>;
type Failure<T> = Extract<T, { ok: false }>;

export interface ActionToastOptions<T extends Answer> {
  /** The success toast's text; null shows none. */
  success: (data: Success<T>) => string | null;
  /** The error toast's text; null shows none (when the form shows the errors by its fields). */
  error: (data: Failure<T>) => string | null;
  /** Runs after the toast of each successful answer: closing a dialog, resetting a form. */
  onSuccess?: (data: Success<T>) => void;
}

/**
 * Toasts each answer a fetcher gets from its action, once it has settled. Every answer is told
 * exactly once: revalidations and re-renders after it leave the same `data` behind and toast nothing.
 */
export function useActionToast<T extends Answer>(fetcher: { state: string; data: T | undefined }, { success, error, onSuccess }: ActionToastOptions<T>): void {
  const handled = useRef<T | null>(null);
  useEffect(() => {
    const data = fetcher.data;
    if (fetcher.state !== "idle" || !data || handled.current === data) return;
    handled.current = data;
    // A generic union does not narrow on `ok`: the casts state what the check above proved.
    if (data.ok) {
      const message = success(data as Success<T>);
      if (message) toast.success(message);
      onSuccess?.(data as Success<T>);
    } else {
      const message = error(data as Failure<T>);
      if (message) toast.error(message);
    }
  }, [fetcher.state, fetcher.data, success, error, onSuccess]);
}
