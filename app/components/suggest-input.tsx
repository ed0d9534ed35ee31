import { Check, ChevronsUpDown } from "lucide-react";
import { forwardRef, useId, useState, type ComponentProps } from "react";
import { Input } from "~/components/ui/input";
import { cn } from "~/lib/utils";

const SHOWN = 8;

/**
 * A text input with a list of suggestions, typed or picked (the ARIA combobox pattern with a listbox).
 * It replaces a native datalist, whose popup and arrow follow the browser's theme rather than the page's;
 * without JavaScript it is still a plain text input.
 */
export const SuggestInput = forwardRef<HTMLInputElement, Omit<ComponentProps<"input">, "value" | "defaultValue" | "onChange"> & { suggestions: string[]; listLabel: string }>(
  ({ suggestions, listLabel, className, ...props }, ref) => {
    const listId = useId();
    const [value, setValue] = useState("");
    const [open, setOpen] = useState(false);
    const [active, setActive] = useState(-1);
    const typed = value.trim().toLowerCase();
    const shown = suggestions.filter((suggestion) => suggestion.toLowerCase().includes(typed)).slice(0, SHOWN);
    const expanded = open && shown.length > 0;
    const optionId = (index: number) => `${listId}-${index}`;

    const pick = (suggestion: string) => {
      setValue(suggestion);
      setOpen(false);
      setActive(-1);
    };
    const move = (step: number) => {
      setOpen(true);
      setActive((current) => (shown.length === 0 ? -1 : (current + step + shown.length) % shown.length));
    };

    return (
      <div className="relative">
        <Input
          {...props}
          ref={ref}
          role="combobox"
          aria-autocomplete="list"
          aria-expanded={expanded}
          aria-controls={listId}
          aria-activedescendant={expanded && active >= 0 ? optionId(active) : undefined}
          autoComplete="off"
          value={value}
          className={cn("pr-9", className)}
          onChange={(event) => {
            setValue(event.target.value);
            setOpen(true);
            setActive(-1);
          }}
          onBlur={() => setOpen(false)}
          onKeyDown={(event) => {
            if (event.key === "ArrowDown" || event.key === "ArrowUp") {
              event.preventDefault();
              move(event.key === "ArrowDown" ? 1 : -1);
            } else if (event.key === "Enter" && expanded && active >= 0) {
              // Enter picks the highlighted suggestion instead of submitting the form.
              event.preventDefault();
              pick(shown[active]!);
            } else if (event.key === "Escape" && expanded) {
              event.preventDefault();
              setOpen(false);
            }
          }}
        />
        <button
          type="button"
          tabIndex={-1}
          aria-label={listLabel}
          className="absolute inset-y-0 right-0 flex w-9 items-center justify-center rounded-r-md text-muted-foreground hover:text-foreground"
          // Keeps the focus (and so the list) in the input.
          onMouseDown={(event) => event.preventDefault()}
          onClick={() => setOpen((current) => !current)}
        >
          <ChevronsUpDown className="h-4 w-4" aria-hidden />
        </button>
        <ul id={listId} role="listbox" aria-label={listLabel} hidden={!expanded} className="absolute z-50 mt-1 max-h-64 w-full overflow-auto rounded-md border bg-popover p-1 text-popover-foreground shadow-md">
          {shown.map((suggestion, index) => (
            <li
              key={suggestion}
              id={optionId(index)}
              role="option"
              aria-selected={index === active}
              className={cn("flex cursor-pointer items-center justify-between gap-2 rounded-sm px-2 py-1.5 font-mono text-sm", index === active && "bg-accent text-accent-foreground")}
              onMouseDown={(event) => event.preventDefault()}
              onMouseEnter={() => setActive(index)}
              onClick={() => pick(suggestion)}
            >
              {suggestion}
              {suggestion === value ? <Check className="h-4 w-4 shrink-0" aria-hidden /> : null}
            </li>
          ))}
        </ul>
      </div>
    );
  },
);
SuggestInput.displayName = "SuggestInput";
