// The e-map (电子地图): floor-plan tabs with every placed button and camera as a marker coloured by its
// state. An open panic opens its floor and makes its marker flash. Technicians upload plans and drag
// markers; positions are fractions of the image, so they hold at any screen size.
"use strict";
window.EMap = (function () {
  const M = { plan: null, urls: {}, loading: {}, imgs: {}, editing: false, dragging: false, panicShown: new Set() };
  let ctx = null; // { api, t, el, me, refresh }

  function el(tag, attrs, ...kids) { return ctx.el(tag, attrs, ...kids); }
  const canEdit = () => ctx.me && ["technician", "admin"].includes(ctx.me.role);

  async function image(plan) {
    const key = `${plan.id}@${plan.updated_at}`;
    if (M.urls[key]) return M.urls[key];
    if (!M.loading[key]) {
      M.loading[key] = ctx.api(`/floorplans/${encodeURIComponent(plan.id)}/image`).then(async (r) => {
        if (!r.ok) throw new Error(String(r.status));
        M.urls[key] = URL.createObjectURL(await r.blob());
        return M.urls[key];
      });
    }
    return M.loading[key];
  }

  async function put(path, body) {
    const r = await ctx.api(path, { method: "PUT", body: JSON.stringify(body) });
    if (!r.ok) { const d = await r.json().catch(() => ({})); throw new Error(d.detail || String(r.status)); }
    return r.json();
  }

  function dragMarker(marker, plan, stage, deviceId) {
    marker.addEventListener("pointerdown", (ev) => {
      if (!M.editing) return;
      ev.preventDefault();
      marker.setPointerCapture(ev.pointerId);
      M.dragging = true;
      const move = (e) => {
        const box = stage.getBoundingClientRect();
        const x = Math.min(1, Math.max(0, (e.clientX - box.left) / box.width));
        const y = Math.min(1, Math.max(0, (e.clientY - box.top) / box.height));
        marker.style.left = `${x * 100}%`; marker.style.top = `${y * 100}%`;
        marker.dataset.x = String(x); marker.dataset.y = String(y);
      };
      const up = () => {
        marker.removeEventListener("pointermove", move);
        marker.removeEventListener("pointerup", up);
        M.dragging = false;
        if (marker.dataset.x === undefined) return;
        put(`/floorplans/${plan.id}/positions`, { positions: { [deviceId]: { x: Number(marker.dataset.x), y: Number(marker.dataset.y) } } })
          .then(ctx.refresh, (e) => { $err().textContent = e.message; });
      };
      marker.addEventListener("pointermove", move);
      marker.addEventListener("pointerup", up);
    });
  }
  const $err = () => document.getElementById("emap-error");

  function render(c, plans, devices, alarms) {
    ctx = c;
    const card = document.getElementById("emap");
    card.hidden = !plans.length && !canEdit();
    if (card.hidden) return;
    document.getElementById("emap-tools").hidden = !canEdit();
    const panicDevices = new Set(alarms.filter((a) => a.priority === 1 && a.state === "open").map((a) => a.device_id));
    // A new panic on a placed device opens its floor, once: the guard may look elsewhere afterwards.
    for (const p of plans) {
      for (const id of Object.keys(p.positions)) {
        const alarm = alarms.find((a) => a.device_id === id && a.priority === 1 && a.state === "open");
        if (alarm && !M.panicShown.has(alarm.id)) { M.panicShown.add(alarm.id); M.plan = p.id; }
      }
    }
    if (!plans.some((p) => p.id === M.plan)) M.plan = plans.length ? plans[0].id : null;
    const tabs = document.getElementById("emap-tabs");
    tabs.replaceChildren(...plans.map((p) => {
      const alarm = Object.keys(p.positions).some((id) => panicDevices.has(id));
      const b = el("button", { type: "button", class: `tab${p.id === M.plan ? " on" : ""}${alarm ? " alarm" : ""}`, "data-plan": p.id }, p.name);
      b.addEventListener("click", () => { M.plan = p.id; render(ctx, plans, devices, alarms); });
      return b;
    }));
    const stage = document.getElementById("emap-stage");
    const plan = plans.find((p) => p.id === M.plan);
    if (!plan) { stage.replaceChildren(el("p", { class: "muted" }, ctx.t("emap_none"))); return; }
    // A refresh arriving mid-drag would replace the marker under the pointer: the drop refreshes anyway.
    if (M.dragging) return;
    const byId = Object.fromEntries(devices.map((d) => [d.id, d]));
    // One <img> per plan version, kept across refreshes: a new element would blink empty until its
    // blob URL is set again, and a click on it in that moment would miss the plan.
    const key = `${plan.id}@${plan.updated_at}`;
    let img = M.imgs[key];
    if (!img) {
      img = M.imgs[key] = el("img", { class: "emap-img", alt: plan.name, draggable: "false" });
      image(plan).then((url) => { img.src = url; }, () => { img.alt = ctx.t("emap_no_image"); });
    }
    const markers = Object.entries(plan.positions).map(([id, pos]) => {
      const d = byId[id] || { id, name: id, state: "unknown", type: "" };
      const m = el("div", {
        class: `marker ${d.type} ${d.state}${panicDevices.has(id) ? " panic" : ""}${M.editing ? " editable" : ""}`,
        title: `${d.name} · ${ctx.t(d.state, "state")}`, "data-id": id,
      }, el("span", { class: "marker-label" }, d.name));
      // Through the CSSOM, not a style attribute: the CSP allows no inline styles.
      m.style.left = `${pos.x * 100}%`; m.style.top = `${pos.y * 100}%`;
      dragMarker(m, plan, stage, id);
      return m;
    });
    stage.replaceChildren(img, ...markers);
    stage.onclick = (ev) => {
      const pick = document.getElementById("emap-device");
      if (!M.editing || !pick.value || ev.target.closest(".marker")) return;
      const box = stage.getBoundingClientRect();
      const pos = { x: (ev.clientX - box.left) / box.width, y: (ev.clientY - box.top) / box.height };
      put(`/floorplans/${plan.id}/positions`, { positions: { [pick.value]: pos } }).then(ctx.refresh, (e) => { $err().textContent = e.message; });
    };
    const placed = new Set(plans.flatMap((p) => Object.keys(p.positions)));
    const pick = document.getElementById("emap-device");
    const keep = pick.value;
    pick.replaceChildren(el("option", { value: "" }, ctx.t("emap_pick")),
      ...devices.filter((d) => d.type === "button" || d.type === "camera")
        .map((d) => el("option", { value: d.id, selected: d.id === keep ? "" : null }, `${placed.has(d.id) ? "✓ " : ""}${d.name}`)));
  }

  function readFile(file) {
    return new Promise((resolve, reject) => {
      const reader = new FileReader();
      reader.onload = () => resolve(String(reader.result).split(",", 2)[1] || "");
      reader.onerror = () => reject(new Error("unreadable file"));
      reader.readAsDataURL(file);
    });
  }

  function wire() {
    document.getElementById("emap-edit").addEventListener("change", (e) => { M.editing = e.target.checked; if (ctx) ctx.refresh(); });
    document.getElementById("emap-upload").addEventListener("submit", async (e) => {
      e.preventDefault();
      const f = e.target;
      $err().textContent = "";
      try {
        const file = f.querySelector("#emap-file").files[0];
        if (!file) throw new Error(ctx.t("emap_need_file"));
        const id = `plan-${Date.now().toString(36)}`;
        await put(`/floorplans/${id}`, { name: f.querySelector("#emap-name").value.trim(), building: f.querySelector("#emap-building").value.trim(),
          floor: f.querySelector("#emap-floor").value.trim(), image: await readFile(file) });
        M.plan = id; f.reset(); ctx.refresh();
      } catch (err) { $err().textContent = err.message; }
    });
  }
  return { render, wire };
})();
