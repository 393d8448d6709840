// Plain template literals for mail and pages: every interpolated value goes through esc(),
// so a software name or comment can never become markup.
const ENTITIES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

export function esc(value: unknown): string {
  return String(value ?? '').replace(/[&<>"']/g, (c) => ENTITIES[c]!);
}

/** A tagged template that escapes every value unless it is already Html. */
export class Html {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

export function html(strings: TemplateStringsArray, ...values: unknown[]): Html {
  let out = strings[0]!;
  values.forEach((v, i) => {
    out += render(v) + strings[i + 1]!;
  });
  return new Html(out);
}

function render(v: unknown): string {
  if (v instanceof Html) return v.value;
  if (Array.isArray(v)) return v.map(render).join('');
  if (v === undefined || v === null || v === false) return '';
  return esc(v);
}

/** A small, self-contained document: inline styles only (mail clients drop <style> and links). */
export function documentOf(title: string, body: Html): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<meta name="referrer" content="no-referrer"><title>${esc(title)}</title></head>
<body style="font-family:system-ui,-apple-system,Segoe UI,sans-serif;max-width:40rem;margin:1.5rem auto;padding:0 1rem;color:#1b1b1b;line-height:1.45">
<h1 style="font-size:1.3rem">${esc(title)}</h1>
${body.value}
<p style="color:#666;font-size:.85rem;margin-top:2rem">upman — software update management</p>
</body></html>`;
}

/** Rows of a definition table, in HTML and as "label: value" text lines. */
export function facts(rows: Array<[string, unknown]>): { html: Html; text: string } {
  const shown = rows.filter(([, v]) => v !== undefined && v !== null && v !== '');
  return {
    html: html`<table style="border-collapse:collapse">${shown.map(
      ([k, v]) =>
        html`<tr><th style="text-align:left;padding:.2rem .8rem .2rem 0;vertical-align:top">${k}</th><td style="padding:.2rem 0">${v}</td></tr>`,
    )}</table>`,
    text: shown.map(([k, v]) => `${k}: ${String(v)}`).join('\n'),
  };
}
