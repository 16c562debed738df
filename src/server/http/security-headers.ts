// Headers every answer carries: no framing (a page the user visits must not frame the
// dashboard, whose own requests count as local), no MIME sniffing, no referrer leaving the
// site, and a content policy that fits Next.js's App Router.
import type { ServerResponse } from "node:http";

function contentSecurityPolicy(dev: boolean): string {
  return [
    "default-src 'self'",
    // The App Router streams its payload as inline scripts; dev mode also evaluates modules.
    `script-src 'self' 'unsafe-inline'${dev ? " 'unsafe-eval'" : ""}`,
    "style-src 'self' 'unsafe-inline'",
    // Predict previews the chosen photo through an object URL.
    "img-src 'self' data: blob:",
    "font-src 'self' data:",
    `connect-src 'self'${dev ? " ws: wss:" : ""}`,
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join("; ");
}

export function securityHeaders(dev: boolean): Record<string, string> {
  return {
    "content-security-policy": contentSecurityPolicy(dev),
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "cross-origin-opener-policy": "same-origin",
    // Another site's <img>/<script> may not read or even load Labbook's answers.
    "cross-origin-resource-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
  };
}

/** Sets them before anything answers, so refusals and errors carry them too. */
export function applySecurityHeaders(res: ServerResponse, headers: Record<string, string>): void {
  for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
}
