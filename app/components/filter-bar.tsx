import { useNavigate, useSearchParams } from "@remix-run/react";
import { X } from "lucide-react";
import { useEffect, useState, type ReactNode } from "react";
import { Button } from "~/components/ui/button";
import { Input } from "~/components/ui/input";
import { Label } from "~/components/ui/label";
import { Select, SelectContent, SelectItem, SelectTrigger, SelectValue } from "~/components/ui/select";
import { cn } from "~/lib/utils";

/** How far back a list reaches; `ms: null` is no limit. */
export interface TimeRange {
  value: string;
  label: string;
  ms: number | null;
}

/** The start of a time range ending `now`, or undefined for no limit. */
export function rangeStart(ranges: readonly TimeRange[], value: string, now: Date): string | undefined {
  const span = ranges.find((range) => range.value === value)?.ms;
  return span ? new Date(now.getTime() - span).toISOString() : undefined;
}

export interface UrlFilters {
  /** Every filter's value when the URL does not name it. */
  defaults: Readonly<Record<string, string>>;
  /** The filter's value in the URL, or its default. */
  value(name: string): string;
  /** Sets filters in the URL (an empty or default value removes the parameter) and returns to the first page. */
  apply(changes: Record<string, string>): void;
  /** Whether any filter differs from its default. */
  active: boolean;
  /** Clears every filter and the cursor. */
  reset(): void;
}

/**
 * A list page's filters, kept in its URL so a filtered view can be linked and survives a reload.
 * `defaults` names every filter, with the value it has when the URL does not name it.
 */
export function useUrlFilters(pathname: string, defaults: Readonly<Record<string, string>>): UrlFilters {
  const [params] = useSearchParams();
  const navigate = useNavigate();
  const value = (name: string) => params.get(name) ?? defaults[name] ?? "";
  return {
    defaults,
    value,
    apply(changes) {
      const next = new URLSearchParams(params);
      next.delete("cursor");
      for (const [name, changed] of Object.entries(changes)) {
        if (!changed || changed === defaults[name]) next.delete(name);
        else next.set(name, changed);
      }
      navigate({ pathname, search: next.toString() }, { replace: true, preventScrollReset: true });
    },
    active: Object.keys(defaults).some((name) => value(name) !== defaults[name]),
    reset: () => navigate(pathname, { replace: true }),
  };
}

/**
 * The text of a filter typed into a box. The URL follows once typing pauses for `delayMs`, and only
 * with a value `accepts` allows; an empty box clears the filter.
 */
export function useTypedFilter(
  filters: UrlFilters,
  name: string,
  { delayMs, accepts = () => true }: { delayMs: number; accepts?: (value: string) => boolean },
): [string, (text: string) => void] {
  const [text, setText] = useState(filters.value(name));
  useEffect(() => {
    const value = text.trim();
    if (value === filters.value(name) || (value && !accepts(value))) return;
    const timer = setTimeout(() => filters.apply({ [name]: value }), delayMs);
    return () => clearTimeout(timer);
    // Only typing restarts the wait; the filters are those of the render that saw the text.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [text]);
  return [text, setText];
}

/** The search form around a list's filters, with a Reset button while any is set. */
export function FilterBar({ filters, onReset, className, children }: { filters: UrlFilters; onReset?: () => void; className?: string; children: ReactNode }) {
  return (
    <form role="search" className={cn("grid gap-3 sm:grid-cols-2 lg:flex", className)} onSubmit={(event) => event.preventDefault()}>
      {children}
      {filters.active ? (
        <Button
          type="button"
          variant="ghost"
          size="sm"
          onClick={() => {
            onReset?.();
            filters.reset();
          }}
        >
          <X aria-hidden /> Reset
        </Button>
      ) : null}
    </form>
  );
}

/** A select that sets one URL filter. Its label is for screen readers; the trigger shows `display`. */
export function FilterSelect({
  filters,
  name,
  id,
  label,
  display,
  className,
  children,
}: {
  filters: UrlFilters;
  name: string;
  id: string;
  label: string;
  display: ReactNode;
  className?: string;
  /** The options: `SelectItem`s, grouped or not. */
  children: ReactNode;
}) {
  return (
    <div className={className}>
      <Label htmlFor={id} className="sr-only">
        {label}
      </Label>
      <Select value={filters.value(name)} onValueChange={(value) => filters.apply({ [name]: value })}>
        <SelectTrigger id={id} aria-label={label}>
          <SelectValue>{display}</SelectValue>
        </SelectTrigger>
        <SelectContent>{children}</SelectContent>
      </Select>
    </div>
  );
}

/** The time range select, on the URL filter `range`; a value it does not know shows as the default range. */
export function TimeRangeSelect({ filters, id, ranges }: { filters: UrlFilters; id: string; ranges: readonly TimeRange[] }) {
  const value = filters.value("range");
  const shown = ranges.find((range) => range.value === value) ?? ranges.find((range) => range.value === filters.defaults.range);
  return (
    <FilterSelect filters={filters} name="range" id={id} label="Time range" display={shown?.label} className="lg:w-44">
      {ranges.map((range) => (
        <SelectItem key={range.value} value={range.value}>
          {range.label}
        </SelectItem>
      ))}
    </FilterSelect>
  );
}

/** A text box for a typed filter (see `useTypedFilter`), with its error under it. */
export function FilterText({
  id,
  label,
  value,
  onChange,
  placeholder,
  error,
  className,
}: {
  id: string;
  label: string;
  value: string;
  onChange: (text: string) => void;
  placeholder: string;
  error?: string | null;
  className?: string;
}) {
  const errorId = `${id}-error`;
  return (
    <div className={className}>
      <Label htmlFor={id} className="sr-only">
        {label}
      </Label>
      <Input
        id={id}
        value={value}
        onChange={(event) => onChange(event.target.value)}
        placeholder={placeholder}
        aria-invalid={error ? true : undefined}
        aria-describedby={error ? errorId : undefined}
        className="font-mono text-xs placeholder:font-sans placeholder:text-sm"
      />
      {error ? (
        <p id={errorId} className="mt-1 text-xs text-destructive">
          {error}
        </p>
      ) : null}
    </div>
  );
}
