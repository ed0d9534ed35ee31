/**
 * `redirectTo` values a phisher would put in a sign-in link: each must land on the default page
 * (/keys), in a browser as over HTTP. Raw control characters, backslashes, scheme-relative and
 * absolute URLs, and their percent-encoded and dot-segment disguises.
 */
export const OFF_SITE_REDIRECTS: readonly string[] = [
  "//evil.example",
  "///evil.example",
  "////evil.example/phish",
  "/\\evil.example",
  "/\\\\evil.example",
  "\\\\evil.example",
  "/%2F/evil.example",
  "/%2f%2fevil.example",
  "/%5Cevil.example",
  "/%5c%5cevil.example",
  "https://evil.example",
  "https:evil.example",
  "https:/evil.example",
  "http://evil.example@127.0.0.1",
  "javascript:alert(document.domain)",
  "JaVaScRiPt:alert(document.domain)",
  "data:text/html,<script>alert(document.domain)</script>",
  "/\t/evil.example/phish",
  "/\n/evil.example",
  "/\r\n/evil.example",
  "/\r\nSet-Cookie: planted=1",
  "\t//evil.example",
  " //evil.example",
  "/%09/evil.example",
  "/%0a/evil.example",
  "/%0d%0aSet-Cookie:%20planted=1",
  "%2F%09%2Fevil.example%2Fphish",
  "/.//evil.example",
  "/..//evil.example",
  "/%2e%2e//evil.example",
  "/./%2F/evil.example",
  "/\u0000/evil.example",
  "/\u007f/evil.example",
  "/%7f/evil.example",
  "/%E0%A4%A",
  "\uff0f\uff0fevil.example",
  "evil.example",
  "",
];

/** Odd but harmless: same-origin paths that must stay on the app (and are not the default page). */
export const ODD_LOCAL_REDIRECTS: readonly { to: string; lands: string }[] = [
  { to: "/users", lands: "/users" },
  { to: "/keys?status=active#top", lands: "/keys?status=active#top" },
  { to: "/keys/../users", lands: "/users" },
  { to: "/\u3000/evil.example", lands: "/%E3%80%80/evil.example" },
  { to: "/\uff0f/evil.example", lands: "/%EF%BC%8F/evil.example" },
];
