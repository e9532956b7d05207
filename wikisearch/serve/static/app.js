// wikisearch's search page: suggestions while typing, results, paging, did-you-mean, reader view.
// Every text from the server goes into the page as text (textContent, DOM nodes), never as markup.
"use strict";
(function () {
  const $ = (id) => document.getElementById(id);
  const q = $("q"), list = $("suggestions"), statusLine = $("status"), rerankBox = $("rerank");
  const PAGE = 10, DEBOUNCE_MS = 120;

  function el(tag, attrs, ...kids) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "class") e.className = v; else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v);
    }
    for (const k of kids) if (k !== null && k !== undefined) e.append(k);
    return e;
  }
  const clear = (e) => { while (e.firstChild) e.removeChild(e.firstChild); };
  const show = (e, on) => { e.hidden = !on; };

  async function getJSON(url, signal) {
    const r = await fetch(url, { signal, headers: { Accept: "application/json" } });
    const data = await r.json();
    if (!r.ok) throw new Error(data.error || ("HTTP " + r.status));
    return data;
  }

  // --- navigation: the URL says what is shown, so Back and Forward work -----------------------
  function urlFor(s) {
    const p = new URLSearchParams();
    if (s.page) p.set("page", s.page);
    else if (s.q) {
      p.set("q", s.q);
      if (s.offset) p.set("offset", String(s.offset));
      if (s.exact) p.set("exact", "1");
      if (s.rerank) p.set("rerank", "1");
    }
    const qs = p.toString();
    return "/" + (qs ? "?" + qs : "");
  }
  function go(s) { history.pushState(s, "", urlFor(s)); render(s); }
  function stateFromURL() {
    const p = new URLSearchParams(location.search);
    return { q: p.get("q") || "", page: p.get("page") || "", offset: parseInt(p.get("offset") || "0", 10) || 0,
             exact: p.get("exact") === "1", rerank: p.get("rerank") === "1" };
  }
  window.addEventListener("popstate", () => render(stateFromURL()));

  function render(s) {
    closeSuggestions();
    if (s.page) return openPage(s.page);
    show($("reader"), false);
    if (!s.q) { show($("results"), false); statusLine.textContent = ""; return; }
    q.value = s.q;
    rerankBox.checked = !!s.rerank;
    return search(s.q, s.offset || 0, s.exact, !!s.rerank);
  }

  // --- results -------------------------------------------------------------------------------
  function snippetNode(snip) {
    const p = el("p", { class: "snippet" });
    let at = 0;
    for (const [a, b] of snip.highlights) {
      p.append(snip.text.slice(at, a), el("span", { class: "searchmatch" }, snip.text.slice(a, b)));
      at = b;
    }
    p.append(snip.text.slice(at));
    return p;
  }
  function pageLink(title, cls) {
    return el("a", { href: urlFor({ page: title }), class: cls || "",
                     onclick: (ev) => { ev.preventDefault(); go({ page: title }); } }, title);
  }
  function searchLink(text, exact, rerank) {
    return el("a", { href: urlFor({ q: text, exact, rerank }),
                     onclick: (ev) => { ev.preventDefault(); go({ q: text, exact, rerank }); } }, text);
  }

  let searchSeq = 0;
  let shown = null;                       // the query whose results are on the page
  async function search(text, offset, exact, rerank) {
    const seq = ++searchSeq;
    statusLine.textContent = "Searching\u2026";
    let data;
    try {
      const params = new URLSearchParams({ q: text, limit: String(PAGE), offset: String(offset) });
      if (exact) params.set("correct", "0");
      if (rerank) params.set("rerank", "1");
      data = await getJSON("/api/search?" + params);
    } catch (err) {
      if (seq === searchSeq) { statusLine.textContent = "Error: " + err.message; show($("results"), false); }
      return;
    }
    if (seq !== searchSeq) return;
    statusLine.textContent = "";
    shown = { q: text, exact };
    const info = data.searchinfo, hits = $("hits");
    clear(hits);
    hits.start = offset + 1;
    for (const h of data.hits) {
      const li = el("li", {}, pageLink(h.title, "title"));
      if (h.redirecttitle) li.append(el("div", { class: "via" }, "(redirect from " + h.redirecttitle + ")"));
      if (h.sectiontitle) li.append(el("div", { class: "via" }, "(section " + h.sectiontitle + ")"));
      if (h.snippet) li.append(snippetNode(h.snippet));
      if (h.categorysnippet) li.append(el("div", { class: "via" }, "(category " + h.categorysnippet + ")"));
      hits.append(li);
    }
    const dym = $("didyoumean");
    clear(dym);
    if (info.rewrittenquery) {
      dym.append("Showing results for ", el("b", {}, info.rewrittenquery), ". Search instead for ",
                 searchLink(text, true, rerank), ".");
    } else if (info.suggestion) {
      dym.append("Did you mean: ", searchLink(info.suggestion, false, rerank), "?");
    }
    show(dym, dym.firstChild !== null);
    const gt = $("goto");
    clear(gt);
    if (data.exact) gt.append("Go to the article: ", pageLink(data.exact.title));
    show(gt, !!data.exact);
    const total = info.totalhits, about = info.totalhits_relation === "gte" ? "at least " : "";
    $("total").textContent = data.hits.length
      ? `Results ${offset + 1}\u2013${offset + data.hits.length} of ${about}${total.toLocaleString("en")}` +
        `${data.rerank ? ", re-ranked" : ""} (${data.took_ms.toFixed(1)} ms)`
      : (offset ? `No results past ${offset}.` : `No results for \u201c${text}\u201d.`);
    const prev = $("prev"), next = $("next");
    prev.disabled = offset === 0;
    next.disabled = offset + data.hits.length >= total;
    prev.onclick = () => go({ q: text, offset: Math.max(0, offset - PAGE), exact, rerank });
    next.onclick = () => go({ q: text, offset: offset + PAGE, exact, rerank });
    show($("results"), true);
  }

  // --- the reader view -------------------------------------------------------------------------
  async function openPage(title) {
    show($("results"), false);
    statusLine.textContent = "Loading\u2026";
    let d;
    try {
      d = await getJSON("/api/page/" + encodeURIComponent(title));
    } catch (err) {
      statusLine.textContent = "Error: " + err.message;
      show($("reader"), false);
      return;
    }
    statusLine.textContent = "";
    document.title = d.title + " \u2013 wikisearch";
    $("ptitle").textContent = d.title;
    $("pnote").textContent = d.redirected ? "(redirected from " + d.requested + ")" : (d.note || "");
    const box = $("infobox");
    clear(box);
    for (const [k, v] of Object.entries(d.infobox || {})) box.append(el("tr", {}, el("th", {}, k), el("td", {}, v)));
    show(box, box.firstChild !== null);
    const text = $("ptext");
    clear(text);
    for (const part of [d.opening || "", d.body || ""]) {
      for (const para of part.split("\n")) if (para.trim()) text.append(el("p", {}, para));
    }
    const secs = $("sections");
    clear(secs);
    for (const s of d.sections || []) secs.append(el("li", {}, s));
    show($("sectionshead"), secs.firstChild !== null);
    $("categories").textContent = (d.categories || []).length ? "Categories: " + d.categories.join(" \u00b7 ") : "";
    $("source").href = d.url;
    show($("reader"), true);
    $("main").focus();
  }
  $("backlink").addEventListener("click", (ev) => {
    if (history.state) { ev.preventDefault(); history.back(); }
  });

  // --- suggestions while typing ------------------------------------------------------------------
  let timer = 0, inflight = null, items = [], active = -1;
  function closeSuggestions() {
    clear(list); show(list, false); items = []; active = -1;
    q.setAttribute("aria-expanded", "false"); q.removeAttribute("aria-activedescendant");
  }
  function setActive(i) {
    active = i;
    items.forEach((li, j) => li.setAttribute("aria-selected", j === i ? "true" : "false"));
    if (i >= 0) q.setAttribute("aria-activedescendant", items[i].id); else q.removeAttribute("aria-activedescendant");
  }
  async function suggest(text) {
    if (inflight) inflight.abort();
    inflight = new AbortController();
    let data;
    try {
      data = await getJSON("/api/suggest?" + new URLSearchParams({ q: text, limit: "8" }), inflight.signal);
    } catch (err) { return; }
    if (q.value !== text) return;
    closeSuggestions();
    const [, titles, descriptions] = data;
    titles.forEach((t, i) => {
      const li = el("li", { id: "sugg-" + i, role: "option", "aria-selected": "false",
                            onmousedown: (ev) => { ev.preventDefault(); go({ page: t }); } },
                    t, descriptions[i] ? el("small", {}, descriptions[i]) : null);
      li.dataset.title = t;
      items.push(li); list.append(li);
    });
    show(list, items.length > 0);
    q.setAttribute("aria-expanded", items.length ? "true" : "false");
  }
  q.addEventListener("input", () => {
    clearTimeout(timer);
    const text = q.value;
    if (!text.trim()) { closeSuggestions(); return; }
    timer = setTimeout(() => suggest(text), DEBOUNCE_MS);
  });
  q.addEventListener("keydown", (ev) => {
    if (ev.key === "ArrowDown" && items.length) { ev.preventDefault(); setActive((active + 1) % items.length); }
    else if (ev.key === "ArrowUp" && items.length) { ev.preventDefault(); setActive(active <= 0 ? items.length - 1 : active - 1); }
    else if (ev.key === "Escape") { closeSuggestions(); }
    else if (ev.key === "Enter" && active >= 0) { ev.preventDefault(); clearTimeout(timer); go({ page: items[active].dataset.title }); }
  });
  q.addEventListener("blur", () => setTimeout(closeSuggestions, 150));
  $("form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    clearTimeout(timer);
    if (inflight) inflight.abort();
    const text = q.value.trim();
    if (text) go({ q: text, rerank: rerankBox.checked });
  });
  rerankBox.addEventListener("change", () => {   // the results shown, ranked the other way (from the top)
    if (shown && !$("results").hidden) go({ q: shown.q, exact: shown.exact, rerank: rerankBox.checked });
  });
  $("home").addEventListener("click", (ev) => { ev.preventDefault(); q.value = ""; go({}); q.focus(); });
  document.addEventListener("keydown", (ev) => {
    if (ev.key === "/" && document.activeElement !== q) { ev.preventDefault(); q.focus(); q.select(); }
  });

  history.replaceState(stateFromURL(), "", location.pathname + location.search);
  render(stateFromURL());
})();
