// The patrol card: today's rounds per plan (who, when, what is missing) and the 5-a-day verdict.
"use strict";
window.PatrolPanel = (function () {
  function el(tag, attrs, ...kids) {
    const n = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) if (v !== null && v !== undefined) n.setAttribute(k, v);
    for (const k of kids) n.append(k instanceof Node ? k : String(k));
    return n;
  }
  const GOOD = new Set(["complete", "in_progress", "upcoming"]);

  // `t(key, group)` and `time(iso)` are the dashboard's own translation and time formatting.
  function render(box, day, t, time) {
    box.replaceChildren();
    for (const plan of day.plans) {
      const names = Object.fromEntries(plan.checkpoints.map((c) => [c.id, c.name]));
      const verdict = el("span", { class: `verdict ${plan.verdict === "fail" ? "bad" : plan.verdict === "pass" ? "ok" : ""}` },
        t(plan.verdict, "patrol_verdict"));
      const head = el("h3", { class: "patrol-plan" }, `${plan.name} `, verdict,
        el("span", { class: "muted small" }, ` ${t("patrol_walked")} ${plan.rounds_walked} / ${t("patrol_required")} ${plan.rounds_required} · ${plan.window}`));
      const list = el("ul", { class: "patrol-rounds" });
      for (const r of plan.rounds) {
        const when = r.started_at ? `${time(r.started_at)}${r.finished_at ? "–" + time(r.finished_at) : ""}` : (r.due_at ? time(r.due_at) : "—");
        const missing = r.missing.length ? ` · ${t("patrol_missing")}: ${r.missing.map((c) => names[c] || c).join("、")}` : "";
        list.append(el("li", { class: GOOD.has(r.status) ? "" : "bad", "data-status": r.status },
          `${t("patrol_round").replace("{n}", r.index)} ${t(r.status, "patrol_status")} · ${when}` +
          (r.guards.length ? ` · ${r.guards.join("、")}` : "") + missing));
      }
      if (!plan.rounds.length) list.append(el("li", { class: "muted" }, t("patrol_none")));
      box.append(head, list);
    }
    if (day.problems.length) {
      const ul = el("ul", { class: "patrol-problems" });
      for (const p of day.problems) ul.append(el("li", {}, `${time(p.at)} ${p.name || p.checkpoint} · ${p.guard}: ${p.note}`));
      box.append(el("h3", {}, t("patrol_problems")), ul);
    }
  }
  return { render };
})();
