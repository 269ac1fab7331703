"use strict";
// The guard's phone opens this page from a checkpoint's QR code (…/patrol/scan?tag=…).
// The guard logs in once with name and password: a kiosk session, so the phone stays logged in from
// checkpoint to checkpoint (each scan opens a new tab). A guard token kept on the phone works too.
(function () {
  const API = "/api/v1";
  const KEY = "edge.patrolToken";
  const $ = (id) => document.getElementById(id);
  const tag = new URLSearchParams(location.search).get("tag") || "";
  let csrf = "";

  const token = () => localStorage.getItem(KEY) || "";
  const loggedIn = () => !!(token() || csrf);

  function show() {
    $("login").hidden = loggedIn() || !tag;
    $("form").hidden = !loggedIn() || !tag;
    $("place").textContent = tag ? "巡查点 / checkpoint: " + tag : "二维码无效 / this QR code has no checkpoint";
  }

  function say(text, ok) {
    $("result").textContent = text;
    $("result").className = ok ? "ok" : "err";
  }

  function headers() {
    const h = { "Content-Type": "application/json" };
    if (token()) h.Authorization = "Bearer " + token();
    else if (csrf) h["X-CSRF-Token"] = csrf;
    return h;
  }

  async function resume() {
    const r = await fetch(API + "/me", { cache: "no-store" }).catch(() => null);
    if (r && r.ok) {
      const me = await r.json();
      if (me.via === "session") csrf = me.csrf || "";
    } else if (r) {
      await r.text().catch(() => "");
    }
    show();
  }

  async function logIn() {
    const body = { username: $("username").value.trim(), password: $("password").value, kiosk: true };
    const r = await fetch(API + "/session", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
    const data = await r.json().catch(() => ({}));
    if (!r.ok) { say(r.status === 429 ? "失败次数过多，请稍后再试 / too many attempts" : "用户名或密码错误 / wrong name or password", false); return; }
    csrf = data.csrf; $("password").value = "";
    say("", true);
    show();
  }

  function photoBase64() {
    const file = $("photo").files && $("photo").files[0];
    if (!file) return Promise.resolve(null);
    return new Promise((resolve, reject) => {
      const reader = new FileReader();
      reader.onload = () => resolve(String(reader.result).split(",", 2)[1] || null);
      reader.onerror = () => reject(new Error("photo unreadable"));
      reader.readAsDataURL(file);
    });
  }

  async function confirm() {
    $("confirm").disabled = true;
    try {
      const body = { tag: tag, source: "phone", note: $("note").value.trim() };
      const photo = await photoBase64();
      if (photo) body.photo = photo;
      const r = await fetch(API + "/patrol/checkins", { method: "POST", headers: headers(), body: JSON.stringify(body) });
      const data = await r.json().catch(() => ({}));
      if (r.status === 401 || r.status === 403) {
        localStorage.removeItem(KEY); csrf = "";
        show();
        say("登录已失效或权限不足，请重新登录 / log in again", false);
        return;
      }
      if (!r.ok) {
        say("打卡失败 / not recorded: " + (data.detail || r.status), false);
        return;
      }
      const at = new Date(data.at).toLocaleTimeString("zh-CN", { hour12: false });
      say((data.recorded ? "已打卡 / recorded: " : "已记录过 / already recorded: ") + data.name + " " + at, true);
      $("place").textContent = data.name;
    } catch (e) {
      say("网络错误，请重试 / network error, try again", false);
    } finally {
      $("confirm").disabled = false;
    }
  }

  $("log-in").addEventListener("click", () => { logIn().catch(() => say("网络错误 / network error", false)); });
  $("save-token").addEventListener("click", () => {
    const t = $("token").value.trim();
    if (t) localStorage.setItem(KEY, t);
    $("token").value = "";
    show();
  });
  $("logout").addEventListener("click", async () => {
    if (csrf) await fetch(API + "/session", { method: "DELETE", headers: headers() }).catch(() => {});
    localStorage.removeItem(KEY); csrf = "";
    show(); say("", true);
  });
  $("confirm").addEventListener("click", confirm);
  resume();
})();
