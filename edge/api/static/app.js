// Security-room dashboard: vanilla JS, no build step, nothing loaded from outside the gateway.
// The token lives in sessionStorage only; the live stream is read with fetch() so the token
// travels in the Authorization header, never in a URL.
"use strict";
(() => {
  const API = "/api/v1";
  const REFRESH_DEBOUNCE_MS = 150; // many changes in one commit burst cause one refresh
  const RECONNECT_MS = 2000;       // wait before re-opening a dropped stream
  const HEALTH_EVERY_MS = 2000;    // /healthz poll: a frozen daemon keeps its TCP stream open and silent
  const HEALTH_TIMEOUT_MS = 2500;  // a healthy gateway answers in milliseconds; this is a stopped one
  const STALE_AFTER_MS = 5000;     // "a few seconds" without fresh data: say so, grey every figure out
  const Sound = window.EdgeSound, Text = window.EdgeText;
  const $ = (id) => document.getElementById(id);
  const S = {
    token: sessionStorage.getItem("edge.token") || "",
    lang: localStorage.getItem("edge.lang") || "zh",
    status: null, devices: [], lastSeq: null, stream: null,
    eventsCursor: null, refreshTimer: null, chimed: new Set(),
    healthOkAt: Date.now(), dataAt: null, streamDownSince: null, stale: false, recovering: false,
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
    renderSound();
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
  // A token (machines, or pasted) goes as a bearer header; a person's login is the HttpOnly cookie,
  // and every write carries the session's CSRF token.
  const authed = () => !!(S.token || S.csrf);
  function authHeaders(method) {
    const h = {};
    if (S.token) h.Authorization = `Bearer ${S.token}`;
    else if (S.csrf && method && !["GET", "HEAD"].includes(method.toUpperCase())) h["X-CSRF-Token"] = S.csrf;
    return h;
  }
  async function api(path, opts = {}) {
    const headers = Object.assign(authHeaders(opts.method), opts.headers || {});
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
    $("app").hidden = true; $("login").hidden = false; $("logout").hidden = true; $("login-error").textContent = msg || "";
    $("username").focus();
  }
  async function userLogout() {
    if (S.csrf) await fetch(API + "/session", { method: "DELETE", headers: authHeaders("DELETE") }).catch(() => {});
    logout("");
  }
  function logout(msg) {
    if (S.csrf && msg) msg = t("session_ended");
    S.token = ""; S.csrf = ""; S.me = null; sessionStorage.removeItem("edge.token");
    if (S.stream) S.stream.abort();
    S.stream = null; Sound.panicOff(); S.stale = false; renderStale(); showLogin(msg);
  }
  async function login(ev) {
    ev.preventDefault();
    Sound.unlock();
    if (!$("token").value.trim()) return loginPassword();
    S.token = $("token").value.trim();
    const r = await fetch(API + "/status", { headers: { Authorization: `Bearer ${S.token}` } });
    if (!r.ok) { $("login-error").textContent = t(r.status === 429 ? "too_many" : "bad_token"); return; }
    sessionStorage.setItem("edge.token", S.token);
    $("token").value = "";
    start();
  }
  async function loginPassword() {
    const body = { username: $("username").value.trim(), password: $("password").value, kiosk: $("kiosk").checked };
    if (!body.username || !body.password) { $("login-error").textContent = t("need_login"); return; }
    const r = await fetch(API + "/session", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
    if (!r.ok) { $("login-error").textContent = t(r.status === 429 ? "too_many" : "bad_login"); return; }
    S.csrf = (await r.json()).csrf;
    $("password").value = "";
    start();
  }
  // After a reload: a login cookie may still be good (the page cannot read it, /me tells).
  async function resume() {
    const r = await fetch(API + "/me", { cache: "no-store" }).catch(() => null);
    if (r && !r.ok) await r.text().catch(() => ""); // read to the end: an unread body keeps the request open
    if (!r || !r.ok) { showLogin(""); return; }
    const me = await r.json();
    if (me.via !== "session" || !me.csrf) { showLogin(""); return; }
    S.csrf = me.csrf; S.me = me;
    start();
  }
  async function start() {
    $("login").hidden = true; $("app").hidden = false; $("logout").hidden = false;
    Sound.context(); // suspended after a reload until a gesture: the sound bar asks for one
    S.healthOkAt = Date.now(); renderSound();
    await refresh(true);
    openStream();
  }

  // ---- sound: armed only after a gesture (see sound.js); the page says so until it is -----
  function renderSound() {
    const armed = Sound.armed(), wanted = Sound.wanted();
    $("sound").textContent = t(!wanted ? "sound_off" : (armed ? "sound_on" : "sound_unarmed"));
    $("sound").dataset.armed = String(armed && wanted);
    $("sound-bar").hidden = !wanted || armed || $("app").hidden;
  }
  Sound.onChange(() => { renderSound(); if (S.status) renderAlarms(); });

  // ---- data -------------------------------------------------------------------------------
  async function refresh(withEvents) {
    if (!S.me) S.me = await getJSON("/me");
    const [status, devices, summary, patrol, plans] = await Promise.all([
      getJSON("/status"), getJSON("/devices"), getJSON("/summary"), patrolDay(), getJSON("/floorplans")]);
    S.status = status; S.devices = devices; S.summary = summary; S.patrol = patrol; S.floorplans = plans;
    S.dataAt = Date.now();
    renderAll();
    if (withEvents) await loadEvents(false);
  }
  // A site without a patrol section answers 404: the card stays hidden.
  async function patrolDay() {
    const r = await api("/patrol");
    return r.ok ? r.json() : null;
  }
  function renderMap() {
    EMap.render({ api, t, el, me: S.me, refresh: () => scheduleRefresh(false) }, S.floorplans || [], S.devices || [],
      S.status.open_alarms);
  }
  function renderPatrol() {
    $("patrol").hidden = !S.patrol;
    if (!S.patrol) return;
    $("patrol-date").textContent = S.patrol.date;
    const tz = S.status ? S.status.site.timezone : undefined;
    const hm = (iso) => new Date(iso).toLocaleTimeString("zh-CN", { hour12: false, hour: "2-digit", minute: "2-digit", timeZone: tz });
    PatrolPanel.render($("patrol-plans"), S.patrol, t, hm);
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
    const headers = Object.assign(authHeaders("GET"), { Accept: "text/event-stream" });
    if (S.lastSeq !== null) headers["Last-Event-ID"] = String(S.lastSeq);
    try {
      const r = await fetch(API + "/stream", { headers, signal: ctl.signal, cache: "no-store" });
      if (r.status === 401) { logout(t("bad_token")); return; }
      if (!r.ok || !r.body) throw new Error(String(r.status));
      setLive(true);
      if (S.recovering) scheduleRefresh(true);
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
    if (S.stream !== ctl || !authed()) return;
    setLive(false);
    setTimeout(() => { if (S.stream === ctl && authed()) { openStream(); scheduleRefresh(true); } }, RECONNECT_MS);
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
    S.live = on;
    if (on) S.streamDownSince = null; else if (S.streamDownSince === null) S.streamDownSince = Date.now();
    checkStale();
  }

  // ---- stale data: a dead stream or a /healthz that stops answering greys everything out ----
  async function pollHealth() {
    if (!authed()) return;
    const ctl = new AbortController(), timer = setTimeout(() => ctl.abort(), HEALTH_TIMEOUT_MS);
    try {
      const r = await fetch("/healthz", { cache: "no-store", signal: ctl.signal });
      if (r.ok) S.healthOkAt = Date.now();
    } catch (e) { /* no answer: the age of healthOkAt grows */ }
    clearTimeout(timer);
    checkStale();
  }
  function checkStale() {
    const now = Date.now();
    const down = now - S.healthOkAt > STALE_AFTER_MS || (S.streamDownSince !== null && now - S.streamDownSince > STALE_AFTER_MS);
    if (down && !S.stale) {
      S.stale = true; S.recovering = false;
      S.staleSince = Math.min(S.healthOkAt, S.streamDownSince === null ? Infinity : S.streamDownSince);
    }
    if (!down && S.stale && !S.recovering) {
      // the gateway answers again: the figures stay grey until a refresh has really brought new ones
      S.recovering = true;
      refresh(true).then(() => { S.stale = false; S.recovering = false; renderStale(); }, () => { S.recovering = false; });
    }
    renderStale();
  }
  function renderStale() {
    const ok = S.live && !S.stale; // a frozen gateway keeps the stream open: the dot must not stay green
    $("live-dot").className = ok ? "dot live" : "dot down";
    $("live-dot").title = t(ok ? "live" : "offline_conn");
    document.body.classList.toggle("stale", S.stale);
    $("stale-banner").hidden = !S.stale;
    if (!S.stale) return;
    $("stale-since").textContent =
      `· ${t("stale_since")} ${fmtTime(new Date(S.staleSince).toISOString())} (${t("stale_ago")} ${fmtAge((Date.now() - S.staleSince) / 1000)})`;
  }

  // ---- rendering ----------------------------------------------------------------------------
  function renderAll() {
    $("site-name").textContent = S.status.site.name || S.status.site.id;
    renderAlarms(); renderPolice(); renderSummary(); renderBoard(); renderMap(); renderPatrol(); renderCameras(); renderFilters();
    const who = S.me ? ` · ${S.me.name} (${S.me.role})` : "";
    $("footer").textContent = `edge ${S.status.version} · ${t("uptime")} ${fmtAge(S.status.uptime_s)}${who}`;
  }
  // Panics (priority 1) have their own list above everything, open ones first: nothing that
  // arrives later, of any priority, can push an open panic down. Faults (2) and notices (3) share
  // the quieter list below; only a new fault chimes (once), notices never sound.
  const byState = (a, b) => (a.state === "open" ? 0 : 1) - (b.state === "open" ? 0 : 1);
  const newestFirst = (a, b) => Date.parse(b.opened_at) - Date.parse(a.opened_at);
  function renderAlarms() {
    const all = S.status.open_alarms;
    const panics = all.filter((a) => a.priority === 1).sort((a, b) => byState(a, b) || newestFirst(a, b));
    const rest = all.filter((a) => a.priority !== 1).sort((a, b) => a.priority - b.priority || byState(a, b) || newestFirst(a, b));
    $("alarm-list").replaceChildren(...panics.map(alarmRow));
    $("fault-list").replaceChildren(...rest.map(alarmRow));
    const open = panics.filter((a) => a.state === "open").length;
    $("no-alarms").hidden = panics.length > 0;
    $("alarm-count").textContent = panics.length ? String(panics.length) : "";
    $("no-faults").hidden = rest.length > 0;
    $("fault-count").textContent = rest.length ? String(rest.length) : "";
    $("alarms").classList.toggle("alerting", open > 0);
    $("faults").classList.toggle("has-faults", rest.some((a) => a.priority === 2 && a.state === "open"));
    if (open > 0) Sound.panicOn(); else Sound.panicOff();
    const fresh = rest.filter((a) => a.priority === 2 && a.state === "open" && !S.chimed.has(a.id));
    if (fresh.length && Sound.armed()) { fresh.forEach((a) => S.chimed.add(a.id)); Sound.fault(); }
  }
  function whatText(a) {
    const what = t(a.what, "what"), reason = a.reason ? t(a.reason, "reasons") : "";
    if (!reason) return what;
    return S.lang === "zh" ? `${what}（${reason}）` : `${what} (${reason})`;
  }
  // The linked camera's picture at the press, fetched once per alarm (the list re-renders often).
  const pictures = {};
  function alarmPicture(a) {
    const img = el("img", { class: "a-pic", alt: t("spot_picture"), title: t("spot_picture") });
    if (!pictures[a.id]) {
      pictures[a.id] = api(a.snapshot.replace(API, "")).then(async (r) => (r.ok ? URL.createObjectURL(await r.blob()) : ""));
    }
    pictures[a.id].then((url) => { if (url) img.src = url; }, () => {});
    return img;
  }
  // The recorder's clip of the seconds before the press: one <video> per alarm, kept across re-renders
  // so a guard's playback is not restarted by the next update; fetched with the session (or token).
  const clips = {};
  function alarmClip(a) {
    const c = a.clip;
    if (c.state !== "ready" || !c.url) {
      const note = c.state === "pending" ? t("clip_pending") : `${t("clip_failed")}${c.error ? ` (${t(c.error, "clip_errors")})` : ""}`;
      return el("div", { class: `a-clip ${c.state}` }, note);
    }
    let held = clips[a.id];
    if (!held || held.url !== c.url || held.bytes !== c.bytes) {
      const video = el("video", { class: "clip", controls: "", muted: "", playsinline: "", preload: "auto",
        title: t("clip_title"), "aria-label": t("clip_title") });
      video.muted = true;
      held = clips[a.id] = { url: c.url, bytes: c.bytes, node: el("div", { class: "a-clip ready" },
        el("div", { class: "small muted" }, `${t("clip_title")} · ${fmtTime(c.start)} – ${fmtTime(c.end)}`), video) };
      api(c.url.replace(API, "")).then(async (r) => {
        if (r.ok) video.src = URL.createObjectURL(await r.blob());
      }, () => {});
    }
    return held.node;
  }
  function alarmRow(a) {
    const canAct = S.me && ["operator", "technician", "admin"].includes(S.me.role); // the server enforces roles; this only hides what would fail
    const escalated = a.escalated_at ? el("span", { class: "tag esc", title: fmtTime(a.escalated_at) },
      `${t("escalated")} → ${t(a.severity, "severity")}`) : null;
    return el("div", { class: `alarm p${a.priority} ${a.state}${a.test ? " test" : ""}`, "data-id": a.id,
      "data-state": a.state, "data-priority": String(a.priority) },
      a.snapshot ? alarmPicture(a) : null,
      el("div", { class: "a-main" },
        el("div", { class: "a-what" }, el("span", { class: `prio p${a.priority}` }, t(a.priority, "prio")), " ",
          el("strong", { class: "what" }, whatText(a)), escalated),
        el("div", { class: "a-loc" }, a.location || "—"),
        el("div", { class: "a-dev" }, a.device_name || a.device_id, a.zone ? ` · #${a.zone}` : "",
          a.test ? el("span", { class: "tag" }, t("test")) : null)),
      el("div", { class: "a-time" },
        el("div", {}, `${t("since")} ${fmtTime(a.opened_at)}`),
        el("div", { class: "elapsed", "data-since": a.opened_at }, `${t("elapsed")} ${fmtAge((Date.now() - Date.parse(a.opened_at)) / 1000)}`)),
      el("div", { class: "a-state" },
        el("span", { class: `badge ${a.state}` }, t(a.state, "state")),
        a.acked_by ? el("div", { class: "small" }, `${t("acked_by")} ${a.acked_by}`) : null,
        el("div", { class: "small muted" }, `${t("relay")}: ${t(a.relay.state, "relay_state")}`)),
      el("div", { class: "a-actions" },
        a.state === "open" && canAct ? el("button", { class: "ack", type: "button", onclick: () => ackAlarm(a) }, t("ack")) : null,
        canAct ? el("button", { class: "close", type: "button", onclick: () => closeAlarm(a) }, t("close")) : null),
      a.clip ? alarmClip(a) : null);
  }
  function renderPolice() {
    const p = S.status.police;
    $("police-state").textContent = p.configured ? t(p.state, "state") : t("not_configured");
    $("police-state").className = p.state === "down" ? "bad" : (p.state === "up" ? "okv" : "");
    $("police-ack").textContent = fmtTime(p.last_ack_at);
    $("police-queue").textContent = String(p.outbox_depth) + (p.failed ? ` (${t("failed")} ${p.failed})` : "");
    $("police-queue").className = p.outbox_depth > 0 || p.failed ? "warn" : "";
    $("police-oldest").textContent = fmtAge(p.oldest_age_s);
    const u = (S.status.providers || {}).uplink || {};
    $("uplink-state").textContent = !u.configured ? t("not_configured")
      : `${t(u.connected ? "up" : "down", "state")} · ${t("uplink_backlog")} ${u.backlog ?? 0}`
        + (u.oldest_unsent_age_s != null ? ` · ${t("oldest")} ${fmtAge(u.oldest_unsent_age_s)}` : "");
    $("uplink-state").className = u.configured && !u.connected ? "bad" : (u.backlog > 0 ? "warn" : "");
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
  // Problems: anything a guard should look at; maintenance is a technician's deliberate state.
  const isProblem = (d) => d.state !== "online" && d.state !== "maintenance";
  function boardOptions(boardDevices) {
    const b = $("b-building").value, f = $("b-floor").value;
    const places = boardDevices.map((d) => Text.place(d.location));
    const buildings = [...new Set(places.map((p) => p.building))].filter(Boolean).sort(Text.compareLocations);
    const floors = [...new Set(places.filter((p) => !b || p.building === b).map((p) => p.floor).filter(Boolean))].sort(Text.compareFloors);
    $("b-building").replaceChildren(option("", t("all_buildings")), ...buildings.map((x) => option(x, x, x === b)));
    $("b-floor").replaceChildren(option("", t("all_floors")), ...floors.map((x) => option(x, x, x === f)));
    $("b-floor").hidden = floors.length === 0;
  }
  function renderBoard() {
    $("legend").replaceChildren(...["online", "degraded", "offline", "maintenance", "unknown"].map((s) =>
      el("span", { class: `chip ${s}` }, t(s, "state"))));
    // buses and receivers are shown with the police link / technician pages
    const boardDevices = S.devices.filter((d) => d.type !== "bus" && d.type !== "receiver");
    boardOptions(boardDevices);
    const problems = $("b-problems").checked, building = $("b-building").value, floor = $("b-floor").value;
    const groups = new Map();
    for (const d of boardDevices) {
      const p = Text.place(d.location);
      if ((problems && !isProblem(d)) || (building && p.building !== building) || (floor && p.floor !== floor)) continue;
      if (!groups.has(d.location)) groups.set(d.location, []);
      groups.get(d.location).push(d);
    }
    const blocks = [...groups.entries()].sort((a, b) => Text.compareLocations(a[0], b[0])).map(([loc, ds]) =>
      el("div", { class: "group", "data-location": loc }, el("h3", {}, loc || "—"),
        el("div", { class: "tiles" }, ds.map((d) => {
          const reason = reasonText(d);
          return el("button", { type: "button", class: `tile ${d.state}`, title: reason, "data-id": d.id,
            onclick: (e) => e.currentTarget.classList.toggle("show") },
          el("span", { class: "n" }, d.name), el("span", { class: "s" }, `${t(d.type, "type")} · ${t(d.state, "state")}`),
          el("span", { class: "r" }, reason));
        }))));
    $("board").replaceChildren(...blocks);
    $("board-empty").hidden = blocks.length > 0;
  }
  function saveBoardFilters() {
    localStorage.setItem("edge.board", JSON.stringify({ problems: $("b-problems").checked, building: $("b-building").value, floor: $("b-floor").value }));
  }
  function loadBoardFilters() {
    try {
      const f = JSON.parse(localStorage.getItem("edge.board") || "{}");
      $("b-problems").checked = Boolean(f.problems);
      // the options arrive with the devices; keep the wish until then
      for (const [id, v] of [["b-building", f.building], ["b-floor", f.floor]]) if (v) $(id).replaceChildren(option(v, v, true));
    } catch (e) { /* a broken saved filter is just forgotten */ }
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
    Sound.unlock();
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
    const locs = [...new Set(S.devices.map((x) => x.location))].sort(Text.compareLocations);
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
      const detail = Text.describe(e, d ? d.name : e.device_id, t);
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
  $("logout").addEventListener("click", () => { userLogout().catch(() => {}); });
  $("lang").addEventListener("click", () => { S.lang = S.lang === "zh" ? "en" : "zh"; localStorage.setItem("edge.lang", S.lang); applyLang(); loadEvents(false).catch(() => {}); });
  $("sound").addEventListener("click", () => {
    // unarmed: this click arms it (the bar's job too); armed: it toggles mute
    if (Sound.wanted() && !Sound.armed()) Sound.unlock(); else { Sound.setWanted(!Sound.wanted()); Sound.unlock(); }
  });
  $("sound-bar").addEventListener("click", () => { Sound.setWanted(true); Sound.unlock(); });
  // any touch of the page is a gesture the browser accepts to start audio
  document.addEventListener("pointerdown", () => { if (!Sound.armed()) Sound.unlock(); }, true);
  document.addEventListener("keydown", () => { if (!Sound.armed()) Sound.unlock(); }, true);
  setInterval(() => { pollHealth(); }, HEALTH_EVERY_MS);
  EMap.wire();
  for (const id of ["b-problems", "b-building", "b-floor"]) {
    $(id).addEventListener("change", () => { if (id === "b-building") $("b-floor").value = ""; saveBoardFilters(); if (S.status) renderBoard(); });
  }
  loadBoardFilters();
  $("filters").addEventListener("submit", (e) => { e.preventDefault(); loadEvents(false).catch(() => {}); });
  $("f-reset").addEventListener("click", () => { $("filters").reset(); loadEvents(false).catch(() => {}); });
  $("more").addEventListener("click", () => loadEvents(true).catch(() => {}));
  setInterval(() => {
    $("clock").textContent = fmtTime(new Date().toISOString());
    document.querySelectorAll(".elapsed").forEach((n) => { n.textContent = `${t("elapsed")} ${fmtAge((Date.now() - Date.parse(n.dataset.since)) / 1000)}`; });
    if (S.stale) renderStale();
  }, 1000);
  applyLang();
  if (S.token) start().catch(() => {}); else resume().catch(() => showLogin(""));
})();
