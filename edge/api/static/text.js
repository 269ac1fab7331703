// Words and order for people: locations split into building and floor and sorted naturally
// (一层 before 二层 before 十层), and events told as a sentence instead of key=value.
"use strict";
window.EdgeText = (() => {
  const DIGITS = { 零: 0, 一: 1, 二: 2, 两: 2, 三: 3, 四: 4, 五: 5, 六: 6, 七: 7, 八: 8, 九: 9 };
  // "教学楼一层" -> 教学楼 / 一层; "1号楼3F", "行政楼B1", "图书馆地下一层" too. No floor: the whole text is the building.
  const FLOOR = /^(.*?)\s*((?:地下)?[零一二两三四五六七八九十\d]+(?:层|楼)|[Bb]\d+|\d+[Ff])$/;

  function chineseNumber(s) {
    if (/^\d+$/.test(s)) return Number(s);
    let n = 0, cur = 0;
    for (const ch of s) {
      if (ch === "十") { n += (cur || 1) * 10; cur = 0; } else if (ch in DIGITS) cur = DIGITS[ch]; else return NaN;
    }
    return n + cur;
  }
  function floorNumber(floor) {
    if (!floor) return -Infinity; // a building's own entries (no floor) come first
    let m = /^[Bb](\d+)$/.exec(floor);
    if (m) return -Number(m[1]);
    m = /^(\d+)[Ff]$/.exec(floor);
    if (m) return Number(m[1]);
    const below = floor.startsWith("地下"), core = floor.replace(/^地下/, "").replace(/[层楼]$/, "");
    const n = chineseNumber(core);
    return Number.isNaN(n) ? 0 : (below ? -n : n);
  }
  function place(location) {
    const loc = (location || "").trim(), m = FLOOR.exec(loc);
    if (!m || !m[1]) return { building: loc, floor: "" };
    return { building: m[1], floor: m[2] };
  }
  const collator = new Intl.Collator("zh-CN", { numeric: true });
  function compareLocations(a, b) {
    const pa = place(a), pb = place(b);
    return collator.compare(pa.building, pb.building) || (floorNumber(pa.floor) - floorNumber(pb.floor)) || collator.compare(a, b);
  }
  const compareFloors = (a, b) => floorNumber(a) - floorNumber(b) || collator.compare(a, b);

  // One event as a sentence: "南门一键报警 按下报警 (输入 0)".
  function describe(e, deviceName, t) {
    const p = e.payload || {}, extra = [];
    const reason = p.reason ? t(p.reason, "reasons") : null;
    let what = t(e.kind, "kinds");
    switch (e.kind) {
      case "alarm.press":
        if (p.input && p.input.address !== undefined) extra.push(`${t("input")} ${p.input.address}${p.input.bit !== undefined ? "." + p.input.bit : ""}`);
        break;
      case "alarm.release":
        if (p.reset) extra.push(t(p.reset, "reset"));
        break;
      case "device.tamper":
        what = t(p.state === "restored" ? "tamper_restored" : "tamper_active");
        break;
      case "device.offline":
        if (reason) extra.push(`${t("reason")}: ${reason}`);
        break;
      case "device.online":
        if (p.state && p.state !== "online") extra.push(t(p.state, "state"));
        if (Array.isArray(p.reasons) && p.reasons.length) extra.push(p.reasons.map((r) => t(r, "reasons")).join("、"));
        break;
      case "camera.quality":
        extra.push(t(p.verdict || "unknown", "verdict"));
        if (Array.isArray(p.failures) && p.failures.length) extra.push(p.failures.map((f) => t(f, "failures")).join("、"));
        break;
      case "camera.retention":
        extra.push(t(p.verdict || "unknown", "verdict"));
        if (p.retained_days !== undefined && p.retained_days !== null) extra.push(`${p.retained_days}/${p.required_days ?? "?"} ${t("days")}`);
        if (p.shortfall_days) extra.push(`${t("shortfall")} ${p.shortfall_days} ${t("days")}`);
        break;
      case "camera.clock":
        if (p.drift_s !== undefined) extra.push(`${p.drift_s} s`);
        if (p.verdict) extra.push(t(p.verdict, "verdict"));
        break;
      case "relay.link":
        what = `${t("relay.link", "kinds")} ${t(p.state || "unknown", "state")}`;
        if (p.receiver) extra.push(p.receiver);
        if (reason) extra.push(`${t("reason")}: ${reason}`);
        break;
      case "gateway.stall":
        if (p.seconds !== undefined) extra.push(`${Math.round(p.seconds)} s`);
        break;
      default:
        break;
    }
    return `${deviceName} ${what}${extra.length ? ` (${extra.join(", ")})` : ""}`;
  }
  return { place, compareLocations, compareFloors, describe };
})();
