"use strict";
// The guard's phone opens this page from a checkpoint's QR code (…/patrol/scan?tag=…).
// The guard token is kept in this phone's localStorage: every scan opens a new tab, and a guard
// must not paste it at every checkpoint. The token has the guard role only.
(function () {
  const API = "/api/v1";
  const KEY = "edge.patrolToken";
  const $ = (id) => document.getElementById(id);
  const tag = new URLSearchParams(location.search).get("tag") || "";

  function show() {
    const token = localStorage.getItem(KEY) || "";
    $("login").hidden = !!token;
    $("form").hidden = !token;
    $("place").textContent = tag ? "巡查点 / checkpoint: " + tag : "二维码无效 / this QR code has no checkpoint";
    if (!tag) { $("form").hidden = true; $("login").hidden = true; }
  }

  function say(text, ok) {
    $("result").textContent = text;
    $("result").className = ok ? "ok" : "err";
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
      const r = await fetch(API + "/patrol/checkins", {
        method: "POST",
        headers: { "Content-Type": "application/json", Authorization: "Bearer " + (localStorage.getItem(KEY) || "") },
        body: JSON.stringify(body),
      });
      const data = await r.json().catch(() => ({}));
      if (r.status === 401 || r.status === 403) {
        localStorage.removeItem(KEY);
        show();
        say("令牌无效或权限不足，请重新登录 / token refused, log in again", false);
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

  $("save-token").addEventListener("click", () => {
    const t = $("token").value.trim();
    if (t) localStorage.setItem(KEY, t);
    $("token").value = "";
    show();
  });
  $("logout").addEventListener("click", () => { localStorage.removeItem(KEY); show(); say("", true); });
  $("confirm").addEventListener("click", confirm);
  show();
})();
