// Where the bytes of a wasm module go, by Rust crate: the code size of every function, named by
// the module's `name` section (the release build before wasm-bindgen and wasm-opt keeps it), and
// summed by the crate its name starts with. Printed by the size test, so each run shows what the
// first load is made of; the figures are pre-optimisation bytes, for proportions.
import { readFileSync } from 'node:fs';

function reader(buf) {
  let at = 0;
  const u32 = () => {
    let result = 0, shift = 0, byte;
    do { byte = buf[at++]; result += (byte & 0x7f) * 2 ** shift; shift += 7; } while (byte & 0x80);
    return result;
  };
  return {
    get at() { return at; }, set at(v) { at = v; },
    u32,
    u8: () => buf[at++],
    name: () => { const n = u32(); const s = buf.toString('utf8', at, at + n); at += n; return s; },
  };
}

/** The crate a function name belongs to: `_ZN9ksef_core4flow…` (Rust's legacy mangling, as the
 * name section keeps it) or `ksef_core::flow::x` → `ksef_core`; `<serde_json::X as …>` counts for
 * the crate of the type. */
export function crateOf(name) {
  const mangled = name.match(/^_ZN(\d+)(.*)$/);
  if (mangled) {
    const first = mangled[2].slice(0, Number(mangled[1]));
    name = first.replace(/\$LT\$/g, '<').replace(/\$GT\$/g, '>').replace(/\$RF\$/g, '&')
      .replace(/\$u20\$/g, ' ').replace(/\$u5b\$/g, '[').replace(/\$u5d\$/g, ']')
      .replace(/\$LP\$/g, '(').replace(/\$RP\$/g, ')').replace(/\.\./g, '::');
    // `<T as serde::Deserialize>`, `<u8 as wasm_bindgen::…>`: a generic or primitive type counts
    // for the trait's crate.
    const as = name.match(/^_?<&?(?:mut )?([^:<> ]+|\[T\]|\(\)) as ([A-Za-z_][A-Za-z0-9_]*)::/);
    if (as && !as[1].includes('::')) return as[2];
    if (!name.includes('::')) return name.replace(/^_/, '').replace(/^</, '') || '(glue, unnamed)';
  }
  let n = name.replace(/^_?(<|&|mut |dyn |\*const |\*mut )+/, '');
  n = n.replace(/\[[0-9a-f]+\]/g, '');
  const m = n.match(/^([A-Za-z_][A-Za-z0-9_]*)::/);
  return m ? m[1] : '(glue, unnamed)';
}

/** `{ total, data, byCrate: [[crate, bytes], ...] }` for the wasm file at `path`. */
export function breakdown(path) {
  const buf = readFileSync(path);
  const r = reader(buf);
  r.at = 8;
  let imported = 0, bodies = [], names = new Map(), data = 0;
  while (r.at < buf.length) {
    const id = r.u8(), size = r.u32(), end = r.at + size;
    if (id === 2) { // imports: functions come first in the index space
      for (let i = r.u32(); i > 0; i--) {
        r.name(); r.name();
        const kind = r.u8();
        if (kind === 0) { r.u32(); imported++; }
        else if (kind === 1) { r.u8(); const f = r.u8(); r.u32(); if (f & 1) r.u32(); }
        else if (kind === 2) { const f = r.u8(); r.u32(); if (f & 1) r.u32(); }
        else if (kind === 3) { r.u8(); r.u8(); }
        else break;
      }
    } else if (id === 10) { // code
      for (let i = r.u32(); i > 0; i--) { const n = r.u32(); bodies.push(n); r.at += n; }
    } else if (id === 11) {
      data += size;
    } else if (id === 0 && r.name() === 'name') {
      while (r.at < end) {
        const sub = r.u8(), len = r.u32(), subEnd = r.at + len;
        if (sub === 1) for (let i = r.u32(); i > 0; i--) { const idx = r.u32(); names.set(idx, r.name()); }
        r.at = subEnd;
      }
    }
    r.at = end;
  }
  const sums = new Map();
  bodies.forEach((n, i) => {
    const c = crateOf(names.get(imported + i) || '');
    sums.set(c, (sums.get(c) || 0) + n);
  });
  const code = bodies.reduce((a, b) => a + b, 0);
  return { code, data, byCrate: [...sums].sort((a, b) => b[1] - a[1]) };
}

/** Prints the breakdown, the `top` largest crates and the rest. */
export function printBreakdown(label, path, top = 14) {
  const { code, data, byCrate } = breakdown(path);
  console.log(`size: ${label}: ${code} B code + ${data} B data before wasm-opt, by crate:`);
  let rest = code;
  for (const [c, n] of byCrate.slice(0, top)) {
    console.log(`size:   ${c.padEnd(22)} ${String(n).padStart(8)} B  ${((100 * n) / code).toFixed(1)} %`);
    rest -= n;
  }
  console.log(`size:   ${'(the rest)'.padEnd(22)} ${String(rest).padStart(8)} B`);
}
