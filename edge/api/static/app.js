// Security-room dashboard: vanilla JS, no build step, nothing loaded from outside the gateway.
// The token lives in sessionStorage only; the live stream is read with fetch() so the token
// travels in the Authorization header, never in a URL.
"use strict";
(() => {
  const API = "/api/v1";
  const BEEP_EVERY_MS = 1500;      // an open alarm beeps this often until someone acknowledges it
  const REFRESH_DEBOUNCE_MS = 150; // many changes in one commit burst cause one refresh
  const RECONNECT_MS = 2000;       // wait before re-opening a dropped stream
  const $ = (id) => document.getElementById(id);
  const S = {
    token: sessionStorage.getItem("edge.token") || "",
    lang: localStorage.getItem("edge.lang") || "zh",
    status: null, devices: [], lastSeq: null, stream: null, sound: true, audio: null,
    eventsCursor: null, refreshTimer: null, beepTimer: null,
  };

  // ---- text -------------------------------------------------------------------------------
  function t(key, group) {
    const d = window.I18N[S.lang], z = window.I18N.zh;
    if (group) return (d[group] && d[group][key]) || (S.lang === "en" ? String(key).replace(/_/g, " ") : (z[group][key] || key));
    return d[key] || z[key] || key;
  }
  function applyLang() {
    document.documentElement.lang = S.lang === "zh" ? "zh-CN" : "en";
    document.title = t("title");
    document.querySelectorAll("[data-i18n]").forEach((n) => { n.textContent = t(n.dataset.i18n); });
    $("lang").textContent = S.lang === "zh" ? "EN" : "中文";
    $("sound").textContent = t(S.sound ? "sound_on" : "sound_off");
    if (S.status) renderAll();
  }
  function el(tag, attrs, ...kids) {
    const n = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "class") n.className = v; else if (k.startsWith("on")) n.addEventListener(k.slice(2), v);
      else n.setAttribute(k, v === true ? "" : v);
    }
    for (const kid of kids.flat()) if (kid !== null && kid !== undefined) n.append(kid instanceof Node ? kid : String(kid));
    return n;
  }
  // Times show in the site's time zone (the gateway's, not the browser's), 24-hour.
  function fmtTime(iso) {
    if (!iso) return "—";
    const opts = { hour12: false, year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit" };
    if (S.status) opts.timeZone = S.status.site.timezone;
    try { return new Date(iso).toLocaleString(S.lang === "zh" ? "zh-CN" : "en-GB", opts); }
    catch (e) { delete opts.timeZone; return new Date(iso).toLocaleString(undefined, opts); }
  }
  function fmtAge(seconds) {
    if (seconds === null || seconds === undefined) return "—";
    const s = Math.max(0, Math.floor(seconds)), h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60);
    const pad = (x) => String(x).padStart(2, "0");
    return h ? `${h}:${pad(m)}:${pad(s % 60)}` : `${pad(m)}:${pad(s % 60)}`;
  }
  const pct = (x) => (x === null || x === undefined) ? "—" : `${Math.round(x * 1000) / 10}%`;

  // ---- HTTP -------------------------------------------------------------------------------
  async function api(path, opts = {}) {
    const headers = Object.assign({ Authorization: `Bearer ${S.token}` }, opts.headers || {});
    if (opts.body) headers["Content-Type"] = "application/json";
    const r = await fetch(API + path, Object.assign({}, opts, { headers }));
    if (r.status === 401) { logout(t("bad_token")); throw new Error("401"); }
    if (r.status === 429) { logout(t("too_many")); throw new Error("429"); }
    return r;
  }
  async function getJSON(path) {
    const r = await api(path);
    if (!r.ok) throw new Error(`${path}: ${r.status}`);
    return r.json();
  }

  // ---- login ------------------------------------------------------------------------------
  function showLogin(msg) {
    $("app").hidden = true; $("login").hidden = false; $("login-error").textContent = msg || "";
    $("token").focus();
  }
  function logout(msg) {
    S.token = ""; S.me = null; sessionStorage.removeItem("edge.token");
    if (S.stream) S.stream.abort();
    S.stream = null; stopBeep(); showLogin(msg);
  }
  async function login(ev) {
    ev.preventDefault();
    S.token = $("token").value.trim();
    unlockAudio();
    const r = await fetch(API + "/status", { headers: { Authorization: `Bearer ${S.token}` } });
    if (!r.ok) { $("login-error").textContent = t(r.status === 429 ? "too_many" : "bad_token"); return; }
    sessionStorage.setItem("edge.token", S.token);
    $("token").value = "";
    start();
  }
  async function start() {
    $("login").hidden = true; $("app").hidden = false;
    await refresh(true);
    openStream();
  }

  // ---- sound: a WebAudio beep, no audio file --------------------------------------------
  function unlockAudio() {
    const Ctx = window.AudioContext || window.webkitAudioContext;
    if (!S.audio && Ctx) S.audio = new Ctx();
    if (S.audio && S.audio.state === "suspended") S.audio.resume();
  }
  function beep() {
    if (!S.sound || !S.audio) return;
    const o = S.audio.createOscillator(), g = S.audio.createGain(), now = S.audio.currentTime;
    o.type = "square"; o.frequency.setValueAtTime(880, now); o.frequency.setValueAtTime(660, now + 0.25);
    g.gain.setValueAtTime(0.15, now); g.gain.exponentialRampToValueAtTime(0.001, now + 0.5);
    o.connect(g).connect(S.audio.destination); o.start(now); o.stop(now + 0.5);
    document.body.dataset.beeps = String(Number(document.body.dataset.beeps || 0) + 1); // for tests and kiosks
  }
  function startBeep() { if (!S.beepTimer) { beep(); S.beepTimer = setInterval(beep, BEEP_EVERY_MS); } }
  function stopBeep() { clearInterval(S.beepTimer); S.beepTimer = null; }

  // ---- data -------------------------------------------------------------------------------
  async function refresh(withEvents) {
    if (!S.me) S.me = await getJSON("/me");
    const [status, devices, summary] = await Promise.all([
      getJSON("/status"), getJSON("/devices"), getJSON("/summary")]);
    S.status = status; S.devices = devices; S.summary = summary;
    renderAll();
    if (withEvents) await loadEvents(false);
  }
  function scheduleRefresh(withEvents) {
    S.pendingEvents = S.pendingEvents || withEvents;
    clearTimeout(S.refreshTimer);
    S.refreshTimer = setTimeout(() => {
      const ev = S.pendingEvents; S.pendingEvents = false;
      refresh(ev && filtersEmpty()).catch(() => {});
    }, REFRESH_DEBOUNCE_MS);
  }

  // ---- live stream over fetch (SSE framing) ----------------------------------------------
  async function openStream() {
    if (S.stream) S.stream.abort();
    const ctl = new AbortController(); S.stream = ctl;
    const headers = { Authorization: `Bearer ${S.token}`, Accept: "text/event-stream" };
    if (S.lastSeq !== null) headers["Last-Event-ID"] = String(S.lastSeq);
    try {
      const r = await fetch(API + "/stream", { headers, signal: ctl.signal, cache: "no-store" });
      if (r.status === 401) { logout(t("bad_token")); return; }
      if (!r.ok || !r.body) throw new Error(String(r.status));
      setLive(true);
      const reader = r.body.pipeThrough(new TextDecoderStream()).getReader();
      let buf = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += value;
        let cut;
        while ((cut = buf.indexOf("\n\n")) >= 0) { onFrame(buf.slice(0, cut)); buf = buf.slice(cut + 2); }
      }
    } catch (e) { if (ctl.signal.aborted) return; }
    if (S.stream !== ctl || !S.token) return;
    setLive(false);
    setTimeout(() => { if (S.stream === ctl && S.token) { openStream(); scheduleRefresh(true); } }, RECONNECT_MS);
  }
  function onFrame(frame) {
    let id = null, type = "message", data = "";
    for (const line of frame.split("\n")) {
      if (line.startsWith(":")) continue;
      const i = line.indexOf(":"), k = i < 0 ? line : line.slice(0, i), v = i < 0 ? "" : line.slice(i + 1).replace(/^ /, "");
      if (k === "id") id = v; else if (k === "event") type = v; else if (k === "data") data += v;
    }
    if (id !== null) S.lastSeq = Number(id);
    if (type === "hello" || type === "reset") { if (S.lastSeq === null || type === "reset") S.lastSeq = JSON.parse(data).seq; if (type === "reset") scheduleRefresh(true); return; }
    if (!data) return;
    scheduleRefresh(type === "event");
  }
  function setLive(on) {
    $("live-dot").className = on ? "dot live" : "dot down";
    $("live-dot").title = t(on ? "live" : "offline_conn");
  }

  // ---- rendering ----------------------------------------------------------------------------
  function renderAll() {
    $("site-name").textContent = S.status.site.name || S.status.site.id;
    renderAlarms(); renderPolice(); renderSummary(); renderBoard(); renderCameras(); renderFilters();
    const who = S.me ? ` · ${S.me.name} (${S.me.role})` : "";
    $("footer").textContent = `edge ${S.status.version} · ${t("uptime")} ${fmtAge(S.status.uptime_s)}${who}`;
  }
  function renderAlarms() {
    const list = $("alarm-list"), alarms = S.status.open_alarms.slice().reverse();
    list.replaceChildren(...alarms.map(alarmRow));
    const open = alarms.filter((a) => a.state === "open").length;
    $("no-alarms").hidden = alarms.length > 0;
    $("alarm-count").textContent = alarms.length ? String(alarms.length) : "";
    $("alarms").classList.toggle("alerting", open > 0);
    if (open > 0) startBeep(); else stopBeep();
  }
  function alarmRow(a) {
    const canAct = S.me && S.me.role !== "viewer"; // the server enforces roles; this only hides what would fail
    return el("div", { class: `alarm ${a.state}${a.test ? " test" : ""}`, "data-id": a.id, "data-state": a.state },
      el("div", { class: "a-main" },
        el("div", { class: "a-loc" }, a.location || "—"),
        el("div", { class: "a-dev" }, a.device_name || a.device_id, a.zone ? ` · #${a.zone}` : "",
          a.test ? el("span", { class: "tag" }, t("test")) : null)),
      el("div", { class: "a-time" },
        el("div", {}, `${t("opened")} ${fmtTime(a.opened_at)}`),
        el("div", { class: "elapsed", "data-since": a.opened_at }, `${t("elapsed")} ${fmtAge((Date.now() - Date.parse(a.opened_at)) / 1000)}`)),
      el("div", { class: "a-state" },
        el("span", { class: `badge ${a.state}` }, t(a.state, "state")),
        a.acked_by ? el("div", { class: "small" }, `${t("acked_by")} ${a.acked_by}`) : null,
        el("div", { class: "small muted" }, `${t("relay")}: ${t(a.relay.state, "relay_state")}`)),
      el("div", { class: "a-actions" },
        a.state === "open" && canAct ? el("button", { class: "ack", type: "button", onclick: () => ackAlarm(a) }, t("ack")) : null,
        canAct ? el("button", { class: "close", type: "button", onclick: () => closeAlarm(a) }, t("close")) : null));
  }
  function renderPolice() {
    const p = S.status.police;
    $("police-state").textContent = p.configured ? t(p.state, "state") : t("not_configured");
    $("police-state").className = p.state === "down" ? "bad" : (p.state === "up" ? "okv" : "");
    $("police-ack").textContent = fmtTime(p.last_ack_at);
    $("police-queue").textContent = String(p.outbox_depth) + (p.failed ? ` (${t("failed")} ${p.failed})` : "");
    $("police-queue").className = p.outbox_depth > 0 || p.failed ? "warn" : "";
    $("police-oldest").textContent = fmtAge(p.oldest_age_s);
    $("police-links").replaceChildren(...p.links.map((l) => el("li", { class: l.state === "down" ? "bad" : "" },
      el("span", { class: `dot ${l.state === "up" ? "online" : (l.state === "down" ? "offline" : "unknown")}` }),
      ` ${t(l.role, "role")}${l.active ? " ★" : ""} ${l.url} · ${t(l.state, "state")}`,
      l.reason ? ` (${l.reason})` : "", l.last_ack_at ? ` · ${fmtTime(l.last_ack_at)}` : "")));
  }
  function renderSummary() {
    const s = S.summary; if (!s) return;
    $("summary-date").textContent = s.date;
    const items = [];
    for (const [type, rate] of Object.entries(s.online_rate)) {
      if (rate !== null) items.push([`${t(type, "type")} ${t("online_rate")}`, pct(rate), rate < 1]);
    }
    items.push([t("retention_ok"), pct(s.retention_compliance), s.retention_compliance !== null && s.retention_compliance < 1]);
    items.push([t("quality_ok"), pct(s.quality_compliance), s.quality_compliance !== null && s.quality_compliance < 1]);
    items.push([t("alarms_today"), String(s.alarms_today), false], [t("tests_today"), String(s.tests_today), false]);
    $("summary-strip").replaceChildren(...items.map(([k, v, warn]) =>
      el("div", { class: `stat${warn ? " warn" : ""}` }, el("div", { class: "v" }, v), el("div", { class: "k" }, k))));
  }
  function reasonText(d) {
    const rs = d.reasons.map((r) => t(r, "reasons"));
    if (d.maintenance_until) rs.push(`→ ${fmtTime(d.maintenance_until)}`);
    return rs.join("，") || t(d.state, "state");
  }
  function renderBoard() {
    $("legend").replaceChildren(...["online", "degraded", "offline", "maintenance", "unknown"].map((s) =>
      el("span", { class: `chip ${s}` }, t(s, "state"))));
    const groups = new Map();
    for (const d of S.devices) {
      if (d.type === "bus" || d.type === "receiver") continue; // shown with the police link / technician pages
      if (!groups.has(d.location)) groups.set(d.location, []);
      groups.get(d.location).push(d);
    }
    const blocks = [...groups.entries()].sort((a, b) => a[0].localeCompare(b[0], "zh-CN")).map(([loc, ds]) =>
      el("div", { class: "group" }, el("h3", {}, loc || "—"),
        el("div", { class: "tiles" }, ds.map((d) => {
          const reason = reasonText(d);
          return el("button", { type: "button", class: `tile ${d.state}`, title: reason, "data-id": d.id,
            onclick: (e) => e.currentTarget.classList.toggle("show") },
          el("span", { class: "n" }, d.name), el("span", { class: "s" }, `${t(d.type, "type")} · ${t(d.state, "state")}`),
          el("span", { class: "r" }, reason));
        }))));
    $("board").replaceChildren(...blocks);
  }
  function verdictEl(label, verdict, extra) {
    const cls = verdict === "pass" ? "okv" : (verdict ? "badv" : "muted");
    return el("div", { class: "cv" }, el("span", { class: "muted" }, label), " ",
      el("span", { class: cls }, verdict ? t(verdict, "verdict") : "—"), extra ? ` ${extra}` : "");
  }
  function renderCameras() {
    const cams = S.devices.filter((d) => d.type === "camera");
    const grid = $("cameras");
    const existing = new Map([...grid.children].map((n) => [n.dataset.id, n]));
    grid.replaceChildren(...cams.map((c) => {
      const old = existing.get(c.id);
      const img = old && old.dataset.snap === (c.snapshot_at || "") ? old.querySelector(".thumb") : el("div", { class: "thumb" }, t("no_snapshot"));
      if (!(old && old.dataset.snap === (c.snapshot_at || "")) && c.snapshot_at) loadThumb(c.id, img);
      const r = c.checks.retention, q = c.checks.quality, k = c.checks.clock;
      const retExtra = r && r.retained_days !== null ? `${r.retained_days}/${r.required_days ?? "?"}${t("days")}` : "";
      const qExtra = q && q.failures.length ? q.failures.map((f) => t(f, "failures")).join("、") : "";
      return el("div", { class: `cam ${c.state}`, "data-id": c.id, "data-snap": c.snapshot_at || "", title: reasonText(c) },
        img,
        el("div", { class: "cam-info" },
          el("div", { class: "n" }, el("span", { class: `dot ${c.state}` }), ` ${c.name}`, el("span", { class: "muted small" }, ` ${c.location}`)),
          verdictEl(t("quality"), q && q.verdict, qExtra),
          verdictEl(t("retention"), r && r.verdict, retExtra),
          el("div", { class: "cv small muted" }, `${t("clock")} ${k && k.drift_s !== null ? k.drift_s + " s" : "—"} · ${fmtTime(c.snapshot_at)}`)));
    }));
  }
  async function loadThumb(id, box) {
    try {
      const r = await api(`/cameras/${encodeURIComponent(id)}/snapshot`);
      if (!r.ok) return;
      const url = URL.createObjectURL(await r.blob());
      const img = el("img", { src: url, alt: id, class: "thumb" });
      img.onload = () => URL.revokeObjectURL(url);
      box.replaceWith(img);
    } catch (e) { /* keep the placeholder */ }
  }

  // ---- actions -------------------------------------------------------------------------
  function ask(title, text, required) {
    return new Promise((resolve) => {
      const dlg = $("dialog");
      $("dialog-title").textContent = title; $("dialog-text").textContent = text;
      $("dialog-input").value = ""; $("dialog-error").textContent = "";
      const done = (v) => { dlg.close(); $("dialog-form").onsubmit = null; $("dialog-cancel").onclick = null; resolve(v); };
      $("dialog-form").onsubmit = (e) => {
        e.preventDefault();
        const v = $("dialog-input").value.trim();
        if (required && !v) { $("dialog-error").textContent = t("reason_required"); return; }
        done(v);
      };
      $("dialog-cancel").onclick = () => done(null);
      dlg.oncancel = () => done(null);
      dlg.showModal(); $("dialog-input").focus();
    });
  }
  async function act(path, body) {
    const r = await api(path, { method: "POST", body: JSON.stringify(body) });
    if (r.status === 403) alert(t("forbidden"));
    else if (!r.ok && r.status !== 409) alert(`${t("failed")} (${r.status})`);
    await refresh(false);
  }
  async function ackAlarm(a) {
    unlockAudio();
    const note = await ask(t("ack_title"), `${a.location} · ${a.device_name || a.device_id} — ${t("ack_text")}`, false);
    if (note !== null) await act(`/alarms/${encodeURIComponent(a.id)}/ack`, { note });
  }
  async function closeAlarm(a) {
    const reason = await ask(t("close_title"), `${a.location} · ${a.device_name || a.device_id} — ${t("close_text")}`, true);
    if (reason !== null) await act(`/alarms/${encodeURIComponent(a.id)}/close`, { reason });
  }

  // ---- event history -------------------------------------------------------------------
  function option(value, label, selected) { return el("option", { value, selected: selected || null }, label); }
  function renderFilters() {
    const keep = (id) => $(id).value;
    const k = keep("f-kind"), l = keep("f-location"), d = keep("f-device");
    $("f-kind").replaceChildren(option("", t("all_kinds")), ...Object.keys(window.I18N.zh.kinds).map((x) => option(x, t(x, "kinds"), x === k)));
    const locs = [...new Set(S.devices.map((x) => x.location))].sort();
    $("f-location").replaceChildren(option("", t("all_locations")), ...locs.map((x) => option(x, x, x === l)));
    $("f-device").replaceChildren(option("", t("all_devices")), ...S.devices.map((x) => option(x.id, x.name, x.id === d)));
  }
  function filtersEmpty() { return !$("f-kind").value && !$("f-location").value && !$("f-device").value && !$("f-since").value; }
  function eventQuery(cursor) {
    const q = new URLSearchParams({ limit: "50" });
    if ($("f-kind").value) q.set("kind", $("f-kind").value);
    if ($("f-location").value) q.set("location", $("f-location").value);
    if ($("f-device").value) q.set("device", $("f-device").value);
    if ($("f-since").value) q.set("since", new Date($("f-since").value).toISOString());
    if (cursor) q.set("cursor", cursor);
    return q;
  }
  async function loadEvents(more) {
    const page = await getJSON(`/events?${eventQuery(more ? S.eventsCursor : null)}`);
    const names = new Map(S.devices.map((d) => [d.id, d]));
    const rows = page.items.map((e) => {
      const d = names.get(e.device_id);
      const detail = Object.entries(e.payload).map(([k, v]) => `${k}=${Array.isArray(v) ? v.join(",") : (typeof v === "object" ? JSON.stringify(v) : v)}`).join(" ");
      return el("tr", { class: e.kind.startsWith("alarm") ? "hot" : "" },
        el("td", {}, fmtTime(e.time)), el("td", {}, d ? d.name : e.device_id), el("td", {}, d ? d.location : ""),
        el("td", {}, t(e.kind, "kinds"), e.test ? el("span", { class: "tag" }, t("test")) : null), el("td", { class: "small" }, detail));
    });
    if (!more && !rows.length) rows.push(el("tr", {}, el("td", { colspan: "5", class: "muted" }, t("no_events"))));
    if (more) $("event-rows").append(...rows); else $("event-rows").replaceChildren(...rows);
    S.eventsCursor = page.next_cursor; $("more").hidden = !page.next_cursor;
  }

  // ---- wiring ----------------------------------------------------------------------------
  $("login-form").addEventListener("submit", (e) => { login(e).catch(() => { $("login-error").textContent = t("bad_token"); }); });
  $("logout").addEventListener("click", () => logout(""));
  $("lang").addEventListener("click", () => { S.lang = S.lang === "zh" ? "en" : "zh"; localStorage.setItem("edge.lang", S.lang); applyLang(); loadEvents(false).catch(() => {}); });
  $("sound").addEventListener("click", () => { S.sound = !S.sound; unlockAudio(); applyLang(); });
  $("filters").addEventListener("submit", (e) => { e.preventDefault(); loadEvents(false).catch(() => {}); });
  $("f-reset").addEventListener("click", () => { $("filters").reset(); loadEvents(false).catch(() => {}); });
  $("more").addEventListener("click", () => loadEvents(true).catch(() => {}));
  setInterval(() => {
    $("clock").textContent = fmtTime(new Date().toISOString());
    document.querySelectorAll(".elapsed").forEach((n) => { n.textContent = `${t("elapsed")} ${fmtAge((Date.now() - Date.parse(n.dataset.since)) / 1000)}`; });
  }, 1000);
  applyLang();
  if (S.token) start().catch(() => {}); else showLogin("");
})();
