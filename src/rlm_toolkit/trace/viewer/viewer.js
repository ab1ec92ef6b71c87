"use strict";
(function () {
  // Every text below comes from the trace and is hostile: it reaches the DOM only through
  // textContent / createTextNode, never through innerHTML or attributes that run code.
  const D = JSON.parse(document.getElementById("trace-data").textContent);
  const N = D.nodes;
  const SMALL = N.length <= 200;     // small traces open fully expanded
  const CHUNK = 100;                 // children drawn per "show more" click
  const ROW = 20;                    // waterfall row height (px)
  const KIND = { run: "run", iteration: "iteration", root_llm: "root call", code: "code",
                 llm: "sub-call", child_run: "child run", final: "answer now" };
  const kids = N.map(() => []);
  N.forEach((n, i) => { if (n.p >= 0) kids[n.p].push(i); });
  const open = new Set();
  N.forEach((n, i) => {
    if (SMALL || n.k === "run" || n.k === "iteration") open.add(i);
  });
  let filter = null;                 // null, or the Set of nodes that match or hold a match
  let hits = null;                   // the Set of nodes that match the search
  let hay = null;                    // lower-case search text per node, built on first search

  const $ = (id) => document.getElementById(id);
  // control characters and bidi overrides are shown as escapes (\x1b, \u202e): they must
  // not hide or reorder what the reader sees
  const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;
  const visible = (s) => s.replace(CONTROL, (c) => {
    const h = c.charCodeAt(0).toString(16);
    return c.charCodeAt(0) < 0x100 ? "\\x" + h.padStart(2, "0") : "\\u" + h.padStart(4, "0");
  });
  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = visible(String(text));
    return e;
  }
  function dur(s) {
    if (s === null || s === undefined) return "";
    return s < 1 ? Math.round(s * 1000) + " ms" : s.toFixed(s < 10 ? 2 : 1) + " s";
  }
  const int = (x) => Number(x).toLocaleString("en-US");
  const money = (x) => "$" + Number(x).toFixed(Number(x) >= 1 ? 2 : 4);

  // --- header -------------------------------------------------------------------------
  function header() {
    const st = $("status");
    st.textContent = visible(String(D.status || "unknown"));
    st.classList.add(D.status === "success" ? "success" : "failed");
    const m = D.meta || {};
    $("meta").textContent = visible([m.root_model && "model " + m.root_model,
      m.sub_model && m.sub_model !== m.root_model && "sub-model " + m.sub_model,
      m.environment_type && "sandbox " + m.environment_type, m.timestamp].filter(Boolean).join(" · "));
    if (D.query) $("query").textContent = "Query: " + visible(D.query);
    $("answer").textContent = D.answer === null || D.answer === undefined ? "(no answer)" : visible(D.answer);
    if (D.error) { $("run-error").hidden = false; $("run-error").textContent = visible(D.error); }
    const count = (k) => int(N.filter((n) => n.k === k).length);
    const stats = [["duration", dur(D.duration)], ["iterations", count("iteration")],
      ["code steps", count("code")], ["sub-calls", count("llm")], ["child runs", count("child_run")],
      ["tokens", D.tokens === null ? "?" : int(D.tokens)],
      ["cost", D.cost === null || D.cost === undefined ? "unknown" : money(D.cost)],
      ["nodes", int(N.length)]];
    const box = $("stats");
    for (const [k, v] of stats) {
      const s = el("span"); s.appendChild(el("b", null, v)); s.appendChild(document.createTextNode(" " + k));
      box.appendChild(s);
    }
    const w = $("wasted");
    if (D.has_credit) {
      w.appendChild(el("span", "badge waste", "wasted"));
      w.appendChild(document.createTextNode(" " + int(D.wasted_tokens) + " tokens (" +
        money(D.wasted_cost) + ") on steps that did not feed the answer"));
      w.id = "wasted";
      w.dataset.tokens = String(D.wasted_tokens);
    } else {
      w.appendChild(el("span", "muted", "credit: not recorded in this trace"));
    }
  }

  // --- egress: what each provider was sent (counts and coverage, never values) ----------
  function egress() {
    const E = D.egress;
    if (!E) return;
    const box = $("egress");
    box.hidden = false;
    const kinds = (r) => Object.entries(r || {}).map(([k, n]) => k + " " + int(n)).join(", ");
    box.querySelector("summary").textContent = "egress: policy " + visible(E.policy) +
      ", " + int(E.providers.length) + " provider(s)" +
      (Object.keys(E.redactions).length ? ", redacted " + visible(kinds(E.redactions)) : "");
    if (!E.providers.length) { box.appendChild(el("div", "muted", "nothing was sent to any provider")); return; }
    const table = el("table");
    const cols = ["provider", "where", "requests", "chars sent", "context chars sent",
                  "context coverage", "context ranges", "redacted", "refused", "withheld chars"];
    const head = el("tr");
    for (const c of cols) head.appendChild(el("th", c === "redacted" ? "kinds" : null, c));
    table.appendChild(head);
    for (const p of E.providers) {
      const tr = el("tr");
      tr.dataset.provider = p.name;
      const cells = [p.name, p.local ? "local" : "remote", int(p.requests), int(p.chars_sent),
        int(p.context_chars_sent),
        p.coverage === null ? "not measured" : (p.coverage * 100).toFixed(1) + "%",
        int(p.context_ranges_total), kinds(p.redactions) || "none", int(p.refused),
        int(p.withheld_chars)];
      cells.forEach((v, k) => tr.appendChild(el("td", cols[k] === "redacted" ? "kinds" : null, v)));
      table.appendChild(tr);
    }
    box.appendChild(table);
    box.appendChild(el("div", "muted", "context: " + int(E.context_chars) +
      " chars; redacted values are counted by kind, never shown"));
  }

  // --- tree ---------------------------------------------------------------------------
  function badge(n) {
    if (!n.cr) return null;
    const [ok, share] = n.cr;
    const b = el("span", "badge " + (ok ? "ok" : "waste"),
      ok ? "\u2713 fed answer" + (share > 0 ? " " + Math.round(share * 100) + "%" : "")
         : "\u2717 wasted");
    b.title = ok ? "its output reached the final answer (share " + share + ")"
                 : "its output did not reach the final answer";
    b.dataset.credit = ok ? "contributed" : "wasted";
    return b;
  }
  function shownKids(i) {
    return filter ? kids[i].filter((c) => filter.has(c)) : kids[i];
  }
  function isOpen(i) { return filter ? true : open.has(i); }

  function nodeEl(i) {
    const n = N[i];
    const box = el("div", "node");
    box.dataset.i = String(i);
    box.dataset.kind = n.k;
    if (hits && hits.has(i)) box.classList.add("hit");
    const head = el("div", "head");
    const tog = el("button", "tog");
    tog.type = "button";
    const canOpen = kids[i].length > 0 || (n.x && n.x.length > 0);
    tog.disabled = !canOpen;
    tog.textContent = isOpen(i) ? "\u25be" : "\u25b8";
    tog.setAttribute("aria-label", "expand or collapse");
    head.appendChild(tog);
    const kind = el("span", "kind k-" + n.k, KIND[n.k] || n.k);
    head.appendChild(kind);
    head.appendChild(el("span", "name", n.n));
    const bits = [dur(n.d)];
    if (n.t !== undefined) bits.push(int(n.t) + " tok");
    if (n.c !== undefined && n.c !== null) bits.push(money(n.c));
    head.appendChild(el("span", "m", bits.filter(Boolean).join(" · ")));
    const b = badge(n);
    if (b) head.appendChild(b);
    if (n.e) head.appendChild(el("span", "err-tag", "\u26a0 " + n.e));
    box.appendChild(head);
    if (isOpen(i)) fill(box, i);
    head.addEventListener("click", (ev) => {
      if (!canOpen || (ev.target.closest && ev.target.closest("pre"))) return;
      toggle(box, i);
    });
    return box;
  }
  function fill(box, i) {
    const n = N[i];
    if (n.x && n.x.length) {
      const body = el("div", "body");
      for (const [label, text] of n.x) {
        // the root's prompt repeats the system prompt every turn: folded, but in the page
        const folded = (n.k === "root_llm" && label === "prompt") || label === "context";
        const sec = el(folded ? "details" : "div", "sec " + label.replace(/[^a-z]/g, ""));
        sec.appendChild(el(folded ? "summary" : "div", "label", label));
        sec.appendChild(el("pre", null, text));
        body.appendChild(sec);
      }
      box.appendChild(body);
    }
    const list = shownKids(i);
    if (list.length) {
      const wrap = el("div", "kids");
      box.appendChild(wrap);
      addKids(wrap, list, 0);
    }
  }
  function addKids(wrap, list, from) {
    const to = Math.min(list.length, from + CHUNK);
    const frag = document.createDocumentFragment();
    for (let k = from; k < to; k++) frag.appendChild(nodeEl(list[k]));
    wrap.appendChild(frag);
    if (to < list.length) {
      const more = el("button", "more", "show " + Math.min(CHUNK, list.length - to) + " more of " +
        int(list.length - to) + " remaining");
      more.type = "button";
      more.addEventListener("click", () => { more.remove(); addKids(wrap, list, to); });
      wrap.appendChild(more);
    }
  }
  function toggle(box, i) {
    const replacement = (open.has(i) ? (open.delete(i), nodeEl(i)) : (open.add(i), nodeEl(i)));
    box.replaceWith(replacement);
    return replacement;
  }
  function drawTree() {
    const t = $("tree");
    t.textContent = "";
    if (N.length && (!filter || filter.has(0))) t.appendChild(nodeEl(0));
    else t.appendChild(el("div", "muted", "no node matches"));
  }
  function reveal(i) {
    if (filter && !filter.has(i)) { $("search").value = ""; applySearch(); }
    for (let p = N[i].p; p >= 0; p = N[p].p) open.add(p);
    drawTree();
    // the node may sit past a "show more" button: open chunks until it is drawn
    let target = document.querySelector('.node[data-i="' + i + '"]');
    for (let guard = 0; !target && guard < 100; guard++) {
      const more = Array.from(document.querySelectorAll("button.more")).find((b) =>
        b.parentElement && b.parentElement.parentElement &&
        isAncestor(Number(b.parentElement.parentElement.dataset.i), i));
      if (!more) break;
      more.click();
      target = document.querySelector('.node[data-i="' + i + '"]');
    }
    if (target) {
      target.scrollIntoView({ block: "center" });
      target.classList.add("flash");
      setTimeout(() => target.classList.remove("flash"), 1500);
    }
  }
  function isAncestor(a, i) {
    for (let p = N[i].p; p >= 0; p = N[p].p) if (p === a) return true;
    return false;
  }

  // --- waterfall (virtual: only the rows in view exist) -----------------------------------
  let rows = [];
  const total = Math.max(1e-9, ...N.map((n) => (n.s || 0) + (n.d || 0)));
  function drawAxis() {
    const axis = $("wf-axis");
    for (const f of [0, 0.25, 0.5, 0.75, 1]) {
      const s = el("span", null, dur(total * f));
      s.style.left = (f * 100) + "%";
      axis.appendChild(s);
    }
  }
  function setRows() {
    rows = filter ? N.map((_, i) => i).filter((i) => filter.has(i)) : N.map((_, i) => i);
    const wf = $("waterfall");
    wf.style.height = Math.min(rows.length * ROW + 2, 420) + "px";
    $("wf-spacer").style.height = (rows.length * ROW) + "px";
    drawRows();
  }
  function drawRows() {
    const wf = $("waterfall");
    const first = Math.max(0, Math.floor(wf.scrollTop / ROW) - 10);
    const last = Math.min(rows.length, first + Math.ceil(wf.clientHeight / ROW) + 20);
    for (const r of Array.from(wf.querySelectorAll(".wf-row"))) r.remove();
    const frag = document.createDocumentFragment();
    for (let r = first; r < last; r++) {
      const i = rows[r], n = N[i];
      const row = el("div", "wf-row");
      row.style.top = (r * ROW) + "px";
      row.dataset.i = String(i);
      row.dataset.kind = n.k;
      const lab = el("div", "wf-label", (KIND[n.k] || n.k) + (n.n ? " " + n.n : ""));
      lab.style.paddingLeft = (4 + 12 * depth(i)) + "px";
      if (n.cr) lab.prepend(el("span", "wf-cr " + (n.cr[0] ? "ok" : "waste"),
                               n.cr[0] ? "\u2713 " : "\u2717 "));
      row.appendChild(lab);
      const track = el("div", "wf-track");
      const bar = el("div", "wf-bar k-" + n.k + (n.e ? " err" : ""));
      bar.style.left = ((n.s || 0) / total * 100) + "%";
      bar.style.width = (Math.max(0, n.d || 0) / total * 100) + "%";
      bar.title = n.n + "\nstart +" + dur(n.s || 0) + ", took " + dur(n.d);
      track.appendChild(bar);
      row.appendChild(track);
      row.addEventListener("click", () => reveal(i));
      frag.appendChild(row);
    }
    wf.appendChild(frag);
  }
  const depths = new Map();
  function depth(i) {
    if (!depths.has(i)) depths.set(i, N[i].p < 0 ? 0 : depth(N[i].p) + 1);
    return depths.get(i);
  }
  let pending = false;
  $("waterfall").addEventListener("scroll", () => {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => { pending = false; drawRows(); });
  });

  // --- search ---------------------------------------------------------------------------
  function applySearch() {
    const q = $("search").value.trim().toLowerCase();
    if (!q) {
      filter = hits = null;
      $("matches").textContent = "";
    } else {
      if (!hay) hay = N.map((n) => [n.n, n.k, KIND[n.k], n.e || ""].concat(
        (n.x || []).map((s) => s[1])).join("\n").toLowerCase());
      hits = new Set();
      filter = new Set();
      N.forEach((_, i) => {
        if (!hay[i].includes(q)) return;
        hits.add(i);
        for (let p = i; p >= 0 && !filter.has(p); p = N[p].p) filter.add(p);
      });
      $("matches").textContent = int(hits.size) + " of " + int(N.length) + " nodes match";
    }
    drawTree();
    setRows();
  }
  let timer = 0;
  $("search").addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(applySearch, 150); });
  $("expand").addEventListener("click", () => { N.forEach((_, i) => open.add(i)); drawTree(); });
  $("collapse").addEventListener("click", () => { open.clear(); open.add(0); drawTree(); });

  header();
  egress();
  drawAxis();
  drawTree();
  setRows();
  document.body.dataset.ready = "1";
  window.__rlmViewerReadyMs = performance.now();
})();
