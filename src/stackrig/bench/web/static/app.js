/* stackrig bench dashboard: run list, run page, compare view. Plain DOM + the vendored uPlot. */
"use strict";
(function () {
  const COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"];
  const main = document.getElementById("main");

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "class") node.className = v;
      else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
      else node.setAttribute(k, v);
    }
    for (const child of children) {
      if (child === null || child === undefined) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  async function getJSON(url) {
    const res = await fetch(url, { headers: { Accept: "application/json" } });
    const doc = await res.json();
    if (!res.ok) throw new Error(doc.error || res.statusText);
    return doc;
  }

  function num(v, digits) {
    if (v === null || v === undefined) return "—";
    return v.toLocaleString("en-US", { maximumFractionDigits: digits === undefined ? 0 : digits });
  }
  function rate(b) {
    if (b === null || b === undefined) return "—";
    const units = [[1 << 30, "GiB/s"], [1 << 20, "MiB/s"], [1 << 10, "KiB/s"]];
    for (const [d, u] of units) if (b >= d) return (b / d).toFixed(1) + " " + u;
    return b.toFixed(0) + " B/s";
  }
  function ns(v) {
    if (v === null || v === undefined) return "—";
    const units = [[1e9, "s"], [1e6, "ms"], [1e3, "µs"]];
    for (const [d, u] of units) if (v >= d) return (v / d).toPrecision(3) + " " + u;
    return v.toFixed(0) + " ns";
  }
  function table(head, rows) {
    return el("table", {}, el("thead", {}, el("tr", {}, ...head.map((h) => el("th", {}, h)))),
      el("tbody", {}, ...rows.map((r) => el("tr", {}, ...r.map((c) => el("td", {}, c))))));
  }
  function fail(err) {
    main.replaceChildren(el("p", { class: "error" }, "error: " + err.message));
  }

  // total: the last column is the sum of the others, drawn black and thicker
  function chart(target, title, unit, t, labels, values, total) {
    const width = Math.max(400, Math.min(1100, target.clientWidth || 900));
    const opts = {
      title: title, width: width, height: 320,
      scales: { x: { time: false } },
      cursor: { drag: { x: true, y: false } },
      axes: [{ label: "time (s)" }, { label: unit, size: 70 }],
      series: [{ label: "time (s)" }].concat(labels.map((label, i) => ({
        label: label, unit: unit, stroke: total && i === labels.length - 1 ? "#000" : COLORS[i % COLORS.length],
        width: total && i === labels.length - 1 ? 2 : 1.2, spanGaps: false,
        value: (u, v) => (v === null || v === undefined ? "—" : num(v, 2) + " " + unit),
      }))),
    };
    const box = el("div", { class: "chart", "data-chart": title });
    target.append(box);
    return new uPlot(opts, [t].concat(values), box);
  }

  // ------------------------------------------------------------------ run list
  const PAGE = 50;
  async function runsPage() {
    const filter = el("input", { type: "search", id: "filter", placeholder: "filter: name, label k=v, host, status" });
    const count = el("span", { class: "note", id: "count" });
    const button = el("button", { id: "compare", disabled: "" }, "compare selected");
    const newer = el("button", { id: "newer", disabled: "" }, "‹ newer");
    const older = el("button", { id: "older", disabled: "" }, "older ›");
    const body = el("tbody");
    const groupsBox = el("div", { id: "groups" });
    main.replaceChildren(el("h1", {}, "fio runs"), el("div", { class: "bar" }, filter, button, newer, older, count),
      el("table", { id: "runs" }, el("thead", {}, el("tr", {}, ...["", "started", "name", "status", "group", "labels",
        "machine", "IOPS", "bandwidth", "id"].map((h) => el("th", {}, h)))), body), groupsBox);
    const picked = new Set();
    let offset = 0;
    button.addEventListener("click", () => { location.href = "/compare?runs=" + [...picked].map(encodeURIComponent).join(","); });
    async function load() {
      const doc = await getJSON("/api/runs?q=" + encodeURIComponent(filter.value) + "&limit=" + PAGE + "&offset=" + offset);
      body.replaceChildren(...doc.runs.map((r) => {
        const box = el("input", { type: "checkbox", value: r.id });
        if (picked.has(r.id)) box.checked = true;
        box.addEventListener("change", () => {
          if (box.checked) picked.add(r.id); else picked.delete(r.id);
          if (picked.size >= 2) button.removeAttribute("disabled"); else button.setAttribute("disabled", "");
        });
        const labels = Object.entries(r.labels).map(([k, v]) => k + "=" + v).join(" ");
        return el("tr", { class: "run", "data-id": r.id }, el("td", {}, box), el("td", {}, r.started),
          el("td", {}, el("a", { href: "/run/" + encodeURIComponent(r.id) }, r.name)),
          el("td", { class: "status-" + r.status }, r.status), el("td", { class: "mono" }, r.group || ""),
          el("td", {}, labels), el("td", {}, r.machine),
          el("td", {}, num(r.iops)), el("td", {}, rate(r.bw_bytes)), el("td", { class: "mono" }, r.id));
      }));
      const first = doc.total ? offset + 1 : 0;
      count.textContent = first + "-" + (offset + doc.runs.length) + " of " + doc.total + " runs";
      if (offset > 0) newer.removeAttribute("disabled"); else newer.setAttribute("disabled", "");
      if (offset + doc.runs.length < doc.total) older.removeAttribute("disabled"); else older.setAttribute("disabled", "");
      document.body.setAttribute("data-ready", "1");
    }
    newer.addEventListener("click", () => { offset = Math.max(0, offset - PAGE); load().catch(fail); });
    older.addEventListener("click", () => { offset += PAGE; load().catch(fail); });
    let timer = null;
    filter.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(() => { offset = 0; load().catch(fail); }, 150); });
    await load();
    const g = await getJSON("/api/groups?limit=50");
    if (g.groups.length >= 1) {
      const options = () => g.groups.map((x) => el("option", { value: x.ref }, x.ref + " " + x.name + " (" + x.runs + " runs, " + x.created + ")"));
      const base = el("select", { id: "base" }, ...options());
      const cand = el("select", { id: "cand" }, ...options());
      const go = el("button", { id: "compare-groups" }, "compare groups");
      go.addEventListener("click", () => {
        location.href = "/compare?base=" + encodeURIComponent(base.value) + "&cand=" + encodeURIComponent(cand.value);
      });
      const links = el("ul", { id: "group-links" }, ...g.groups.slice(0, 10).map((x) => el("li", {},
        el("a", { href: "/group/" + encodeURIComponent(x.id) }, x.ref + " " + x.name), " (" + x.kind + ", " + x.runs + " runs)")));
      groupsBox.replaceChildren(el("h2", {}, "Groups of runs"), el("div", { class: "bar" }, "baseline ", base, " candidate ", cand, go), links);
    }
  }

  // ------------------------------------------------------------------ one run
  async function runPage() {
    const id = decodeURIComponent(location.pathname.split("/").pop());
    const doc = await getJSON("/api/runs/" + encodeURIComponent(id));
    const facts = el("dl", {});
    const pairs = [["id", doc.id], ["status", doc.status], ["started", doc.started], ["ended", doc.ended || "—"],
      ["labels", Object.entries(doc.labels).map(([k, v]) => k + "=" + v).join(", ") || "—"],
      ["fio", doc.fio_version || "—"], ["fio servers", doc.hosts.join(", ") || "— (local)"],
      ["command", doc.command.join(" ")]].concat(Object.entries(doc.machine_facts));
    for (const [k, v] of pairs) facts.append(el("dt", {}, k), el("dd", {}, v));
    const rows = doc.rows.map((r) => [r.host, r.job, r.direction, num(r.iops), rate(r.bw_bytes), ns(r.lat_mean_ns),
      ns(r.lat_p50_ns), ns(r.lat_p99_ns), ns(r.lat_p999_ns)]);
    const charts = el("div", { id: "charts" });
    const files = el("ul", { id: "files" }, ...doc.files.map((f) =>
      el("li", {}, el("a", { href: f.url }, f.name), " ", el("span", { class: "note" }, num(f.size) + " bytes"))));
    const pngs = doc.files.filter((f) => /\.(png|svg)$/.test(f.name));
    main.replaceChildren(el("h1", {}, doc.name), facts, el("h2", {}, "Summary"),
      table(["host", "job", "direction", "IOPS", "bandwidth", "mean lat", "p50", "p99", "p99.9"], rows),
      el("h2", {}, "Charts"), el("p", { class: "note" }, "drag to zoom, double-click to reset, click a legend entry to hide it"),
      charts, el("h2", {}, "Graphs"), el("div", { class: "pngs" }, ...pngs.map((f) => el("a", { href: f.url },
        el("img", { src: f.url, alt: f.name, class: "thumb" })))), el("h2", {}, "Raw files"), files);
    if (!doc.kinds.length) charts.append(el("p", { class: "note" }, "no fio logs in this run (run with --logs)"));
    const names = { bw: "bandwidth", iops: "IOPS", clat: "completion latency", lat: "total latency", slat: "submission latency" };
    for (const kind of doc.kinds) {
      const s = await getJSON("/api/runs/" + encodeURIComponent(id) + "/series?kind=" + kind);
      if (!s.t.length) { charts.append(el("p", { class: "note" }, kind + ": no data")); continue; }
      chart(charts, names[kind] + " (" + s.unit + ", window " + s.window_ms + " ms)", s.unit, s.t, s.labels, s.values, s.total);
    }
    document.body.setAttribute("data-ready", "1");
  }

  // ------------------------------------------------------------------ compare
  async function runsComparePage() {
    const ids = (new URLSearchParams(location.search).get("runs") || "").split(",").filter(Boolean);
    const doc = await getJSON("/api/compare?runs=" + ids.map(encodeURIComponent).join(","));
    const fmt = { iops: (v) => num(v), bw: rate };
    const rows = doc.changes.map((c) => [c.run, c.key, c.metric, (fmt[c.metric] || ns)(c.baseline),
      (fmt[c.metric] || ns)(c.value), c.change_pct === null ? "—" : (c.change_pct > 0 ? "+" : "") + c.change_pct.toFixed(1) + "%",
      c.regression ? "regression" : ""]);
    const t = table(["run", "host/job/direction", "metric", "baseline", "value", "change", ""], rows);
    t.id = "changes";
    const charts = el("div", { id: "charts" });
    main.replaceChildren(el("h1", {}, "compare " + doc.runs.length + " runs"),
      el("p", {}, "baseline: ", el("b", {}, doc.runs[0].name + " (" + doc.baseline + ")"),
        "; worse by more than " + doc.threshold_pct + "% is marked"), t, el("h2", {}, "Total bandwidth"), charts);
    if (doc.bw.t.length) chart(charts, "total bandwidth (" + doc.bw.unit + ")", doc.bw.unit, doc.bw.t,
      doc.runs.map((r) => r.name + " " + r.id), doc.bw.values);
    for (const u of doc.unmatched) main.append(el("p", { class: "note" }, u));
    document.body.setAttribute("data-ready", "1");
  }

  const SVG = "http://www.w3.org/2000/svg";
  function svg(tag, attrs, ...children) {
    const node = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
    for (const child of children) if (child) node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    return node;
  }

  // one bar per side with the interval of its mean as whiskers (the error bars)
  function errorBars(title, items, fmt) {
    const w = 520, h = 220, left = 70, bottom = 40, top = 28;
    const peak = Math.max(...items.map((i) => (i.high !== null && i.high !== undefined ? i.high : i.mean) || 0), 1e-9);
    const y = (v) => h - bottom - (Math.max(0, v) / peak) * (h - bottom - top);
    const band = (w - left - 20) / items.length;
    const nodes = [svg("text", { x: left, y: 16, class: "ebtitle" }, title),
      svg("line", { x1: left, y1: h - bottom, x2: w - 10, y2: h - bottom, stroke: "#57606a" })];
    items.forEach((it, i) => {
      const x = left + i * band + band * 0.2, bw = band * 0.6, cx = x + bw / 2;
      nodes.push(svg("rect", { x: x, y: y(it.mean), width: bw, height: h - bottom - y(it.mean), fill: it.color, "fill-opacity": "0.7", class: "bar" }));
      if (it.low !== null && it.low !== undefined && it.high !== null && it.high !== undefined) {
        nodes.push(svg("line", { x1: cx, x2: cx, y1: y(it.low), y2: y(it.high), stroke: "#000", "stroke-width": "1.5", class: "whisker" }),
          svg("line", { x1: cx - 8, x2: cx + 8, y1: y(it.low), y2: y(it.low), stroke: "#000" }),
          svg("line", { x1: cx - 8, x2: cx + 8, y1: y(it.high), y2: y(it.high), stroke: "#000" }));
      }
      nodes.push(svg("text", { x: cx, y: h - bottom + 16, "text-anchor": "middle", class: "eblabel" }, it.label),
        svg("text", { x: cx, y: y(it.mean) - 6, "text-anchor": "middle", class: "ebvalue" }, fmt(it.mean)));
    });
    return svg("svg", { width: w, height: h, viewBox: "0 0 " + w + " " + h, class: "errorbars", role: "img" }, ...nodes);
  }

  async function groupComparePage(params) {
    const doc = await getJSON("/api/compare?base=" + encodeURIComponent(params.get("base")) + "&cand=" + encodeURIComponent(params.get("cand")));
    const fmt = (metric) => (metric === "iops" ? (v) => num(v) : metric === "bw" ? rate : ns);
    const spread = (s, f) => f(s.mean) + (s.stdev === null ? "" : " ± " + f(s.stdev)) + " (n=" + s.n + ")";
    const pct = (v) => (v === null ? "—" : (v > 0 ? "+" : "") + v.toFixed(1) + "%");
    const rows = doc.changes.map((c) => [c.key, c.metric, spread(c.baseline, fmt(c.metric)), spread(c.candidate, fmt(c.metric)),
      pct(c.change_pct), c.low_pct === null ? "—" : pct(c.low_pct) + " .. " + pct(c.high_pct), c.verdict]);
    const t = table(["host/job/direction", "metric", "baseline", "candidate", "change", "interval", "verdict"], rows);
    t.id = "changes";
    [...t.querySelectorAll("tbody tr")].forEach((tr, i) => tr.classList.add("verdict-" + doc.changes[i].verdict.replace(/ /g, "-")));
    const bars = el("div", { id: "errorbars" });
    for (const c of doc.changes) {
      bars.append(errorBars(c.key + " " + c.metric + " — " + c.verdict, [
        Object.assign({ label: "baseline", color: COLORS[0] }, c.baseline),
        Object.assign({ label: "candidate", color: COLORS[1] }, c.candidate)], fmt(c.metric)));
    }
    main.replaceChildren(el("h1", {}, "compare " + doc.baseline.ref + " and " + doc.candidate.ref),
      el("p", {}, "baseline ", el("b", {}, doc.baseline.name), " (" + doc.baseline.runs + " runs), candidate ",
        el("b", {}, doc.candidate.name), " (" + doc.candidate.runs + " runs); intervals at " + doc.confidence * 100 + "% confidence"),
      t, el("h2", {}, "Means with the interval of each mean"), bars);
    for (const line of doc.warnings.concat(doc.note ? [doc.note] : [], doc.unmatched)) main.append(el("p", { class: "note" }, line));
    document.body.setAttribute("data-ready", "1");
  }

  async function comparePage() {
    const params = new URLSearchParams(location.search);
    if (params.get("base")) return groupComparePage(params);
    return runsComparePage();
  }

  // ------------------------------------------------------------------ one group
  async function groupPage() {
    const id = decodeURIComponent(location.pathname.split("/").pop());
    const doc = await getJSON("/api/groups/" + encodeURIComponent(id));
    let t;
    if (doc.points) {
      t = table(["rw", "bs", "numjobs", "iodepth", "runs", "IOPS", "bandwidth", "mean lat", "p99"], doc.points.map((p) =>
        [p.rw, p.bs, p.numjobs, p.iodepth, p.runs, num(p.iops), rate(p.bw_bytes), ns(p.lat_mean_ns), ns(p.lat_p99_ns)]));
    } else {
      const fmt = (m) => (m === "iops" ? (v) => num(v) : m === "bw" ? rate : ns);
      t = table(["host/job/direction", "metric", "n", "mean", "stdev", "interval"], doc.stats.map((r) =>
        [r.host + "/" + r.job + "/" + r.direction, r.metric, r.n, fmt(r.metric)(r.mean), fmt(r.metric)(r.stdev),
          r.ci_low === null ? "—" : fmt(r.metric)(r.ci_low) + " .. " + fmt(r.metric)(r.ci_high)]));
    }
    t.id = "group-table";
    const runs = el("ul", {}, ...doc.runs.map((r) => el("li", {}, el("a", { href: "/run/" + encodeURIComponent(r.id) }, r.id + " " + r.name), " " + r.status)));
    main.replaceChildren(el("h1", {}, doc.ref + " " + doc.name + " (" + doc.kind + ")"), t, el("h2", {}, "Runs"), runs);
    document.body.setAttribute("data-ready", "1");
  }

  const pages = { runs: runsPage, run: runPage, compare: comparePage, group: groupPage };
  (pages[document.body.dataset.page] || runsPage)().catch(fail);
})();
