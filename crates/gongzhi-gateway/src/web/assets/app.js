// 共治 Gongzhi — the only script: keeps a live list fresh. Pages work without it.
"use strict";
document.querySelectorAll("[data-stream]").forEach((box) => {
  if (!window.EventSource) return;
  const tbody = box.querySelector("tbody");
  const live = document.getElementById("live");
  const source = new EventSource(box.dataset.stream);
  let pending = null;
  const refresh = async () => {
    pending = null;
    const reply = await fetch(box.dataset.rows, { credentials: "same-origin" });
    // Signed out meanwhile: the rows URL redirects to the login page; show that instead.
    if (reply.redirected || !reply.ok) { source.close(); window.location.reload(); return; }
    if (tbody) tbody.innerHTML = await reply.text();
  };
  source.addEventListener("open", () => { if (live) live.hidden = false; });
  source.addEventListener("error", () => { if (live) live.hidden = true; });
  source.addEventListener("changed", () => {
    // Several changes in a burst become one refresh.
    if (!pending) pending = setTimeout(refresh, 250);
  });
});
