// Alarm sounds, WebAudio only (no audio file). Browsers keep an AudioContext suspended until the
// person touches the page (autoplay policy, and after every reload): `armed()` says whether sound
// can really be heard now, so the page never claims 声音开 while it is silent.
"use strict";
window.EdgeSound = (() => {
  const PANIC_EVERY_MS = 1500; // an open panic sounds this often until someone acknowledges it
  let ctx = null, wanted = true, panicTimer = null;
  const listeners = [];
  const changed = () => listeners.forEach((f) => f());

  function context() {
    const Ctx = window.AudioContext || window.webkitAudioContext;
    if (!ctx && Ctx) { ctx = new Ctx(); ctx.addEventListener("statechange", changed); }
    return ctx;
  }
  // Called from every user gesture: a resume outside one is refused by the browser.
  function unlock() {
    const c = context();
    if (c && c.state !== "running") c.resume().then(changed, changed);
    changed();
  }
  const armed = () => Boolean(ctx && ctx.state === "running");
  const count = (name) => { document.body.dataset[name] = String(Number(document.body.dataset[name] || 0) + 1); };

  function tone(type, steps, gain, length) {
    const now = ctx.currentTime, o = ctx.createOscillator(), g = ctx.createGain();
    o.type = type;
    steps.forEach(([hz, at]) => o.frequency.setValueAtTime(hz, now + at));
    g.gain.setValueAtTime(gain, now); g.gain.exponentialRampToValueAtTime(0.001, now + length);
    o.connect(g).connect(ctx.destination); o.start(now); o.stop(now + length);
  }
  // Panic: a loud two-tone square-wave siren. Device fault: one soft low sine "ding-dong".
  // Counters on <body> let tests and kiosk monitors see which sound really played.
  function panic() {
    if (!wanted || !armed()) return;
    tone("square", [[880, 0], [660, 0.25]], 0.18, 0.5);
    count("beeps"); document.body.dataset.lastSound = "panic";
  }
  function fault() {
    if (!wanted || !armed()) return;
    tone("sine", [[523, 0], [392, 0.35]], 0.06, 0.8);
    count("chimes"); document.body.dataset.lastSound = "fault";
  }
  function panicOn() { if (!panicTimer) { panic(); panicTimer = setInterval(panic, PANIC_EVERY_MS); } }
  function panicOff() { clearInterval(panicTimer); panicTimer = null; }

  return {
    context, unlock, armed, panic, fault, panicOn, panicOff,
    wanted: () => wanted,
    setWanted(on) { wanted = on; changed(); },
    onChange(f) { listeners.push(f); },
  };
})();
