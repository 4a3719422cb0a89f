// 清廉 console: a little plain JavaScript. Live regions, small conveniences, push subscription.
(function () {
  "use strict";
  const csrf = () => (document.querySelector('meta[name="csrf-token"]') || {}).content || "";

  // Live regions: <div data-live="/path" data-every="2000"> is refreshed from the server's fragment. The first
  // answer is always shown: what changed between the page's rendering and the first poll (a final approval, a
  // grant) would otherwise stay hidden until the next change. data-reload-unless="reading": the whole page is
  // loaded again once the status leaves that one (the route and the approve buttons come with it).
  document.querySelectorAll("[data-live]").forEach((el) => {
    const every = parseInt(el.dataset.every || "2000", 10);
    let last = null;
    let busy = false;
    const tick = async () => {
      if (busy || document.visibilityState !== "visible") return;
      busy = true;
      try {
        const r = await fetch(el.dataset.live, { credentials: "same-origin", headers: { "X-Requested-With": "fetch" } });
        if (r.ok) {
          const html = await r.text();
          if (html !== last) {
            el.innerHTML = html;
            const unless = el.dataset.reloadUnless;
            const now = el.querySelector("[data-status]");
            if (unless && now && now.dataset.status !== unless) { location.reload(); return; }
            el.querySelectorAll("[data-mirror]").forEach((m) => {
              const target = document.querySelector(m.dataset.mirror);
              if (target) target.innerHTML = m.innerHTML;
              // Once a request is no longer pending, its approve/reject forms go.
              const decide = document.getElementById("decide");
              if (decide && m.dataset.status && m.dataset.status !== "pending") decide.remove();
            });
          }
          last = html;
        }
      } catch (e) { /* offline for a moment: try again */ }
      busy = false;
    };
    tick();
    setInterval(tick, every);
  });

  // A grant's countdown on the device page: the server's seconds left, counted down between live updates; the
  // warning shows in the last minute.
  setInterval(() => {
    document.querySelectorAll("[data-countdown]").forEach((el) => {
      const left = Math.max(0, parseInt(el.dataset.countdown, 10) - 1);
      el.dataset.countdown = String(left);
      el.textContent = Math.floor(left / 60) + ":" + String(left % 60).padStart(2, "0");
      const warning = el.closest(".grant") && el.closest(".grant").querySelector("[data-countdown-warning]");
      if (warning && left < 60) warning.hidden = false;
    });
  }, 1000);

  document.querySelectorAll("[data-autosubmit]").forEach((el) => el.addEventListener("change", () => el.form.submit()));
  document.querySelectorAll("[data-back]").forEach((el) => el.addEventListener("click", (e) => {
    if (history.length > 1) { e.preventDefault(); history.back(); }
  }));
  // A form is sent once, even on a double tap.
  document.querySelectorAll("form").forEach((form) => form.addEventListener("submit", () => {
    setTimeout(() => form.querySelectorAll("button[type=submit], button:not([type])").forEach((b) => { b.disabled = true; }), 0);
  }));

  function keyBytes(b64) {
    const pad = "=".repeat((4 - (b64.length % 4)) % 4);
    const raw = atob((b64 + pad).replace(/-/g, "+").replace(/_/g, "/"));
    return Uint8Array.from(raw, (c) => c.charCodeAt(0));
  }

  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch(() => {});
  }

  const button = document.querySelector("[data-push-subscribe]");
  if (button) {
    const state = document.getElementById("push-state");
    const say = (t) => { if (state) state.textContent = t; };
    if (!("serviceWorker" in navigator) || !("PushManager" in window)) {
      button.disabled = true;
      say("此浏览器不支持网页推送（需 HTTPS 或本机地址）。可使用钉钉或企业微信群通知。");
    }
    button.addEventListener("click", async () => {
      try {
        const permission = await Notification.requestPermission();
        if (permission !== "granted") { say("未获得通知权限。"); return; }
        const reg = await navigator.serviceWorker.ready;
        const keyResp = await fetch("/api/push/vapid-public-key", { credentials: "same-origin" });
        if (!keyResp.ok) { say("本机未启用网页推送。"); return; }
        const { public_key } = await keyResp.json();
        const sub = await reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: keyBytes(public_key) });
        const r = await fetch("/api/push/subscriptions", {
          method: "POST", credentials: "same-origin",
          headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf() },
          body: JSON.stringify(sub.toJSON()),
        });
        say(r.ok ? "已开启：有申请待您审批时本机会收到通知。" : "登记失败，请刷新后重试。");
      } catch (e) {
        say("开启失败：" + e.message);
      }
    });
  }
})();
